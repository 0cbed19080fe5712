"""Beat outlives a database outage: the ticks it lasts are lost, beat is not."""

from datetime import timedelta

import pytest
from celery import current_app
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from backend.core.beat import DATABASE_RETRY_S, DatabaseScheduler
from tests.workers import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scheduler():
    scheduler = DatabaseScheduler(app=current_app, lazy=True)
    scheduler.setup_schedule()
    scheduler.sent = []
    scheduler.apply_entry = lambda entry, producer=None: scheduler.sent.append(entry.name)
    yield scheduler
    scheduler._finalize.cancel()  # its sync at exit would find the test database gone


def the_full_sync_is_due(scheduler):
    scheduler._last_full_sync = scheduler._last_full_sync.replace(year=2000)


def test_a_database_outage_across_the_full_sync_pauses_beat_until_the_database_is_back(scheduler):
    scheduler.tick()
    the_full_sync_is_due(scheduler)

    with database_unreachable():
        assert scheduler.tick() == DATABASE_RETRY_S
        assert scheduler.tick() == DATABASE_RETRY_S

    # What beat reads once the database is back is the database's schedule, as it is now.
    PeriodicTask.objects.filter(name="reap-stalled-renders").update(last_run_at=timezone.now() - timedelta(hours=1))
    scheduler.sent.clear()
    for _ in scheduler.schedule:  # a tick sends at most one task
        scheduler.tick()
    assert "reap-stalled-renders" in scheduler.sent


def test_without_the_database_at_start_beat_exits_for_its_supervisor_to_restart():
    scheduler = DatabaseScheduler(app=current_app, lazy=True)
    scheduler._finalize.cancel()
    with database_unreachable(), pytest.raises(OperationalError):
        scheduler.setup_schedule()
