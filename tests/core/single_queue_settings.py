"""Test settings of a worker that takes every task from one queue of the test's own (TEST_CELERY_QUEUE), on
whatever broker CELERY_BROKER_URL names: tests/core/test_broker_url.py. On a broker other tests share (a
RabbitMQ virtual host has no key prefix), nothing it sends lands in a queue another worker reads."""

import os

from tests.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_CELERY_QUEUE"]
CELERY_TASK_ROUTES = {"*": {"queue": CELERY_TASK_DEFAULT_QUEUE}}
