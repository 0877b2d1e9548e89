"""Category settings as children inherit them from their ancestors."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from incidents.models import Category, TimeBasis

# Fallback settings for a category tree whose root leaves them empty.
DEFAULT_ACCEPT_MINUTES = 4 * 60
DEFAULT_RESOLVE_MINUTES = 5 * 8 * 60
DEFAULT_TIME_BASIS = TimeBasis.WORKING


@dataclass(frozen=True)
class CategorySettings:
    role: str
    is_urgent: bool
    accept_minutes: int
    resolve_minutes: int
    time_basis: str


def effective_settings(category: Category) -> CategorySettings:
    """Return the settings of ``category``, each from the nearest node that sets it.

    Costs one query for the ancestors.
    """
    return settings_from_chain([category, *reversed(list(category.get_ancestors()))])


def settings_from_chain(chain: Sequence[Category]) -> CategorySettings:
    """Return the settings of ``chain[0]`` given its ancestors, nearest first."""

    def first(field: str) -> Any:
        """Return the nearest value of ``field`` that is neither None nor empty."""
        for node in chain:
            value = getattr(node, field)
            if value is not None and value != "":
                return value
        return None

    return CategorySettings(
        role=str(first("role") or ""),
        is_urgent=bool(first("is_urgent")),
        accept_minutes=int(first("accept_minutes") or DEFAULT_ACCEPT_MINUTES),
        resolve_minutes=int(first("resolve_minutes") or DEFAULT_RESOLVE_MINUTES),
        time_basis=str(first("time_basis") or DEFAULT_TIME_BASIS),
    )
