"""Reads of tickets, categories and places for the public pages.

Nothing here returns a reporter's name, phone number or e-mail address, or a
member's name or full phone number: the public pages render what these
functions return.
"""

import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, Value, When

from grids.cache import bump_cache_version, cache_version
from grids.models import Place
from incidents.models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    Category,
    EventKind,
    Incident,
    IncidentEvent,
    Photo,
    Rating,
    normalize_tracking_code,
)
from members.cache import fragment_timeout

PLACE_SEARCH_LIMIT = 20
CATEGORIES_VERSION_KEY = "incidents:categories-version"
# A mainland mobile number, also written in groups as 138 0000 0000.
# With or without +86, 0086 or 86 in front, with spaces, dashes or dots between
# the groups, and in the full-width digits of Chinese phone keyboards.
# Separators typed between the groups: spaces (the ideographic one too), dots,
# hyphens, dashes, underscores and slashes, alone or as " - ", and brackets.
_SEPARATOR = r"[\s.\-．－\u2010-\u2015_/／()（）]{0,3}"
MOBILE_NUMBER = re.compile(
    rf"(?<!\d)(?:(?:\+|＋|00|００)?[8８][6６]{_SEPARATOR})?[(（]?"
    rf"([1１][3-9３-９]\d){_SEPARATOR}(\d{{4}}){_SEPARATOR}(\d{{4}})(?!\d)"
)


# An e-mail address; the local part is hidden, the domain kept.
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def mask_mobile_numbers(text: str) -> str:
    """Return ``text`` with mobile numbers and e-mail addresses masked.

    Numbers become 138****0000 and addresses ***@example.com. Public pages
    show free text written by staff, members and the reporter; contact data
    typed into it must not reach everyone who has the code.
    """
    return EMAIL_ADDRESS.sub(r"***@\1", MOBILE_NUMBER.sub(r"\1****\3", text))


def public_categories() -> list[Category]:
    """Return the active categories residents may pick, in tree order.

    Every view of the report form reads them, so they are cached under the
    categories version, which every category write changes after commit
    (``clear_public_categories``). The version is read before the rows, so a
    list read before a write commits is stored under the old version. A
    local-memory cache belongs to one process, so there the other processes
    see a change after at most 30 seconds. The workflow checks the category
    again when a report is submitted.
    """
    key = f"incidents:public-categories:{cache_version(CATEGORIES_VERSION_KEY)}"
    categories = cache.get(key)
    if categories is None:
        categories = list(
            Category.objects.filter(is_active=True, is_public=True).order_by(
                "tree_id", "lft"
            )
        )
        cache.set(key, categories, fragment_timeout())
    return categories


def clear_public_categories() -> None:
    """Make the cached public categories stale once the transaction commits."""
    transaction.on_commit(lambda: bump_cache_version(CATEGORIES_VERSION_KEY))


def active_places() -> QuerySet[Place]:
    return Place.objects.filter(is_active=True, grid__is_active=True).select_related(
        "grid"
    )


def place_by_code(code: str) -> Place | None:
    """Return the active place with exactly this code, as printed on QR posters."""
    return active_places().filter(code=code).first()


def places_for_text(text: str) -> list[Place]:
    """Return the active places that a typed code or full name identifies.

    An exact code wins, then a code in another letter case, then places whose
    name is exactly ``text``. More than one result means the text is
    ambiguous. At most 5 are returned.
    """
    text = text.strip()
    if not text:
        return []

    exact = place_by_code(text)
    if exact is not None:
        return [exact]
    by_code = list(active_places().filter(code__iexact=text).order_by("code")[:5])
    if by_code:
        return by_code
    return list(active_places().filter(name=text).order_by("code")[:5])


def search_places(text: str, limit: int = PLACE_SEARCH_LIMIT) -> list[dict[str, str]]:
    """Return up to ``limit`` active places whose code or name contains ``text``.

    Places whose code starts with the text come first. Each result contains the
    place's code, name and grid name only.
    """
    text = text.strip()
    if not text:
        return []

    code_prefix_first = Case(
        When(code__istartswith=text, then=Value(0)), default=Value(1)
    )
    places = (
        active_places()
        .filter(Q(code__icontains=text) | Q(name__icontains=text))
        .order_by(code_prefix_first, "code")[:limit]
    )
    return [
        {"code": place.code, "name": place.name, "grid": place.grid.name}
        for place in places
    ]


def is_tracking_code(code: str) -> bool:
    """Return True if the normalized ``code`` has the form of a tracking code."""
    return len(code) == TRACKING_LENGTH and all(ch in TRACKING_ALPHABET for ch in code)


TRACKING_COLUMNS = (
    "tracking_code",
    "state",
    "subject",
    "description",
    "reply",
    "reject_reason",
    "created_at",
    "dispatched_at",
    "resolution_round",
    "duplicate_of__state",
    "duplicate_of__reply",
    "category__name",
    "place__name",
    "grid__name",
    "assignee__phone",
)


def incident_for_tracking(raw_code: str) -> Incident | None:
    """Return the ticket with the tracking code typed as ``raw_code``, or None.

    The same query loads what the public page shows: the category, place
    and grid, the assignee (for the masked phone number) and the original
    of a duplicate. ``round_rating`` is the rating value of the current
    resolution round, or None.
    """
    code = normalize_tracking_code(raw_code)
    if not is_tracking_code(code):
        return None

    current_rating = Rating.objects.filter(
        incident=OuterRef("pk"), round=OuterRef("resolution_round")
    ).values("value")[:1]
    # No ordering: the code is unique, and sorting would cost the planner.
    # Only the columns that the page and its actions read.
    incident = (
        Incident.objects.select_related(
            "category", "place", "grid", "assignee", "duplicate_of"
        )
        .only(*TRACKING_COLUMNS)
        .annotate(round_rating=Subquery(current_rating))
        .filter(tracking_code=code)
        .order_by()[:1]
    )
    return next(iter(incident), None)


def tracking_code_exists(code: str) -> bool:
    """Return True if a ticket has the normalized tracking code ``code``."""
    return Incident.objects.filter(tracking_code=code).exists()


def submitted_incident(incident_id: int) -> Incident | None:
    """Return the ticket for the confirmation page: its code and e-mail flag only."""
    return (
        Incident.objects.filter(pk=incident_id)
        .only("tracking_code", "reporter_email")
        .first()
    )


def _public_photos(incident_id: int) -> QuerySet[Photo]:
    # A photo is public only if the event it came with is public too.
    return Photo.objects.filter(incident_id=incident_id, is_public=True).filter(
        Q(event__isnull=True) | Q(event__is_public=True)
    )


@dataclass(frozen=True)
class PublicEvent:
    """One public event of a ticket with its note as shown and its public photos."""

    event: IncidentEvent
    note: str
    photos: list[Photo]


@dataclass(frozen=True)
class PublicTimeline:
    """The public events of a ticket and its public photos without an event."""

    events: list[PublicEvent]
    loose_photos: list[Photo]


def public_timeline(incident: Incident) -> PublicTimeline:
    """Return the ticket's public events, oldest first, in two queries.

    Event notes have their mobile numbers masked. Internal notes, routing
    reasons and reassignments are events with ``is_public`` off and are
    never read here.
    """
    events = list(
        IncidentEvent.objects.filter(incident=incident, is_public=True).order_by(
            "created_at", "pk"
        )
    )
    by_event: dict[int, list[Photo]] = {event.pk: [] for event in events}
    loose: list[Photo] = []
    for photo in _public_photos(incident.pk).order_by("created_at", "pk"):
        if photo.event_id is None:
            loose.append(photo)
        elif photo.event_id in by_event:
            by_event[photo.event_id].append(photo)

    # A duplicate's note named the original's code, which lets anyone act on
    # the original's page; the page shows the original's progress instead.
    public_events = [
        PublicEvent(
            event,
            ""
            if event.kind == EventKind.DUPLICATE
            else mask_mobile_numbers(event.note),
            by_event[event.pk],
        )
        for event in events
    ]
    return PublicTimeline(events=public_events, loose_photos=loose)


def original_events(incident: Incident) -> list[IncidentEvent]:
    """Return the kinds and times of the public events of a duplicate's original.

    The duplicate's reporter follows the original through their own code, so
    the original's code, description, notes and photos, which belong to its
    own reporter, are never read here.
    """
    if incident.duplicate_of_id is None:
        return []
    return list(
        IncidentEvent.objects.filter(
            incident_id=incident.duplicate_of_id, is_public=True
        )
        .only("kind", "actor_kind", "created_at")
        .order_by("created_at", "pk")
    )


def public_photo(raw_code: str, photo_id: int) -> Photo | None:
    """Return a public photo of the ticket with this tracking code, or None."""
    code = normalize_tracking_code(raw_code)
    if not is_tracking_code(code):
        return None
    return (
        Photo.objects.filter(pk=photo_id, incident__tracking_code=code, is_public=True)
        .filter(Q(event__isnull=True) | Q(event__is_public=True))
        .first()
    )
