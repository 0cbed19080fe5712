import os

from celery import Celery
from kombu import Queue

from backend.core import broker, logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

broker.install()
app = Celery("remix")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue gets its own workers in production, so a burst of renders never
# starves feed refills (`celery worker -Q renders`, `-Q feeds`, ...).
app.conf.task_queues = [Queue(name) for name in ("default", "renders", "media", "feeds", "notifications")]
app.autodiscover_tasks()
logs.celery_install()
