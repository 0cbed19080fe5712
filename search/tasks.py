from celery import shared_task


@shared_task(name="search.hashtag_stats_refresh", acks_late=True, soft_time_limit=600, ignore_result=True)
def hashtag_stats_refresh() -> None:
    from search.services import hashtag_stats_refresh as refresh

    refresh()


@shared_task(name="search.recent_documents_refresh", acks_late=True, soft_time_limit=600, ignore_result=True)
def recent_documents_refresh() -> None:
    from search.services import recent_documents_refresh as refresh

    refresh()
