from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.conf import settings

from backend.core.http import ProviderTransientError

# Modules, not names: each task carries its service's name, and the services queue these tasks.
from media import services, video_files
from media.services import predictions

# What a media store raises when it is unreachable or refuses a request (local disk, S3).
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


# A provider that is away or rate-limiting: exponential backoff with jitter (a provider's own
# Retry-After, when it gives one, replaces it: render_job_execute below).
PROVIDER_RETRY = {
    "autoretry_for": (ProviderTransientError,),
    "retry_backoff": settings.RENDER_RETRY_BACKOFF_S,
    "retry_backoff_max": settings.RENDER_RETRY_BACKOFF_MAX_S,
    "retry_jitter": True,
}


@shared_task(
    bind=True,
    name="media.render_job_execute",
    acks_late=True,
    ignore_result=True,
    **PROVIDER_RETRY,
    # The service counts attempts and fails the job after the last one; this only
    # has to be high enough never to stop retrying before it does.
    max_retries=settings.RENDER_MAX_ATTEMPTS + 2,
    soft_time_limit=settings.RENDER_SOFT_TIME_LIMIT_S,
)
def render_job_execute(self, *, job_id: str) -> None:
    try:
        services.render_job_execute(job_id=job_id)
    except ProviderTransientError as error:
        if error.retry_after is None:
            raise  # autoretry: exponential backoff with jitter
        # The provider said when to come back (a Retry-After header, Google's RetryInfo): sooner is
        # refused again, so that wait replaces the backoff. Celery's autoretry lets Retry through.
        raise self.retry(exc=error, countdown=error.retry_after) from error


@shared_task(
    name="media.render_provider_job_cancel",
    acks_late=True,
    ignore_result=True,
    **PROVIDER_RETRY,
    max_retries=settings.RENDER_MAX_ATTEMPTS,
)
def render_provider_job_cancel(*, provider: str, provider_job_id: str) -> None:
    services.render_provider_job_cancel(provider=provider, provider_job_id=provider_job_id)


@shared_task(name="media.render_job_postprocess", acks_late=True, ignore_result=True, soft_time_limit=900)
def render_job_postprocess(*, job_id: str) -> None:
    services.render_job_postprocess(job_id=job_id)


@shared_task(name="media.render_jobs_reap", ignore_result=True)
def render_jobs_reap() -> dict:
    return services.render_jobs_reap()


@shared_task(name="media.provider_predictions_sweep", ignore_result=True)
def provider_predictions_sweep() -> int:
    """Cog's and Replicate's webhook states and Cog's uploads, two days after they last changed."""
    return predictions.provider_predictions_sweep(older_than=timedelta(days=2))


@shared_task(
    name="media.video_files_sync_many",
    acks_late=True,
    ignore_result=True,
    autoretry_for=STORAGE_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def video_files_sync_many(*, video_ids: list[int]) -> None:
    video_files.video_files_sync_many(video_ids=video_ids)


@shared_task(name="media.video_files_repair", ignore_result=True)
def video_files_repair() -> None:
    """Beat's safety net: files a crashed request or a lost retry left in the wrong store are moved."""
    misplaced = video_files.videos_with_files_misplaced().values_list("id", flat=True)[:5000]
    video_files.video_files_sync_many(video_ids=list(misplaced))
