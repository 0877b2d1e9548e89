"""Replay of recorded citizen messages through the public intake.

Each message becomes a ticket through ``incident_submit``, the function the
public form calls, in a seeded random place of the grid structure. Routing
runs in-process or, with ``via_celery``, in a Celery worker. Where a message
carries the official reply, its assignee accepts the ticket and resolves it
with that reply. With ``simulate_hours``, the escalation sweep then runs on
a simulated clock that jumps from one accept deadline to the next, so that
the hours pass in seconds and the result does not depend on machine speed.
"""

import csv
import datetime
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from grids.models import Place
from incidents.actors import Actor
from incidents.escalation import sweep
from incidents.models import (
    ActorKind,
    Category,
    Channel,
    EventKind,
    Incident,
    IncidentEvent,
    State,
)
from incidents.routing import incident_route
from incidents.workflow import incident_accept, incident_resolve, incident_submit
from members.models import Member

logger = logging.getLogger(__name__)

# First-level categories of the provincial message board, mapped onto the
# neighbourhood categories that ship with the portal.
BOARD_CATEGORY_CODES = {
    "城乡建设": "facility-repair",
    "环境保护": "sanitation",
    "交通运输": "safety-hazard",
    "劳动和社会保障": "service-request",
    "卫生计生": "service-request",
    "教育文体": "policy-question",
    "商贸旅游": "merchant-complaint",
    "政法": "neighbour-dispute",
    "民政": "service-request",
    "党务政务": "policy-question",
    "经济管理": "policy-question",
    "农村农业": "service-request",
    "国土资源": "facility-repair",
    "纪检监察": "policy-question",
    "科技与信息产业": "policy-question",
}

# NYC 311 complaint types by their first word, mapped the same way.
NYC_CATEGORY_CODES = {
    "noise": "noise-nuisance",
    "illegal": "safety-hazard",
    "blocked": "safety-hazard",
    "heat/hot": "facility-repair",
    "plumbing": "facility-repair",
    "water": "facility-repair",
    "street": "facility-repair",
    "sanitation": "sanitation",
    "dirty": "sanitation",
    "rodent": "sanitation",
    "unsanitary": "sanitation",
    "consumer": "merchant-complaint",
    "food": "merchant-complaint",
    "non-emergency": "neighbour-dispute",
}
FALLBACK_CATEGORY_CODE = "service-request"


@dataclass(frozen=True)
class Message:
    number: str
    subject: str
    body: str
    category_name: str
    reply: str


@dataclass
class ReplayReport:
    read: int = 0
    created: int = 0
    skipped: int = 0
    rejected: list[str] = field(default_factory=list)
    routed: int = 0
    triage: int = 0
    escalated: Counter = field(default_factory=Counter)
    supervised: int = 0
    answered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        values = sorted(self.latencies_ms)
        index = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
        return values[index]

    def lines(self) -> list[str]:
        p50, p90, p99 = (self.percentile(q) for q in (50, 90, 99))

        def ms(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.0f} ms"

        levels = ", ".join(
            f"level {level}: {count}" for level, count in sorted(self.escalated.items())
        )
        rate = self.created / self.seconds if self.seconds else 0.0
        return [
            f"messages read          {self.read}",
            f"tickets created        {self.created}",
            f"skipped, seen before   {self.skipped}",
            f"rejected at intake     {len(self.rejected)}",
            f"routed to a member     {self.routed}",
            f"sent to staff triage   {self.triage}",
            f"escalated              {self.escalated.total()} ({levels or 'none'})",
            f"supervised             {self.supervised}",
            f"answered               {self.answered}",
            f"routing latency        p50 {ms(p50)}, p90 {ms(p90)}, p99 {ms(p99)}",
            f"replay time            {self.seconds:.1f} s ({rate:.1f} tickets/s)",
        ]


def read_messages(path: Path, *, limit: int | None = None) -> Iterator[Message]:
    """Yield messages from a board CSV (留言主题, 留言详情 …) or an NYC 311 CSV."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if {"留言主题", "留言详情"} <= columns:
            convert = _board_message
        elif {"Complaint Type", "Descriptor"} <= columns:
            convert = _nyc_message
        else:
            raise ValidationError(
                {
                    "path": f"{path}: unknown columns {sorted(columns)[:8]}; expected "
                    "留言主题 and 留言详情, or Complaint Type and Descriptor."
                }
            )
        for count, row in enumerate(reader):
            if limit is not None and count >= limit:
                return
            yield convert(row)


def _board_message(row: dict[str, str]) -> Message:
    return Message(
        number=row.get("留言编号", ""),
        subject=(row.get("留言主题") or "").strip(),
        body=(row.get("留言详情") or "").strip(),
        category_name=(row.get("一级分类") or "").strip(),
        reply=(row.get("答复意见") or "").strip(),
    )


def _nyc_message(row: dict[str, str]) -> Message:
    complaint = (row.get("Complaint Type") or "").strip()
    descriptor = (row.get("Descriptor") or "").strip()
    address = (row.get("Incident Address") or "").strip()
    body = f"{complaint}: {descriptor}" + (f" at {address}" if address else "")
    return Message(
        number=row.get("Unique Key", ""),
        subject=complaint,
        body=body,
        category_name=complaint,
        reply=(row.get("Resolution Description") or "").strip(),
    )


def category_for(message: Message, categories: dict[str, Category]) -> Category:
    """Return the portal category a message's own category maps onto."""
    code = BOARD_CATEGORY_CODES.get(message.category_name)
    if code is None:
        first_word = message.category_name.split(" ")[0].lower()
        code = NYC_CATEGORY_CODES.get(first_word, FALLBACK_CATEGORY_CODE)
    return categories.get(code) or categories[FALLBACK_CATEGORY_CODE]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def replay(
    path: Path,
    *,
    limit: int | None = None,
    **options,
) -> ReplayReport:
    """Replay the messages of the CSV file ``path``; see ``replay_messages``."""
    return replay_messages(
        read_messages(path, limit=limit), key_prefix=f"replay:{path.name}", **options
    )


def replay_messages(
    messages: Iterable[Message],
    *,
    key_prefix: str,
    seed: int = 1,
    simulate_hours: float = 0.0,
    answer_share: float = 0.6,
    via_celery: bool = False,
    wait_seconds: float = 120.0,
    places: Iterable[Place] | None = None,
) -> ReplayReport:
    """Feed ``messages`` through intake, routing, answers and escalation.

    Each message's idempotency key is ``key_prefix`` and its number, so a
    second run of the same messages creates no tickets. Messages land in a
    seeded random choice of ``places``, by default every active place.
    """
    report = ReplayReport()
    started = time.monotonic()
    rng = random.Random(seed)
    if places is None:
        places = Place.objects.filter(is_active=True, grid__is_active=True)
    place_ids = sorted(place.pk for place in places)
    if not place_ids:
        raise ValidationError({"places": "No active places; run demo_data first."})
    categories = {
        category.code: category for category in Category.objects.filter(is_active=True)
    }
    if FALLBACK_CATEGORY_CODE not in categories:
        raise ValidationError(
            {
                "category": f"Category {FALLBACK_CATEGORY_CODE!r} is missing; "
                "run migrate first."
            }
        )

    created: list[tuple[int, Message]] = []
    for message in messages:
        report.read += 1
        category = category_for(message, categories)
        place_id = rng.choice(place_ids)
        key = f"{key_prefix}:{message.number}" if message.number else None
        if key and Incident.objects.filter(idempotency_key=key).exists():
            report.skipped += 1
            continue
        try:
            incident = incident_submit(
                category_id=category.pk,
                subject=_clip(message.subject, 120),
                description=_clip(message.body or message.subject, 4000),
                channel=Channel.PUBLIC_FORM,
                place_id=place_id,
                actor=Actor.resident(),
                idempotency_key=key,
            )
        except ValidationError as error:
            report.rejected.append(f"{message.number}: {'; '.join(error.messages)}")
            continue
        report.created += 1
        created.append((incident.pk, message))
        if not via_celery:
            incident_route(incident_id=incident.pk)

    if via_celery:
        _wait_for_routing([pk for pk, _message in created], wait_seconds)

    _answer(created, rng, answer_share, report)
    if simulate_hours > 0:
        _run_sweeps(timezone.now(), simulate_hours, report, [pk for pk, _m in created])
    _collect(report, [pk for pk, _message in created])
    report.seconds = time.monotonic() - started
    return report


def _wait_for_routing(ids: list[int], wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        waiting = Incident.objects.filter(
            pk__in=ids, state=State.SUBMITTED, needs_triage=False
        ).count()
        if waiting == 0:
            return
        time.sleep(0.2)
    logger.warning("replay stopped waiting for routing after %s s", wait_seconds)


def _answer(created, rng: random.Random, share: float, report: ReplayReport) -> None:
    assignees = dict(
        Incident.objects.filter(pk__in=[pk for pk, _m in created]).values_list(
            "pk", "assignee_id"
        )
    )
    members = Member.objects.in_bulk(set(assignees.values()) - {None})

    for incident_id, message in created:
        assignee_id = assignees.get(incident_id)
        if not message.reply or assignee_id is None or rng.random() >= share:
            continue
        actor = Actor(ActorKind.MEMBER, member=members[assignee_id])
        try:
            incident_accept(incident_id=incident_id, actor=actor)
            incident_resolve(
                incident_id=incident_id, actor=actor, reply=_clip(message.reply, 4000)
            )
        except ValidationError as error:
            # The messages name the ticket by its tracking code, so only the
            # fields go into the log.
            logger.info(
                "replay reply skipped id=%s fields=%s",
                incident_id,
                sorted(error.message_dict) if hasattr(error, "error_dict") else [],
            )
            continue
        report.answered += 1


def _run_sweeps(
    start: datetime.datetime, hours: float, report: ReplayReport, ids: list[int]
) -> None:
    """Sweep the tickets ``ids`` at each passing accept deadline until ``hours`` later.

    Only the replayed tickets are swept, so real tickets in the same database
    keep their deadlines.
    """
    end = start + datetime.timedelta(hours=hours)
    for _round in range(100):
        next_deadline = (
            Incident.objects.filter(
                pk__in=ids, state=State.DISPATCHED, accept_deadline__lte=end
            )
            .order_by("accept_deadline")
            .values_list("accept_deadline", flat=True)
            .first()
        )
        if next_deadline is None:
            return
        result = sweep(now=next_deadline + datetime.timedelta(seconds=1), only=ids)
        report.escalated.update(result.escalated)
        report.supervised += result.supervised


def _collect(report: ReplayReport, ids: list[int]) -> None:
    rows = Incident.objects.filter(pk__in=ids)
    report.triage = rows.filter(state=State.SUBMITTED, needs_triage=True).count()
    report.routed = (
        IncidentEvent.objects.filter(
            incident_id__in=ids, kind=EventKind.DISPATCHED, actor_kind="system"
        )
        .values("incident_id")
        .distinct()
        .count()
    )
    for created_at, dispatched in (
        IncidentEvent.objects.filter(
            incident_id__in=ids, kind=EventKind.DISPATCHED, actor_kind="system"
        )
        .order_by("incident_id", "pk")
        .values_list(F("incident__created_at"), "created_at")
    ):
        report.latencies_ms.append((dispatched - created_at).total_seconds() * 1000)
