"""Celery tasks of data_rights (default queue): load by id, call a service. Every one is idempotent."""

from celery import shared_task

# A module, not names: the services queue these tasks.
from data_rights import services


@shared_task(name="data_rights.export_build", acks_late=True, ignore_result=True, soft_time_limit=1800)
def export_build(*, export_id: int) -> None:
    services.export_build(export_id=export_id)


@shared_task(name="data_rights.accounts_purge", ignore_result=True)
def accounts_purge() -> int:
    return services.accounts_purge_due()


@shared_task(name="data_rights.cameos_media_purge", ignore_result=True)
def cameos_media_purge() -> int:
    return services.cameos_media_purge_due()


@shared_task(name="data_rights.exports_expire", ignore_result=True)
def exports_expire() -> int:
    return services.exports_expire()
