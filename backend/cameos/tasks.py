"""Celery tasks of cameos: load by id, call a service."""

from celery import shared_task


@shared_task(name="cameos.upload_verify", acks_late=True, soft_time_limit=300, ignore_result=True)
def upload_verify(*, upload_id: str) -> None:
    # Imported here: the service queues this task (services → tasks), as STYLE.md's task example does.
    from backend.cameos.services.direct_uploads import upload_verify as verify

    verify(upload_id=upload_id)


@shared_task(name="cameos.uploads_sweep", ignore_result=True)
def uploads_sweep() -> None:
    from backend.cameos.services.direct_uploads import uploads_sweep as sweep

    sweep()
