"""Tasks of the ``notifications`` queue: load by id, call a service, nothing else."""

from celery import shared_task

# Modules, not names: push queues this task.
from notifications import push


@shared_task(name="notifications.push_send", acks_late=True, ignore_result=True)
def push_send(*, notification_id: int) -> None:
    push.push_send(notification_id=notification_id)
