"""Tasks of the ``notifications`` queue: each calls the service of the same name
(``services.reactions`` for domain events) and nothing else; ``push_send`` also chooses its retry."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from notifications import delivery, services


@shared_task(
    bind=True, name="notifications.push_send", acks_late=True, ignore_result=True, max_retries=settings.PUSH_MAX_RETRIES
)
def push_send(self, *, notification_id: int, device_ids: list[int] | None = None, pushed_at: str | None = None) -> None:
    """Celery's autoretry would send the same arguments again, to every device; a retry here names only the
    devices that failed transiently (``PushRetry``), so those that took the push do not get it twice."""
    try:
        delivery.push_send(notification_id=notification_id, device_ids=device_ids, pushed_at=pushed_at)
    except delivery.PushRetry as error:
        if self.request.retries >= self.max_retries:
            delivery.push_give_up(notification_id=notification_id, retry=error, provider=settings.PUSH_PROVIDER)
            return
        countdown = error.retry_after
        if countdown is None:  # the provider did not say: exponential backoff with full jitter
            countdown = get_exponential_backoff_interval(
                factor=settings.PUSH_RETRY_BACKOFF_S,
                retries=self.request.retries,
                maximum=settings.PUSH_RETRY_BACKOFF_MAX_S,
                full_jitter=True,
            )
        retry = {"notification_id": notification_id, "device_ids": error.device_ids, "pushed_at": error.pushed_at}
        raise self.retry(kwargs=retry, countdown=countdown) from error


@shared_task(name="notifications.group_refresh", acks_late=True, ignore_result=True)
def group_refresh(*, recipient_id: int, kind: str, target_type: str, target_id: str) -> None:
    services.group_refresh_pending(recipient_id=recipient_id, kind=kind, target_type=target_type, target_id=target_id)


@shared_task(name="notifications.render_requested_notify", acks_late=True, ignore_result=True)
def render_requested_notify(*, job_id: str) -> None:
    services.render_requested_notify(job_id=job_id)


@shared_task(name="notifications.render_finished_notify", acks_late=True, ignore_result=True)
def render_finished_notify(*, job_id: str, status: str) -> None:
    services.render_finished_notify(job_id=job_id, status=status)


@shared_task(name="notifications.grant_requested_notify", acks_late=True, ignore_result=True)
def grant_requested_notify(*, grant_id: int) -> None:
    services.grant_requested_notify(grant_id=grant_id)


@shared_task(name="notifications.grant_decided_notify", acks_late=True, ignore_result=True)
def grant_decided_notify(*, grant_id: int, status: str) -> None:
    services.grant_decided_notify(grant_id=grant_id, status=status)


@shared_task(name="notifications.verification_decided_notify", acks_late=True, ignore_result=True)
def verification_decided_notify(*, verification_id: int, status: str) -> None:
    services.verification_decided_notify(verification_id=verification_id, status=status)


@shared_task(name="notifications.video_published_notify", acks_late=True, ignore_result=True)
def video_published_notify(*, video_id: int) -> None:
    services.video_published_notify(video_id=video_id)


@shared_task(name="notifications.comment_created_notify", acks_late=True, ignore_result=True)
def comment_created_notify(*, comment_id: int) -> None:
    services.comment_created_notify(comment_id=comment_id)


@shared_task(name="notifications.video_removed_notify", acks_late=True, ignore_result=True)
def video_removed_notify(*, video_id: int, by_id: int | None) -> None:
    services.video_removed_notify(video_id=video_id, by_id=by_id)


@shared_task(name="notifications.video_restored_notify", acks_late=True, ignore_result=True)
def video_restored_notify(*, video_id: int) -> None:
    services.video_restored_notify(video_id=video_id)


@shared_task(name="notifications.case_resolved_notify", acks_late=True, ignore_result=True)
def case_resolved_notify(*, case_id: int) -> None:
    services.case_resolved_notify(case_id=case_id)


@shared_task(name="notifications.strike_added_notify", acks_late=True, ignore_result=True)
def strike_added_notify(*, strike_id: int) -> None:
    services.strike_added_notify(strike_id=strike_id)


@shared_task(name="notifications.account_suspended_notify", acks_late=True, ignore_result=True)
def account_suspended_notify(*, user_id: int, suspended_until: str) -> None:
    services.account_suspended_notify(user_id=user_id, suspended_until=suspended_until)


@shared_task(name="notifications.data_export_ready_notify", acks_late=True, ignore_result=True)
def data_export_ready_notify(*, user_id: int, export_id: int) -> None:
    services.data_export_ready_notify(user_id=user_id, export_id=export_id)


@shared_task(name="notifications.usage_approval_requested_notify", acks_late=True, ignore_result=True)
def usage_approval_requested_notify(*, approval_id: int) -> None:
    services.usage_approval_requested_notify(approval_id=approval_id)


@shared_task(name="notifications.suspensions_ended_notify", ignore_result=True)
def suspensions_ended_notify() -> None:
    services.suspensions_ended_notify()


@shared_task(name="notifications.statements_ready_notify", ignore_result=True)
def statements_ready_notify() -> None:
    services.statements_ready_notify()
