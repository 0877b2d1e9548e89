"""Cache of the rendered parts of the public grid directory.

Each part is cached per language under the directory version, which every
write to grids, places, members, assignments and party organizations bumps
after commit (grids.cache). Only rendered HTML and page titles are stored,
which is what the public pages show anyway: names, labels, duties,
commitments and masked phone numbers.
"""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils.translation import get_language

from grids.cache import directory_version

# Seconds a cached part lives. A version bump makes it stale at once where the
# cache is shared (Redis). A local-memory cache belongs to one process and
# cannot see bumps made by other web processes or by management commands, so
# there the lifetime is what bounds how long such a change stays unseen.
SHARED_CACHE_SECONDS = 600
LOCAL_CACHE_SECONDS = 30

# A rendered part: HTML strings by name, or None for a page that does not exist.
Fragment = TypeVar("Fragment", bound=dict[str, str] | None)


def fragment_timeout() -> int:
    """Return how many seconds a cached directory part lives with this cache."""
    if isinstance(caches[DEFAULT_CACHE_ALIAS], LocMemCache):
        return LOCAL_CACHE_SECONDS
    return SHARED_CACHE_SECONDS


def cached_fragment(name: str, render: Callable[[], Fragment]) -> Fragment:
    """Return the cached part ``name`` in the active language, rendering it if missing.

    ``render`` returns a dict of HTML strings, or None for a page that does
    not exist; None is not cached, so unknown addresses cannot fill the cache.
    """
    # The version is read before the rows, so a request that reads a bumped
    # version also reads the rows committed before the bump.
    key = f"members:directory:{directory_version()}:{get_language()}:{name}"
    fragment = cache.get(key)
    if fragment is not None:
        return fragment

    fragment = render()
    if fragment is not None:
        cache.set(key, fragment, fragment_timeout())
    return fragment
