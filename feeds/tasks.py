"""Feed tasks: load by id, call the service of the same name, nothing else."""

from celery import shared_task

from backend.creators.models import User

# A module import, not names: each task carries its service's name, and services queue the refill.
from feeds import services


@shared_task(name="feeds.feed_refill", acks_late=True, ignore_result=True)
def feed_refill(*, user_id: int) -> None:
    user = User.objects.filter(id=user_id, is_active=True).first()
    if user is not None:
        services.feed_refill(user=user)


@shared_task(name="feeds.video_fanout", acks_late=True, ignore_result=True)
def video_fanout(*, video_id: int) -> None:
    services.video_fanout(video_id=video_id)


@shared_task(name="feeds.counters_flush", ignore_result=True)
def counters_flush() -> None:
    services.counters_flush()


@shared_task(name="feeds.trending_recompute", ignore_result=True)
def trending_recompute() -> None:
    services.trending_recompute()


@shared_task(name="feeds.redis_repairs_apply", ignore_result=True)
def redis_repairs_apply() -> None:
    services.redis_repairs_apply()


@shared_task(name="feeds.shared_candidates_refresh", ignore_result=True)
def shared_candidates_refresh() -> None:
    services.shared_candidates_refresh()
