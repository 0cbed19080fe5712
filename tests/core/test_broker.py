"""The broker transport: a connection that went away while a task was unacknowledged is a
connection error the worker recovers from, not an AttributeError that ends it."""

import pytest
import redis
from celery import current_app
from kombu import Exchange, Producer, Queue
from kombu.common import ignore_errors

from backend.core import broker

QUEUE = Queue("broker-guard-test", Exchange("broker-guard-test"), routing_key="broker-guard-test")


@pytest.fixture
def channel_holding_an_unacked_message():
    connection = current_app.connection_for_write()
    channel = connection.channel()
    QUEUE(channel).declare()
    Producer(channel).publish({"n": 1}, exchange=QUEUE.exchange, routing_key=QUEUE.routing_key, declare=[QUEUE])
    message = QUEUE(channel).get(no_ack=False)
    assert message is not None
    yield connection, channel
    QUEUE(current_app.connection_for_write().channel()).delete()


def test_the_celery_app_uses_the_guarded_transport():
    with current_app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_closing_a_channel_after_its_connection_was_released_is_a_connection_error(
    channel_holding_an_unacked_message,
):
    connection, channel = channel_holding_an_unacked_message
    # What kombu's Connection._close does when the broker drops, before the worker closes channels.
    connection.transport.client = None

    with pytest.raises(redis.exceptions.ConnectionError):
        channel._connparams()
    # The worker closes channels through ignore_errors, which swallows connection errors only.
    ignore_errors(connection, channel.close)
    assert channel.closed
