"""Tasks of ``core``: autodiscovery registers them with every worker from this module."""

from celery import shared_task

from backend.core import metrics
from backend.core.mail import mail_send

__all__ = ["mail_send", "queue_depths_record"]


@shared_task(name="core.queue_depths_record", ignore_result=True)
def queue_depths_record() -> None:
    metrics.queue_depths_record()
