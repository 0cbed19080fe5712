from celery import shared_task


@shared_task(name="bench.noop", acks_late=True)
def noop() -> None:
    """The baseline: a bare Celery task on the same broker."""
