"""Cache versions that writes bump after commit."""

import logging

from grids import cache as versions


class UnreachableCache:
    """A cache backend whose server does not respond."""

    def incr(self, key):
        raise ConnectionError("connection refused")

    def set(self, key, value, timeout=None):
        raise ConnectionError("connection refused")


def test_bump_logs_unreachable_cache(monkeypatch, caplog):
    monkeypatch.setattr(versions, "cache", UnreachableCache())

    with caplog.at_level(logging.WARNING, logger="grids.cache"):
        versions.bump_cache_version("test:version")

    assert "key=test:version error=ConnectionError" in caplog.text


def test_bump_changes_version(db):
    first = versions.cache_version("test:version")

    versions.bump_cache_version("test:version")

    assert versions.cache_version("test:version") != first
