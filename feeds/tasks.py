from celery import shared_task


@shared_task(name="feeds.refill_feed", acks_late=True, ignore_result=True)
def refill_feed(*, user_id: int) -> None:
    from backend.creators.models import User
    from feeds.services import feed_refill

    user = User.objects.filter(id=user_id, is_active=True).first()
    if user is not None:
        feed_refill(user=user)


@shared_task(name="feeds.fanout_video", acks_late=True, ignore_result=True)
def fanout_video(*, video_id: int) -> None:
    from feeds.services import video_fanout

    video_fanout(video_id=video_id)


@shared_task(name="feeds.flush_counters", ignore_result=True)
def flush_counters() -> None:
    from feeds.services import counters_flush

    counters_flush()


@shared_task(name="feeds.recompute_trending", ignore_result=True)
def recompute_trending() -> None:
    from feeds.services import trending_recompute

    trending_recompute()
