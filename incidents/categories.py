"""Category settings as children inherit them from their ancestors."""

from dataclasses import dataclass

from incidents.models import Category, TimeBasis

# What a category tree without any setting at its root falls back to.
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
    chain = [category, *reversed(list(category.get_ancestors()))]

    def first(field: str, empty: object) -> object:
        for node in chain:
            value = getattr(node, field)
            if value != empty and value is not None:
                return value
        return None

    return CategorySettings(
        role=first("role", "") or "",
        is_urgent=bool(first("is_urgent", None)),
        accept_minutes=first("accept_minutes", None) or DEFAULT_ACCEPT_MINUTES,
        resolve_minutes=first("resolve_minutes", None) or DEFAULT_RESOLVE_MINUTES,
        time_basis=first("time_basis", "") or DEFAULT_TIME_BASIS,
    )
