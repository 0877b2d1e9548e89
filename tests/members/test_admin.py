import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grids.models import GridKind
from members.models import (
    Assignment,
    Member,
    Organization,
    OrganizationKind,
    PartyOrganization,
    Position,
)
from tests.factories import make_assignment, make_grid, make_member

MEMBERS_URL = reverse("admin:members_member_changelist")
MEMBER_ADD_URL = reverse("admin:members_member_add")
TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)

INLINE_FIELDS = [
    "id",
    "grid",
    "member",
    "position",
    "roles",
    "title",
    "start_date",
    "end_date",
    "duties",
    "commitment",
]


def inline_data(rows: list[dict], initial: int = 0) -> dict:
    """Return POST data for the assignment inline holding ``rows``."""
    data = {
        "assignments-TOTAL_FORMS": str(len(rows)),
        "assignments-INITIAL_FORMS": str(initial),
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for field in INLINE_FIELDS:
            if field in row and row[field] is not None:
                data[f"assignments-{index}-{field}"] = row[field]
    return data


def member_form(**fields) -> dict:
    data = {
        "name": "王芳",
        "phone": "13800000000",
        "is_party_member": "on",
        "organization": "",
        "user": "",
        "is_active": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def existing_row(assignment: Assignment, **changes) -> dict:
    row = {
        "id": assignment.pk,
        "grid": assignment.grid_id,
        "member": assignment.member_id,
        "position": assignment.position,
        "roles": list(assignment.roles.values_list("code", flat=True)),
        "title": assignment.title,
        "start_date": assignment.start_date.isoformat(),
        "end_date": assignment.end_date.isoformat() if assignment.end_date else "",
        "duties": assignment.duties,
        "commitment": assignment.commitment,
    }
    row.update(changes)
    return row


def grid_change_form(grid, rows: list[dict], initial: int = 0) -> dict:
    return {
        "kind": grid.kind,
        "code": grid.code,
        "name": grid.name,
        "parent": grid.parent_id or "",
        "boundary": grid.boundary,
        "is_active": "on",
        **inline_data(rows, initial),
    }


def result_ids(response) -> set[int]:
    return {member.pk for member in response.context["cl"].result_list}


def staff_member_with_roles(grid, *roles, **fields) -> Member:
    member = make_member(**fields)
    make_assignment(member, grid, roles=list(roles))
    return member


def test_member_changelist_masks_phone(officer_client, tree):
    member = staff_member_with_roles(tree["micro"], "mediator", phone="13912345678")

    response = officer_client.get(MEMBERS_URL)

    assert result_ids(response) == {member.pk}
    assert b"139****5678" in response.content
    assert b"13912345678" not in response.content


def test_member_changelist_searches_phone(officer_client, tree):
    member = staff_member_with_roles(tree["micro"], phone="13912345678")
    staff_member_with_roles(tree["micro"], phone="13700000000")

    response = officer_client.get(MEMBERS_URL, {"q": "12345678"})

    assert result_ids(response) == {member.pk}


def test_member_changelist_queries_constant(
    officer_client, tree, django_assert_num_queries
):
    organization = Organization.objects.create(
        name="某电子厂", kind=OrganizationKind.ENTERPRISE
    )
    for _ in range(3):
        staff_member_with_roles(
            tree["micro"], "mediator", organization_id=organization.pk
        )
    with CaptureQueriesContext(connection) as small:
        assert officer_client.get(MEMBERS_URL).status_code == 200
    for _ in range(27):
        member = staff_member_with_roles(
            tree["micro"], "inspector", organization_id=organization.pk
        )
        make_assignment(member, tree["dedicated"])

    with django_assert_num_queries(len(small.captured_queries)):
        response = officer_client.get(MEMBERS_URL)

    assert len(response.context["cl"].result_list) == 30


def test_grid_subtree_filter_offers_total_and_general_grids(officer_client, tree):
    response = officer_client.get(MEMBERS_URL)

    spec = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", "") == "grid_subtree"
    )
    offered = {int(value) for value, _label in spec.lookup_choices}
    assert offered == {tree["total"].pk, tree["general"].pk}


def test_grid_subtree_filter_finds_members_below(officer_client, tree):
    in_micro = staff_member_with_roles(tree["micro"])
    in_dedicated = staff_member_with_roles(tree["dedicated"])
    other_total = make_grid(GridKind.TOTAL)
    elsewhere = staff_member_with_roles(other_total)
    ended = make_member()
    make_assignment(
        ended,
        tree["micro"],
        start_date=TODAY - 30 * DAY,
        end_date=TODAY - DAY,
    )

    by_total = officer_client.get(MEMBERS_URL, {"grid_subtree": tree["total"].pk})
    by_general = officer_client.get(MEMBERS_URL, {"grid_subtree": tree["general"].pk})
    by_other = officer_client.get(MEMBERS_URL, {"grid_subtree": other_total.pk})

    assert result_ids(by_total) == {in_micro.pk, in_dedicated.pk}
    assert result_ids(by_general) == {in_micro.pk}
    assert result_ids(by_other) == {elsewhere.pk}


def test_grid_subtree_filter_rejects_micro_grid(officer_client, tree):
    staff_member_with_roles(tree["micro"])

    response = officer_client.get(MEMBERS_URL, {"grid_subtree": tree["micro"].pk})

    # The admin redirects a request with a bad filter value to ?e=1.
    assert response.status_code == 302
    assert "e=1" in response.url


def test_role_filter_finds_active_role_holders(officer_client, tree):
    mediator = staff_member_with_roles(tree["micro"], "mediator", "publicist")
    staff_member_with_roles(tree["micro"], "inspector")
    former = make_member()
    make_assignment(
        former,
        tree["dedicated"],
        roles=["mediator"],
        start_date=TODAY - 30 * DAY,
        end_date=TODAY - DAY,
    )

    response = officer_client.get(MEMBERS_URL, {"role": "mediator"})

    assert result_ids(response) == {mediator.pk}


def test_member_filters_by_party_and_organization_kind(officer_client, tree):
    police = Organization.objects.create(name="派出所", kind=OrganizationKind.POLICE)
    officer_member = staff_member_with_roles(
        tree["micro"], organization_id=police.pk, is_party_member=True
    )
    staff_member_with_roles(tree["micro"], is_party_member=True)
    staff_member_with_roles(tree["micro"], organization_id=police.pk)

    response = officer_client.get(
        MEMBERS_URL,
        {"is_party_member__exact": "1", "organization__kind__exact": "police"},
    )

    assert result_ids(response) == {officer_member.pk}


def test_member_add_with_assignment_and_roles(officer_client, tree):
    response = officer_client.post(
        MEMBER_ADD_URL,
        member_form(
            **inline_data(
                [
                    {
                        "grid": tree["micro"].pk,
                        "position": Position.MEMBER,
                        "roles": ["mediator", "inspector"],
                        "start_date": TODAY.isoformat(),
                    }
                ]
            )
        ),
    )

    assert response.status_code == 302
    member = Member.objects.get(phone="13800000000")
    assignment = member.assignments.get()
    assert assignment.grid_id == tree["micro"].pk
    assert set(assignment.roles.values_list("code", flat=True)) == {
        "mediator",
        "inspector",
    }


def test_member_add_invalid_phone_shows_error(officer_client, tree):
    response = officer_client.post(
        MEMBER_ADD_URL, member_form(phone="1380000", **inline_data([]))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "1380000" in errors["phone"][0]
    assert not Member.objects.exists()


def test_member_add_phone_as_typed_is_stored_plain(officer_client, tree):
    response = officer_client.post(
        MEMBER_ADD_URL,
        member_form(phone="＋８６ １３８－１２３４－５６７８", **inline_data([])),
    )

    assert response.status_code == 302
    assert Member.objects.get().phone == "13812345678"


def test_member_change_second_leader_shows_position_error(officer_client, tree):
    make_assignment(make_member(), tree["micro"], Position.LEADER)
    member = make_member(name="李强", phone="13800000009")
    url = reverse("admin:members_member_change", args=[member.pk])

    response = officer_client.post(
        url,
        member_form(
            name=member.name,
            phone=member.phone,
            **inline_data(
                [
                    {
                        "grid": tree["micro"].pk,
                        "position": Position.LEADER,
                        "start_date": TODAY.isoformat(),
                    }
                ]
            ),
        ),
    )

    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors
    assert tree["micro"].code in inline_errors[0]["position"][0]
    assert not member.assignments.exists()


def test_grid_inline_two_new_leaders_show_position_error(officer_client, tree):
    first, second = make_member(), make_member()
    url = reverse("admin:grids_grid_change", args=[tree["micro"].pk])
    rows = [
        {"member": member.pk, "position": Position.LEADER, "start_date": TODAY}
        for member in (first, second)
    ]

    response = officer_client.post(url, grid_change_form(tree["micro"], rows))

    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors
    assert tree["micro"].code in inline_errors[1]["position"][0]
    assert not Assignment.objects.exists()


def test_grid_inline_hands_over_leadership(officer_client, tree):
    old = make_assignment(
        make_member(), tree["micro"], Position.LEADER, start_date=TODAY - 30 * DAY
    )
    successor = make_member()
    url = reverse("admin:grids_grid_change", args=[tree["micro"].pk])
    rows = [
        existing_row(old, end_date=(TODAY - DAY).isoformat()),
        {"member": successor.pk, "position": Position.LEADER, "start_date": TODAY},
    ]

    response = officer_client.post(url, grid_change_form(tree["micro"], rows, 1))

    assert response.status_code == 302
    assert Assignment.objects.get(pk=old.pk).end_date == TODAY - DAY
    current = Assignment.objects.active().get(
        grid=tree["micro"], position=Position.LEADER
    )
    assert current.member_id == successor.pk


def test_total_grid_inline_accepts_two_leaders(officer_client, tree):
    url = reverse("admin:grids_grid_change", args=[tree["total"].pk])
    rows = [
        {"member": make_member().pk, "position": Position.LEADER, "start_date": TODAY}
        for _ in range(2)
    ]

    response = officer_client.post(url, grid_change_form(tree["total"], rows))

    assert response.status_code == 302
    assert tree["total"].assignments.filter(position=Position.LEADER).count() == 2


def test_party_add_on_total_grid_rejected(officer_client, tree):
    response = officer_client.post(
        reverse("admin:members_partyorganization_add"),
        {"grid": tree["total"].pk, "name": "总支部", "secretary": ""},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert tree["total"].code in errors["grid"][0]
    assert not PartyOrganization.objects.exists()


def test_party_add_takes_kind_from_grid(officer_client, tree):
    response = officer_client.post(
        reverse("admin:members_partyorganization_add"),
        {"grid": tree["micro"].pk, "name": "第一党小组", "secretary": ""},
    )

    assert response.status_code == 302
    assert PartyOrganization.objects.get().kind == "group"


def test_organization_and_party_lists_queries_constant(
    officer_client, tree, django_assert_num_queries
):
    urls = [
        reverse("admin:members_organization_changelist"),
        reverse("admin:members_partyorganization_changelist"),
    ]

    def add_rows(count: int) -> None:
        for _ in range(count):
            general = make_grid(GridKind.GENERAL, tree["total"])
            micro = make_grid(GridKind.MICRO, general)
            secretary = make_member()
            Organization.objects.create(
                name=f"物业 {micro.code}", kind=OrganizationKind.PROPERTY, grid=micro
            )
            PartyOrganization.objects.create(
                grid=micro,
                kind="group",
                name=f"党小组 {micro.code}",
                secretary=secretary,
            )

    add_rows(3)
    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as small:
            assert officer_client.get(url).status_code == 200
        counts.append(len(small.captured_queries))
    add_rows(27)

    for url, count in zip(urls, counts, strict=True):
        with django_assert_num_queries(count):
            response = officer_client.get(url)
        assert len(response.context["cl"].result_list) == 30


def test_member_deactivation_warns_of_open_tickets(officer_client, tree):
    from django.contrib.messages import get_messages

    from incidents.models import Category, Channel, Incident, State

    member = make_member(name="谢雨怡", phone="13800000011")
    category = Category.objects.create(code="noise", name="噪音", role="mediator")
    for state in (State.DISPATCHED, State.ACCEPTED, State.CLOSED):
        Incident.objects.create(
            tracking_code=f"ABCDEFGH{len(state):02d}",
            category=category,
            subject="噪音",
            description="楼上噪音",
            channel=Channel.PUBLIC_FORM,
            state=state,
            assignee=member,
        )
    url = reverse("admin:members_member_change", args=[member.pk])

    response = officer_client.post(
        url,
        member_form(name=member.name, phone=member.phone, is_active=None)
        | inline_data([]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    member.refresh_from_db()
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert response.status_code == 302
    assert member.is_active is False
    assert (
        "谢雨怡 still holds 2 open tickets; the next sweep, within a minute, sends "
        "them back to routing." in texts
    )
