"""Redis as the Celery broker and as the Django cache, when the environment names it."""

import uuid

import pytest
from django.core.cache import caches

from westgarden.celery import app

pytestmark = pytest.mark.redis


def test_broker_round_trip():
    queue_name = f"westgarden-test-{uuid.uuid4().hex}"
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=3)
        queue = connection.SimpleQueue(queue_name)
        try:
            queue.put({"ticket": 7})
            message = queue.get(timeout=5)
            message.ack()
        finally:
            queue.queue.delete()
            queue.close()

    assert message.payload == {"ticket": 7}


def test_cache_round_trip_on_redis():
    key = f"westgarden-test-{uuid.uuid4().hex}"

    cache = caches["default"]
    cache.set(key, "ok", timeout=30)
    stored = cache.get(key)
    cache.delete(key)

    assert type(cache).__name__ == "RedisCache"
    assert stored == "ok"
    assert cache.get(key) is None
