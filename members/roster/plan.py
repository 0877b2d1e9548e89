"""Validate and write the members sheet: organizations, members, assignments.

Members are matched by phone number, organizations by name, and assignments
by member, grid, position and start date. Every row is checked with the
models' own ``full_clean()`` and against the rest of the file, and nothing
is written until the whole plan is free of errors.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.models import Grid, GridKind
from grids.roster.sheets import (
    CellError,
    RosterError,
    Row,
    Sheet,
    parse_bool,
    parse_date,
)
from grids.roster.tree import (
    LOOKUP_CHUNK,
    GridPlan,
    ImportCounts,
    add_model_errors,
    fetch_by_code,
)
from members.actions import check_leader_vacancy
from members.models import (
    MULTI_LEADER_KINDS,
    Assignment,
    Member,
    Organization,
    Position,
    Role,
)
from members.roster.columns import (
    ASSIGNMENT_FIELD_COLUMNS,
    MEMBER_FIELD_COLUMNS,
    NO_TITLE_WORDS,
    ORGANIZATION_FIELD_COLUMNS,
    ORGANIZATION_KINDS,
    POSITIONS,
    ROLE_SEPARATORS,
    ROLES,
    TITLES,
    normalize_phone,
)


@dataclass
class AssignmentEntry:
    """One members row's assignment, matched or new, with what it sets."""

    row: Row
    member: Member
    grid: Grid | None
    position: str
    roles: set[str] | None
    start_date: datetime.date | None
    assignment: Assignment | None = None
    old_values: tuple | None = None
    valid: bool = True


@dataclass
class MemberPlan:
    """Members, organizations and assignments of the file, matched by key."""

    members: dict[str, Member] = field(default_factory=dict)
    member_rows: dict[str, Row] = field(default_factory=dict)
    member_old_values: dict[str, tuple] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    organization_rows: dict[str, Row] = field(default_factory=dict)
    organization_old_kinds: dict[str, str] = field(default_factory=dict)
    entries: list[AssignmentEntry] = field(default_factory=list)
    stored_assignments: dict[tuple, list[Assignment]] = field(
        default_factory=lambda: defaultdict(list)
    )
    member_counts: ImportCounts = field(default_factory=ImportCounts)
    organization_counts: ImportCounts = field(default_factory=ImportCounts)
    assignment_counts: ImportCounts = field(default_factory=ImportCounts)


def _member_values(member: Member) -> tuple:
    organization_name = member.organization.name if member.organization else ""
    return (member.name, member.is_party_member, organization_name)


def _assignment_values(assignment: Assignment, roles: set[str]) -> tuple:
    return (
        assignment.title,
        assignment.duties,
        assignment.commitment,
        assignment.end_date,
        frozenset(roles),
    )


def plan_members(
    sheets: Sequence[Sheet], grids: GridPlan, errors: list[RosterError]
) -> MemberPlan:
    """Check every members row, append errors and return the plan."""
    plan = MemberPlan()
    rows = [row for sheet in sheets for row in sheet.rows]
    phones = [normalize_phone(row.text("phone")) for row in rows]
    existing_members = fetch_by_code(
        Member.objects.select_related("organization"), phones, key="phone"
    )
    existing_organizations = fetch_by_code(
        Organization.objects.all(),
        [row.text("organization") for row in rows if row.text("organization")],
        key="name",
    )
    stored_roles = set(Role.objects.values_list("code", flat=True))

    for row, phone in zip(rows, phones, strict=True):
        organization = _plan_organization(plan, existing_organizations, row, errors)
        member = _plan_member(plan, existing_members, row, phone, organization, errors)
        entry = _read_assignment(row, member, grids, stored_roles, errors)
        plan.entries.append(entry)

    _check_organizations(plan, errors)
    _count_members(plan)
    _match_assignments(plan, errors)
    _check_overlaps(plan, errors)
    return plan


def _plan_organization(
    plan: MemberPlan,
    existing: dict,
    row: Row,
    errors: list[RosterError],
) -> Organization | None:
    name = row.text("organization")
    if not name:
        return None

    kind = ""
    if row.text("organization_kind"):
        try:
            kind = ORGANIZATION_KINDS.parse(row.text("organization_kind"))
        except CellError as error:
            errors.append(row.error("organization_kind", str(error)))
            return plan.organizations.get(name)

    organization = plan.organizations.get(name)
    if organization is not None:
        first = plan.organization_rows[name]
        if kind and organization.kind and kind != organization.kind:
            errors.append(
                row.error(
                    "organization_kind",
                    _(
                        "%(source)s row %(row)s gives organization %(name)s "
                        "another kind."
                    )
                    % {"source": first.sheet.source, "row": first.number, "name": name},
                )
            )
        elif kind and not organization.kind:
            organization.kind = kind
        return organization

    organization = existing.get(name) or Organization(name=name)
    if organization.pk is not None:
        plan.organization_old_kinds[name] = organization.kind
    if kind:
        organization.kind = kind
    plan.organizations[name] = organization
    plan.organization_rows[name] = row
    return organization


def _check_organizations(plan: MemberPlan, errors: list[RosterError]) -> None:
    for name, organization in plan.organizations.items():
        row = plan.organization_rows[name]
        if not organization.kind:
            errors.append(
                row.error(
                    "organization_kind",
                    _(
                        "Organization %(name)s is not in the database yet; "
                        "give its kind."
                    )
                    % {"name": name},
                )
            )
            continue
        try:
            organization.full_clean(exclude=["grid"], validate_unique=False)
        except ValidationError as error:
            add_model_errors(errors, row, error, ORGANIZATION_FIELD_COLUMNS)

        if organization.pk is None:
            plan.organization_counts.created += 1
        elif plan.organization_old_kinds[name] != organization.kind:
            plan.organization_counts.updated += 1
        else:
            plan.organization_counts.unchanged += 1


def _plan_member(
    plan: MemberPlan,
    existing: dict,
    row: Row,
    phone: str,
    organization: Organization | None,
    errors: list[RosterError],
) -> Member:
    is_party_member = None
    if row.has("is_party_member"):
        try:
            is_party_member = parse_bool(row.text("is_party_member"), default=False)
        except CellError as error:
            errors.append(row.error("is_party_member", str(error)))

    member = plan.members.get(phone)
    if member is not None:
        _check_same_member(
            plan.member_rows[phone], row, member, is_party_member, organization, errors
        )
        return member

    member = existing.get(phone) or Member(phone=phone)
    if member.pk is not None:
        plan.member_old_values[phone] = _member_values(member)
    member.name = row.text("name")
    if is_party_member is not None:
        member.is_party_member = is_party_member
    if row.has("organization"):
        member.organization = organization
    plan.members[phone] = member
    plan.member_rows[phone] = row

    try:
        member.full_clean(exclude=["organization", "user"], validate_unique=False)
    except ValidationError as error:
        add_model_errors(errors, row, error, MEMBER_FIELD_COLUMNS)
    return member


def _check_same_member(
    first: Row,
    row: Row,
    member: Member,
    is_party_member: bool | None,
    organization: Organization | None,
    errors: list[RosterError],
) -> None:
    """Report a later row of the same phone number that describes another person."""
    where = {"source": first.sheet.source, "row": first.number}
    if row.text("name") != member.name:
        errors.append(
            row.error(
                "name",
                _("The same phone number has another name in %(source)s row %(row)s.")
                % where,
            )
        )
    if is_party_member is not None and is_party_member != member.is_party_member:
        errors.append(
            row.error(
                "is_party_member",
                _(
                    "The same phone number has another party membership in "
                    "%(source)s row %(row)s."
                )
                % where,
            )
        )
    if row.has("organization") and organization != member.organization:
        errors.append(
            row.error(
                "organization",
                _(
                    "The same phone number has another organization in %(source)s "
                    "row %(row)s."
                )
                % where,
            )
        )


def _count_members(plan: MemberPlan) -> None:
    for phone, member in plan.members.items():
        if member.pk is None:
            plan.member_counts.created += 1
        elif plan.member_old_values[phone] != _member_values(member):
            plan.member_counts.updated += 1
        else:
            plan.member_counts.unchanged += 1


def _read_assignment(
    row: Row,
    member: Member,
    grids: GridPlan,
    stored_roles: set[str],
    errors: list[RosterError],
) -> AssignmentEntry:
    """Parse the assignment columns of a row; _match_assignments() pairs it."""
    entry = AssignmentEntry(
        row=row, member=member, grid=None, position="", roles=None, start_date=None
    )
    grid_code = row.text("grid_code")
    entry.grid = grids.get(grid_code) if grid_code else None
    if not grid_code:
        errors.append(row.error("grid_code", _("Enter the code of the grid.")))
        entry.valid = False
    elif entry.grid is None:
        errors.append(
            row.error(
                "grid_code",
                _("Grid %(code)s was found neither in this file nor in the database.")
                % {"code": grid_code},
            )
        )
        entry.valid = False

    entry.position = Position.MEMBER
    if row.text("position"):
        try:
            entry.position = POSITIONS.parse(row.text("position"))
        except CellError as error:
            errors.append(row.error("position", str(error)))
            entry.valid = False

    if row.has("roles"):
        entry.roles = _parse_roles(row, stored_roles, errors)
        if entry.roles is None:
            entry.valid = False

    try:
        entry.start_date = parse_date(row.cells.get("start_date"))
    except CellError as error:
        errors.append(row.error("start_date", str(error)))
        entry.valid = False
    return entry


def _parse_roles(
    row: Row, stored_roles: set[str], errors: list[RosterError]
) -> set[str] | None:
    """Return the role codes of the roles cell, or None after reporting one."""
    codes = set()
    for word in ROLE_SEPARATORS.split(row.text("roles")):
        if not word:
            continue
        try:
            code = ROLES.parse(word)
        except CellError:
            known = "、".join(names[0] for names in ROLES.spellings.values())
            errors.append(
                row.error(
                    "roles",
                    _("Unknown role %(role)s; use any of %(known)s.")
                    % {"role": word, "known": known},
                )
            )
            return None
        if code not in stored_roles:
            errors.append(
                row.error(
                    "roles",
                    _(
                        "Role %(role)s is missing from the role table; run the "
                        "migrations."
                    )
                    % {"role": code},
                )
            )
            return None
        codes.add(code)
    return codes


def _match_assignments(plan: MemberPlan, errors: list[RosterError]) -> None:
    """Pair each row with its stored assignment, or prepare a new one.

    A row matches the assignment of the same member, grid, position and start
    date. A row without a start date matches the assignment active today, so
    that importing the same file on another day changes nothing.
    """
    member_ids = [member.pk for member in plan.members.values() if member.pk]
    stored = plan.stored_assignments
    for start in range(0, len(member_ids), LOOKUP_CHUNK):
        assignments = Assignment.objects.filter(
            member_id__in=member_ids[start : start + LOOKUP_CHUNK]
        ).prefetch_related("roles")
        for assignment in assignments:
            key = (assignment.member_id, assignment.grid_id, assignment.position)
            stored[key].append(assignment)

    today = timezone.localdate()
    claimed: dict[int, Row] = {}
    for entry in plan.entries:
        if not entry.valid or entry.grid is None:
            continue
        candidates = []
        if entry.member.pk and entry.grid.pk:
            candidates = stored[(entry.member.pk, entry.grid.pk, entry.position)]
        if entry.start_date is None:
            active = [a for a in candidates if a.is_active_on(today)]
            entry.assignment = max(active, key=lambda a: a.start_date, default=None)
        else:
            entry.assignment = next(
                (a for a in candidates if a.start_date == entry.start_date), None
            )

        if entry.assignment is not None and entry.assignment.pk in claimed:
            first = claimed[entry.assignment.pk]
            errors.append(
                entry.row.error(
                    None,
                    _(
                        "This row describes the same assignment as %(source)s row "
                        "%(row)s."
                    )
                    % {"source": first.sheet.source, "row": first.number},
                )
            )
            entry.valid = False
            continue
        if entry.assignment is not None:
            claimed[entry.assignment.pk] = entry.row
        _apply_assignment_row(entry, today, errors)


def _apply_assignment_row(
    entry: AssignmentEntry, today: datetime.date, errors: list[RosterError]
) -> None:
    row = entry.row
    assignment = entry.assignment
    if assignment is None:
        assignment = Assignment(
            member=entry.member,
            grid=entry.grid,
            position=entry.position,
            start_date=entry.start_date or today,
        )
        entry.assignment = assignment
        stored_roles: set[str] = set()
    else:
        stored_roles = {role.code for role in assignment.roles.all()}
        entry.old_values = _assignment_values(assignment, stored_roles)
    if entry.roles is None:
        entry.roles = stored_roles

    if row.has("title"):
        text = row.text("title")
        try:
            assignment.title = (
                "" if text.lower() in NO_TITLE_WORDS else TITLES.parse(text)
            )
        except CellError as error:
            errors.append(row.error("title", str(error)))
            entry.valid = False
    for name in ("duties", "commitment"):
        if row.has(name):
            setattr(assignment, name, row.text(name))
    if row.has("end_date"):
        try:
            assignment.end_date = parse_date(row.cells.get("end_date"))
        except CellError as error:
            errors.append(row.error("end_date", str(error)))
            entry.valid = False
            return

    try:
        assignment.full_clean(exclude=["member", "grid"], validate_unique=False)
    except ValidationError as error:
        add_model_errors(errors, row, error, ASSIGNMENT_FIELD_COLUMNS)
        entry.valid = False


def _overlaps(first: Assignment, second: Assignment) -> bool:
    far = datetime.date.max
    return first.start_date <= (second.end_date or far) and second.start_date <= (
        first.end_date or far
    )


def _check_overlaps(plan: MemberPlan, errors: list[RosterError]) -> None:
    """Report a second leader of a one-leader grid and a doubled assignment.

    A grid other than a community total grid has one leader at a time, and a
    member has a position in a grid once at a time. Both are checked over
    the assignments as the import would leave them: the rows, and the stored
    assignments that no row matched.
    """
    entries = [e for e in plan.entries if e.valid and e.assignment is not None]
    claimed: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        if entry.assignment is not None and entry.assignment.pk:
            claimed[entry.assignment.grid_id].append(entry.assignment.pk)
    leader_grids = [
        entry.grid.pk for entry in entries if entry.grid and _is_sole_leader(entry)
    ]
    # Locks the grid rows as assignment_create() does, so that no leader
    # appointed meanwhile slips past check_leader_vacancy().
    list(Grid.objects.select_for_update().filter(pk__in=leader_grids).values("pk"))

    seen_holders: dict[tuple, list[AssignmentEntry]] = defaultdict(list)
    seen_leaders: dict[int, list[AssignmentEntry]] = defaultdict(list)
    for entry in entries:
        assert entry.grid is not None and entry.assignment is not None
        # Rows of the same phone number share one Member instance, and rows
        # of the same grid code one Grid instance, saved or not.
        holder_key = (id(entry.member), id(entry.grid), entry.position)
        _check_holder(entry, seen_holders[holder_key], plan, claimed, errors)
        seen_holders[holder_key].append(entry)
        if not _is_sole_leader(entry):
            continue

        for other in seen_leaders[id(entry.grid)]:
            assert other.assignment is not None
            if _overlaps(entry.assignment, other.assignment):
                errors.append(_overlap_error(entry, other, leader=True))
        seen_leaders[id(entry.grid)].append(entry)
        if entry.grid.pk is None:
            continue
        try:
            check_leader_vacancy(
                entry.grid,
                start_date=entry.assignment.start_date,
                end_date=entry.assignment.end_date,
                exclude_ids=claimed[entry.grid.pk],
            )
        except ValidationError as error:
            add_model_errors(errors, entry.row, error, ASSIGNMENT_FIELD_COLUMNS)


def _is_sole_leader(entry: AssignmentEntry) -> bool:
    """Return True if the row names the leader of a grid with one leader."""
    return (
        entry.position == Position.LEADER
        and entry.grid is not None
        and entry.grid.kind not in MULTI_LEADER_KINDS
    )


def _check_holder(
    entry: AssignmentEntry,
    earlier: list[AssignmentEntry],
    plan: MemberPlan,
    claimed: dict[int, list[int]],
    errors: list[RosterError],
) -> None:
    """Report rows and stored assignments that double this row's assignment."""
    assert entry.grid is not None and entry.assignment is not None
    for other in earlier:
        assert other.assignment is not None
        if _overlaps(entry.assignment, other.assignment):
            errors.append(_overlap_error(entry, other, leader=False))

    stored_key = (entry.member.pk, entry.grid.pk, entry.position)
    for stored in plan.stored_assignments.get(stored_key, []):
        if stored.pk in claimed[stored.grid_id]:
            continue
        if _overlaps(entry.assignment, stored):
            message = _(
                "The member already holds this position in %(grid)s from "
                "%(start)s; end that assignment or give its start date."
            ) % {"grid": entry.grid.code, "start": stored.start_date.isoformat()}
            errors.append(entry.row.error("position", message))


def _overlap_error(
    entry: AssignmentEntry, other: AssignmentEntry, *, leader: bool
) -> RosterError:
    assert entry.grid is not None
    where = {
        "source": other.row.sheet.source,
        "row": other.row.number,
        "grid": entry.grid.code,
        "kind": GridKind(entry.grid.kind).label,
    }
    if leader:
        message = (
            _(
                "%(grid)s is a %(kind)s and has one leader at a time, but %(source)s "
                "row %(row)s names another leader for an overlapping period."
            )
            % where
        )
    else:
        message = (
            _(
                "%(source)s row %(row)s already assigns this member to %(grid)s in the "
                "same position for an overlapping period."
            )
            % where
        )
    return entry.row.error("position", message, value=entry.row.text("position"))


def write_members(plan: MemberPlan) -> None:
    """Write organizations, members and assignments, after the grids."""
    for organization in plan.organizations.values():
        if organization.pk is None:
            organization.save()
        elif plan.organization_old_kinds[organization.name] != organization.kind:
            organization.save(update_fields=["kind"])

    for phone, member in plan.members.items():
        if member.pk is None:
            member.save()
        elif plan.member_old_values[phone] != _member_values(member):
            member.save(update_fields=["name", "is_party_member", "organization"])

    through = Assignment.roles.through
    new_links: list[Any] = []
    for entry in plan.entries:
        assignment = entry.assignment
        assert assignment is not None and entry.roles is not None
        if assignment.pk is None:
            # The member and grid may be new; the cached instances carry the
            # primary keys they got above.
            assignment.member = entry.member
            assignment.grid = entry.grid
            assignment.save()
            for code in sorted(entry.roles):
                new_links.append(through(assignment_id=assignment.pk, role_id=code))
        elif entry.old_values != _assignment_values(assignment, entry.roles):
            assignment.save()
            assignment.roles.set(Role.objects.filter(code__in=entry.roles))
    through.objects.bulk_create(new_links, batch_size=LOOKUP_CHUNK)


def count_assignments(plan: MemberPlan) -> None:
    for entry in plan.entries:
        assignment = entry.assignment
        if assignment is None or entry.roles is None:
            continue
        if assignment.pk is None:
            plan.assignment_counts.created += 1
        elif entry.old_values != _assignment_values(assignment, entry.roles):
            plan.assignment_counts.updated += 1
        else:
            plan.assignment_counts.unchanged += 1
