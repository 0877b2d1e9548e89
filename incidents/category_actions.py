"""Writes to the category tree.

Every function takes the category tree lock before it reads the rows it
changes, because django-mptt computes lft/rght/tree_id from the instance in
memory. A change to the deadlines of a category, or a move, queues a
recompute of the open tickets below it once the transaction commits.
"""

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from grids.locks import lock_tree
from incidents.calendar import MAX_DEADLINE_MINUTES
from incidents.deadlines import queue_recompute, settings_from_chain
from incidents.models import Category
from incidents.queries import clear_public_categories

logger = logging.getLogger(__name__)

CATEGORY_TREE = "categories"

CATEGORY_FIELDS = {
    "code",
    "name",
    "parent_id",
    "role",
    "is_urgent",
    "accept_minutes",
    "resolve_minutes",
    "time_basis",
    "is_public",
    "is_active",
    "sort_order",
}

# Fields whose change moves the deadlines of open tickets in the subtree.
DEADLINE_FIELDS = {"accept_minutes", "resolve_minutes", "time_basis", "parent_id"}


def lock_category_tree() -> None:
    """Block until this transaction holds the category tree's write lock."""
    lock_tree(CATEGORY_TREE)


def _fetch_parent(parent_id: int | None) -> Category | None:
    if parent_id is None:
        return None
    try:
        return Category.objects.get(pk=parent_id)
    except Category.DoesNotExist:
        raise ValidationError(
            {"parent": _("Parent category %(id)s does not exist.") % {"id": parent_id}}
        ) from None


def _check_minutes(category: Category) -> None:
    """Raise ValidationError for a deadline longer than the calendar can count."""
    for field in ("accept_minutes", "resolve_minutes"):
        value = getattr(category, field)
        if value is not None and value > MAX_DEADLINE_MINUTES:
            raise ValidationError(
                {
                    field: _(
                        "%(value)s minutes is longer than the maximum of "
                        "%(maximum)s minutes (366 days)."
                    )
                    % {"value": value, "maximum": MAX_DEADLINE_MINUTES}
                }
            )


def _check_accept_before_resolve(category: Category) -> None:
    """Raise ValidationError if the ticket would have to be resolved before accepted.

    The check uses the settings the category ends up with, its own or
    inherited. The caller must hold the category tree lock.
    """
    chain = [category]
    if category.parent is not None:
        chain += [category.parent, *category.parent.get_ancestors(ascending=True)]
    settings = settings_from_chain(chain)
    if settings.accept_minutes > settings.resolve_minutes:
        raise ValidationError(
            {
                "accept_minutes": _(
                    "The time to accept (%(accept)s minutes) is longer than the "
                    "time to resolve (%(resolve)s minutes)."
                )
                % {
                    "accept": settings.accept_minutes,
                    "resolve": settings.resolve_minutes,
                }
            }
        )


def _check_parent_active(category: Category) -> None:
    if category.is_active and category.parent is not None:
        if not category.parent.is_active:
            raise ValidationError(
                {
                    "parent": _(
                        "Parent category %(parent)s is inactive; activate it first."
                    )
                    % {"parent": category.parent.code}
                }
            )


def category_create(
    *,
    code: str,
    name: str,
    parent_id: int | None = None,
    role: str = "",
    is_urgent: bool | None = None,
    accept_minutes: int | None = None,
    resolve_minutes: int | None = None,
    time_basis: str = "",
    is_public: bool = True,
    is_active: bool = True,
    sort_order: int = 0,
) -> Category:
    """Create a category under ``parent_id``; raise ValidationError on a bad field.

    Empty settings (blank role and time basis, None for the rest) are taken
    from the parent category.
    """
    with transaction.atomic(durable=True):
        lock_category_tree()
        category = Category(
            code=code,
            name=name,
            parent=_fetch_parent(parent_id),
            role=role,
            is_urgent=is_urgent,
            accept_minutes=accept_minutes,
            resolve_minutes=resolve_minutes,
            time_basis=time_basis,
            is_public=is_public,
            is_active=is_active,
            sort_order=sort_order,
        )
        category.full_clean()
        _check_minutes(category)
        _check_parent_active(category)
        _check_accept_before_resolve(category)
        category.save()

    logger.info("category created id=%s parent=%s", category.pk, parent_id)
    return category


def category_update(*, category_id: int, **fields: Any) -> Category:
    """Change a category's fields and, if ``parent_id`` is given, move it.

    Raise ValidationError naming the field for a bad value or a move that
    would make a cycle. Deactivating a category deactivates its whole
    subtree. A change of deadlines, time basis or parent queues a recompute
    of the deadlines of open tickets in the subtree after commit.
    """
    unknown = set(fields) - CATEGORY_FIELDS
    if unknown:
        raise TypeError(f"category_update() got unexpected fields {sorted(unknown)}")

    with transaction.atomic(durable=True):
        lock_category_tree()
        category = Category.objects.get(pk=category_id)
        before = {field: getattr(category, field) for field in CATEGORY_FIELDS}
        _apply(category, fields)
        if "parent_id" in fields:
            _check_no_cycle(category)

        category.full_clean()
        _check_minutes(category)
        _check_parent_active(category)
        _check_accept_before_resolve(category)
        changed = {
            field for field in fields if getattr(category, field) != before[field]
        }

        # With a new parent or sort order, django-mptt's save() moves the
        # subtree to its ordered place, from tree columns read under the lock.
        category.save()
        category.refresh_from_db(fields=["lft", "rght", "tree_id", "level"])

        deactivated = 0
        if "is_active" in changed and not category.is_active:
            deactivated = (
                category.get_descendants()
                .filter(is_active=True)
                .update(is_active=False)
            )
            # QuerySet.update() sends no post_save.
            clear_public_categories()
        if changed & DEADLINE_FIELDS:
            subtree_ids = list(
                category.get_descendants(include_self=True).values_list("pk", flat=True)
            )
            queue_recompute(subtree_ids)

    logger.info(
        "category updated id=%s fields=%s descendants_deactivated=%s",
        category.pk,
        sorted(changed),
        deactivated,
    )
    return category


def _apply(category: Category, fields: dict[str, Any]) -> None:
    for field, value in fields.items():
        if field == "parent_id":
            category.parent = _fetch_parent(value)
        else:
            setattr(category, field, value)


def _check_no_cycle(category: Category) -> None:
    if category.parent_id is None:
        return
    subtree_ids = set(
        Category.objects.get(pk=category.pk)
        .get_descendants(include_self=True)
        .values_list("pk", flat=True)
    )
    if category.parent_id in subtree_ids:
        raise ValidationError(
            {
                "parent": _(
                    "%(parent)s is %(category)s itself or lies below it; moving "
                    "there would make a cycle."
                )
                % {"parent": category.parent.code, "category": category.code}
            }
        )


def category_move(*, category_id: int, parent_id: int | None) -> Category:
    """Move a category and its subtree under another parent, or make it a root."""
    return category_update(category_id=category_id, parent_id=parent_id)
