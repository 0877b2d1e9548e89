"""Cache versions: numbers that every write to some cached data changes.

The public grid directory caches rendered pages under keys that contain the
directory version, so bumping it makes every cached page stale at once. The
report form's category list works the same way. It lives in the
grids app because grid and place writes bump it, and grids imports no other
app of the project.
"""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

DIRECTORY_VERSION_KEY = "grids:directory-version"


def _fresh_version() -> int:
    # Nanoseconds since the epoch exceed any earlier start value plus the
    # bumps made since, unless a clock went back, so a version stored after an
    # eviction does not repeat one that old cache keys were built from.
    return time.time_ns()


def cache_version(key: str) -> int:
    """Return the version stored under ``key``, storing a fresh one if none is set."""
    version = cache.get(key)
    if version is not None:
        return version

    # add() stores only if the key is still missing, so when two processes
    # race here both go on with the value that won.
    cache.add(key, _fresh_version(), timeout=None)
    version = cache.get(key)
    # The dummy cache stores nothing, and caches no page either.
    return version if version is not None else 0


def bump_cache_version(key: str) -> None:
    """Change the version under ``key`` so that every entry built on it is stale.

    Call it through ``transaction.on_commit`` so that a request that reads the
    new version also reads the committed rows. A cache that cannot be reached
    is logged, not raised, because the write has committed already; entries
    then go stale when they time out.
    """
    try:
        try:
            cache.incr(key)
        except ValueError:
            # The key was never set or has been evicted: start from a value
            # that no cached entry can be stored under.
            cache.set(key, _fresh_version(), timeout=None)
    except Exception as error:  # noqa: BLE001 - any cache backend error
        logger.warning(
            "cache version not changed key=%s error=%s", key, type(error).__name__
        )


def directory_version() -> int:
    """Return the current directory version, storing a fresh one if none is set."""
    return cache_version(DIRECTORY_VERSION_KEY)


def bump_directory_version() -> None:
    """Change the directory version so that every cached directory page is stale.

    Call it through ``transaction.on_commit``; see ``bump_cache_version``.
    """
    bump_cache_version(DIRECTORY_VERSION_KEY)
