"""Beat's scheduler: django-celery-beat's, made to outlive a database outage.

django-celery-beat re-reads the whole schedule from the database every five minutes, outside the
error handling its other reads have; PostgreSQL being down at that moment raised out of ``tick`` and
ended beat, which stayed down after PostgreSQL came back. Here an outage costs the ticks it lasts:
beat waits, then re-reads the schedule in full once the database answers.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import DatabaseError, InterfaceError, connection
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)

DATABASE_RETRY_S = 5.0


class DatabaseScheduler(schedulers.DatabaseScheduler):
    def setup_schedule(self):
        # Without the database at start there is no schedule to run: exit, and be restarted with
        # backoff by the supervisor, rather than run an empty one.
        connection.ensure_connection()
        super().setup_schedule()

    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except (DatabaseError, InterfaceError):
            logger.warning("beat: the database is unavailable; retrying in %s s", DATABASE_RETRY_S, exc_info=True)
            connection.close()
            self._last_full_sync = datetime.min  # the next tick re-reads the whole schedule
            return DATABASE_RETRY_S
