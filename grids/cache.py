"""The directory version: a number that every write to the directory's data changes.

The public grid directory caches rendered pages under keys that contain this
number, so bumping it makes every cached page stale at once. It lives in the
grids app because grid and place writes bump it, and grids imports no other
app of the project.
"""

import time

from django.core.cache import cache

DIRECTORY_VERSION_KEY = "grids:directory-version"


def _fresh_version() -> int:
    # Nanoseconds since the epoch exceed any earlier start value plus the
    # bumps made since, unless a clock went back, so a version stored after an
    # eviction does not repeat one that old cache keys were built from.
    return time.time_ns()


def directory_version() -> int:
    """Return the current directory version, storing a fresh one if none is set."""
    version = cache.get(DIRECTORY_VERSION_KEY)
    if version is not None:
        return version

    # add() stores only if the key is still missing, so when two processes
    # race here both go on with the value that won.
    cache.add(DIRECTORY_VERSION_KEY, _fresh_version(), timeout=None)
    version = cache.get(DIRECTORY_VERSION_KEY)
    # The dummy cache stores nothing, and caches no page either.
    return version if version is not None else 0


def bump_directory_version() -> None:
    """Change the directory version so that every cached directory page is stale.

    Call it through ``transaction.on_commit`` so that a request that reads the
    new version also reads the committed rows.
    """
    try:
        cache.incr(DIRECTORY_VERSION_KEY)
    except ValueError:
        # The key was never set or has been evicted: start from a value that
        # no cached page can be stored under.
        cache.set(DIRECTORY_VERSION_KEY, _fresh_version(), timeout=None)
