"""The rows of the demo community, computed from a seed without the database.

Every row has a natural key (a grid or place code, a phone number) that
``actions`` matches against the database, and each grid draws its names from
its own ``random.Random`` seeded with the demo seed and the grid code. So the
same seed always yields the same rows, and a grid's name and boundary do not
depend on ``scale``.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from grids.models import GridKind, PlaceKind
from members.models import HeadTitle, OrganizationKind, Position, RoleCode
from westgarden.demo import names

COMMUNITY_CODE = "TR"
ENTERPRISE_AREA_CODE = "TRQ"
COMMUNITY_ORGANIZATION = "天瑞社区工作站"
PROPERTY_COMPANIES = (
    "天瑞物业服务有限公司",
    "西园物业管理有限公司",
    "兴业物业服务有限公司",
    "科苑物业管理有限公司",
)

# Counts of the Tianrui community in 2023.
FULL_GENERAL_GRIDS = 54
FULL_MICRO_GRIDS = 392
FULL_DEDICATED_GRIDS = 121
FULL_MICRO_GRID_MEMBERS = 806

# Every demo phone number starts with 1990. China reserves no fictional
# mobile range, so this prefix only makes demo rows easy to recognise.
PHONE_PREFIX = "1990"

# Share of micro grids whose first member is a party member (and leads the
# micro grid's party group), and the share among the other members. With
# about two members per micro grid this makes about 40% party members.
FIRST_MEMBER_PARTY_SHARE = 0.8
OTHER_MEMBER_PARTY_SHARE = 0.03
DEDICATED_MEMBER_PARTY_SHARE = 0.3
PROPERTY_COMPANY_SHARE = 0.2
BUILDING_LEADER_SHARE = 0.15
RESIDENT_GROUP_LEADER_SHARE = 0.08
EXTRA_ROLE_SHARE = 0.25
MAX_ROLES = 3

ROLE_DUTIES: dict[str, str] = {
    RoleCode.PUBLICIST: "宣传政策、传达通知",
    RoleCode.COLLECTOR: "收集居民诉求和意见",
    RoleCode.LIAISON: "组织党群和社区活动",
    RoleCode.COORDINATOR: "协调社区、企业和物业资源",
    RoleCode.INSPECTOR: "排查安全风险隐患",
    RoleCode.MEDIATOR: "调解邻里纠纷",
}


@dataclass(frozen=True)
class GridRow:
    code: str
    kind: str
    name: str
    parent_code: str | None
    boundary: str


@dataclass(frozen=True)
class OrganizationRow:
    """An organization; ``key`` is the dedicated grid's code for an enterprise."""

    key: str
    name: str
    kind: str
    grid_code: str | None = None


@dataclass(frozen=True)
class MemberRow:
    phone: str
    name: str
    is_party_member: bool
    organization_key: str | None


@dataclass(frozen=True)
class AssignmentRow:
    phone: str
    grid_code: str
    position: str
    roles: tuple[str, ...] = ()
    title: str = HeadTitle.NONE
    duties: str = ""
    commitment: str = ""


@dataclass(frozen=True)
class PartyOrganizationRow:
    grid_code: str
    name: str
    secretary_phone: str


@dataclass(frozen=True)
class PlaceRow:
    code: str
    kind: str
    name: str
    grid_code: str
    address: str


@dataclass
class DemoPlan:
    grids: list[GridRow] = field(default_factory=list)
    organizations: list[OrganizationRow] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)
    assignments: list[AssignmentRow] = field(default_factory=list)
    party_organizations: list[PartyOrganizationRow] = field(default_factory=list)
    places: list[PlaceRow] = field(default_factory=list)
    # The demo-leader login goes to the leader of this grid, who is the member
    # with leader_phone unless the grid already had a leader. The demo-member
    # login goes to the member with member_phone.
    leader_grid_code: str = ""
    leader_phone: str = ""
    member_phone: str = ""


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def spread(total: int, buckets: int) -> list[int]:
    """Split ``total`` into ``buckets`` counts that differ by at most one."""
    base, remainder = divmod(total, buckets)
    return [base + 1 if index < remainder else base for index in range(buckets)]


def grid_random(seed: int, code: str) -> random.Random:
    return random.Random(f"{seed}/{code}")


def phone(kind_digit: int, grid_number: int, sub_number: int, person: int) -> str:
    """Return the demo phone of one person: 1990, kind, grid, sub-grid, person.

    Raise ValueError if a part does not fit its digits, which only happens at
    more than 999 grids of a kind, 99 micro grids in a general grid or 9
    people in one grid.
    """
    if not (grid_number < 1000 and sub_number < 100 and person < 10):
        raise ValueError(
            f"Demo phone parts out of range: grid {grid_number}, "
            f"sub-grid {sub_number}, person {person}."
        )
    return f"{PHONE_PREFIX}{kind_digit}{grid_number:03d}{sub_number:02d}{person}"


def build_plan(*, seed: int, scale: float = 1.0) -> DemoPlan:
    """Compute the demo community at ``scale`` times the Tianrui counts.

    Raise ValueError unless 0 < scale <= 1.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale={scale!r} is invalid; use a number in (0, 1].")

    general_count = scaled(FULL_GENERAL_GRIDS, scale)
    micro_count = max(general_count, scaled(FULL_MICRO_GRIDS, scale))
    member_count = max(micro_count, scaled(FULL_MICRO_GRID_MEMBERS, scale))
    dedicated_count = scaled(FULL_DEDICATED_GRIDS, scale)

    plan = DemoPlan()
    members: dict[str, MemberRow] = {}
    secretary_phone = _add_community(plan, members, seed)

    micro_per_general = spread(micro_count, general_count)
    members_per_micro = iter(spread(member_count, micro_count))
    for number, micros in enumerate(micro_per_general, start=1):
        _add_general_grid(plan, members, seed, number, micros, members_per_micro)

    _add_enterprise_area(plan, members, seed, secretary_phone, dedicated_count)

    plan.members = list(members.values())
    plan.leader_grid_code = f"{COMMUNITY_CODE}-01"
    plan.leader_phone = phone(1, 1, 0, 0)
    plan.member_phone = phone(2, 1, 1, 1)
    return plan


def _add_member(members: dict[str, MemberRow], row: MemberRow) -> None:
    members.setdefault(row.phone, row)


def _add_community(plan: DemoPlan, members: dict[str, MemberRow], seed: int) -> str:
    """Add the community total grid, its leader and the community organizations."""
    rng = grid_random(seed, COMMUNITY_CODE)
    plan.organizations.append(
        OrganizationRow(
            key=COMMUNITY_ORGANIZATION,
            name=COMMUNITY_ORGANIZATION,
            kind=OrganizationKind.COMMUNITY,
        )
    )
    for company in PROPERTY_COMPANIES:
        plan.organizations.append(
            OrganizationRow(key=company, name=company, kind=OrganizationKind.PROPERTY)
        )

    plan.grids.append(
        GridRow(
            code=COMMUNITY_CODE,
            kind=GridKind.TOTAL,
            name="天瑞社区总网格",
            parent_code=None,
            boundary="天瑞社区工作站辖区内的居住区、商业街和公共区域。",
        )
    )
    secretary = phone(0, 0, 0, 1)
    _add_member(
        members,
        MemberRow(secretary, names.person_name(rng), True, COMMUNITY_ORGANIZATION),
    )
    plan.assignments.append(
        AssignmentRow(
            phone=secretary,
            grid_code=COMMUNITY_CODE,
            position=Position.LEADER,
            duties="社区党委书记，任总网格长，统筹全社区网格工作。",
            commitment=rng.choice(names.COMMITMENTS),
        )
    )
    return secretary


def _add_general_grid(
    plan: DemoPlan,
    members: dict[str, MemberRow],
    seed: int,
    number: int,
    micro_count: int,
    members_per_micro: Iterator[int],
) -> None:
    code = f"{COMMUNITY_CODE}-{number:02d}"
    rng = grid_random(seed, code)
    # Ten estate names in turn, with a phase number: 天瑞花园1期, 天瑞花园2期.
    phase, index = divmod(number - 1, len(names.ESTATES))
    estate = f"{names.ESTATES[index]}{phase + 1}期"
    west, south = rng.sample(names.STREETS, 2)
    plan.grids.append(
        GridRow(
            code=code,
            kind=GridKind.GENERAL,
            name=f"第{number}网格",
            parent_code=COMMUNITY_CODE,
            boundary=f"{west}以东、{south}以北，含{estate}。",
        )
    )

    leader = phone(1, number, 0, 0)
    _add_member(
        members,
        MemberRow(leader, names.person_name(rng), True, COMMUNITY_ORGANIZATION),
    )
    plan.assignments.append(
        AssignmentRow(
            phone=leader,
            grid_code=code,
            position=Position.LEADER,
            duties=f"任第{number}网格网格长、网格党支部书记，统筹微网格员开展工作。",
            commitment=rng.choice(names.COMMITMENTS),
        )
    )
    plan.party_organizations.append(
        PartyOrganizationRow(
            grid_code=code,
            name=f"天瑞社区第{number}网格党支部",
            secretary_phone=leader,
        )
    )

    for micro_number in range(1, micro_count + 1):
        _add_micro_grid(
            plan,
            members,
            seed,
            general=(number, code, estate, leader),
            number=micro_number,
            member_count=next(members_per_micro),
        )


def _add_micro_grid(
    plan: DemoPlan,
    members: dict[str, MemberRow],
    seed: int,
    *,
    general: tuple[int, str, str, str],
    number: int,
    member_count: int,
) -> None:
    general_number, general_code, estate, general_leader = general
    code = f"{general_code}-{number}"
    rng = grid_random(seed, code)
    street = rng.choice(names.STREETS)
    buildings = [(number - 1) * 2 + 1, (number - 1) * 2 + 2][: rng.choice((1, 2))]
    building_list = "、".join(f"{building}栋" for building in buildings)
    plan.grids.append(
        GridRow(
            code=code,
            kind=GridKind.MICRO,
            name=f"{general_number}-{number}微网格",
            parent_code=general_code,
            boundary=f"{estate}{building_list}及{street}沿街商铺。",
        )
    )

    role_sets = assign_roles(rng, member_count)
    group_secretary = None
    for person in range(1, member_count + 1):
        member_phone = phone(2, general_number, number, person)
        share = FIRST_MEMBER_PARTY_SHARE if person == 1 else OTHER_MEMBER_PARTY_SHARE
        is_party_member = rng.random() < share
        organization = None
        if rng.random() < PROPERTY_COMPANY_SHARE:
            organization = rng.choice(PROPERTY_COMPANIES)
        _add_member(
            members,
            MemberRow(
                member_phone, names.person_name(rng), is_party_member, organization
            ),
        )

        title = HeadTitle.NONE
        if is_party_member and group_secretary is None:
            group_secretary = member_phone
            title = HeadTitle.PARTY_GROUP
        elif rng.random() < BUILDING_LEADER_SHARE:
            title = HeadTitle.BUILDING
        elif rng.random() < RESIDENT_GROUP_LEADER_SHARE:
            title = HeadTitle.RESIDENT_GROUP
        roles = role_sets[person - 1]
        plan.assignments.append(
            AssignmentRow(
                phone=member_phone,
                grid_code=code,
                position=Position.MEMBER,
                roles=roles,
                title=title,
                duties="；".join(ROLE_DUTIES[role] for role in roles) + "。",
                commitment=rng.choice(names.COMMITMENTS),
            )
        )

    # A micro grid without a party member among its members has its party
    # group led by the general grid's leader, who is the branch secretary.
    plan.party_organizations.append(
        PartyOrganizationRow(
            grid_code=code,
            name=f"{general_number}-{number}微网格党小组",
            secretary_phone=group_secretary or general_leader,
        )
    )
    plan.places.extend(_micro_grid_places(rng, code, estate, buildings, street))


def assign_roles(rng: random.Random, member_count: int) -> list[tuple[str, ...]]:
    """Deal the six roles to ``member_count`` members, one to three roles each.

    The roles go round in a shuffled order so that every role is covered
    whenever the members can hold six roles between them. A member with
    fewer than three roles sometimes takes one more.
    """
    order = rng.sample(list(RoleCode.values), len(RoleCode.values))
    roles_by_member: list[list[str]] = [[] for _ in range(member_count)]
    for index, role in enumerate(order[: MAX_ROLES * member_count]):
        roles_by_member[index % member_count].append(role)
    for roles in roles_by_member:
        if not roles:
            roles.append(rng.choice(order))
        elif len(roles) < MAX_ROLES and rng.random() < EXTRA_ROLE_SHARE:
            roles.append(rng.choice([role for role in order if role not in roles]))
    return [tuple(sorted(roles, key=order.index)) for roles in roles_by_member]


def _micro_grid_places(
    rng: random.Random, code: str, estate: str, buildings: list[int], street: str
) -> list[PlaceRow]:
    address_number = rng.randint(1, 300)
    address = f"{street}{address_number}号"
    places = [
        PlaceRow(
            f"{code}-B{index}",
            PlaceKind.BUILDING,
            f"{estate}{building}栋",
            code,
            address,
        )
        for index, building in enumerate(buildings, start=1)
    ]
    for floor in sorted(rng.sample(range(1, 19), rng.choice((2, 3)))):
        places.append(
            PlaceRow(
                f"{code}-B1-F{floor}",
                PlaceKind.FLOOR,
                f"{estate}{buildings[0]}栋{floor}层",
                code,
                address,
            )
        )
    if rng.random() < 0.5:
        places.append(
            PlaceRow(
                f"{code}-D1",
                PlaceKind.DORMITORY,
                f"{estate}员工宿舍{buildings[-1]}号楼",
                code,
                address,
            )
        )
    for index in range(1, rng.choice((1, 2)) + 1):
        places.append(
            PlaceRow(
                f"{code}-S{index}",
                PlaceKind.SHOP,
                names.shop_name(rng),
                code,
                f"{street}{address_number + index * 2}号",
            )
        )
    places.append(
        PlaceRow(
            f"{code}-R1",
            PlaceKind.STREET,
            f"{street}（{address_number}号至{address_number + 40}号）",
            code,
            "",
        )
    )
    return places


def _add_enterprise_area(
    plan: DemoPlan,
    members: dict[str, MemberRow],
    seed: int,
    secretary_phone: str,
    dedicated_count: int,
) -> None:
    """Add the enterprise-area total grid with its two leaders and dedicated grids."""
    rng = grid_random(seed, ENTERPRISE_AREA_CODE)
    plan.grids.append(
        GridRow(
            code=ENTERPRISE_AREA_CODE,
            kind=GridKind.TOTAL,
            name="天瑞社区企业片区总网格",
            parent_code=None,
            boundary="天瑞社区内的工业园区、企业厂区及员工宿舍。",
        )
    )

    # Enterprise names come from one sequence, so that each dedicated grid
    # keeps its enterprise whatever the number of grids.
    trade_rng = grid_random(seed, f"{ENTERPRISE_AREA_CODE}/enterprises")
    used_names: set[str] = set()
    first_enterprise_key = ""
    for number in range(1, dedicated_count + 1):
        trade = names.trade_name(trade_rng, used_names)
        code = f"{ENTERPRISE_AREA_CODE}-{number:03d}"
        first_enterprise_key = first_enterprise_key or code
        _add_dedicated_grid(plan, members, seed, number, code, trade)

    committee_member = phone(0, 0, 0, 2)
    _add_member(
        members,
        MemberRow(committee_member, names.person_name(rng), True, first_enterprise_key),
    )
    for leader, duties in (
        (secretary_phone, "社区党委书记，任企业片区总网格长。"),
        (committee_member, "企业党委委员，任企业片区总网格长，联络片区内企业。"),
    ):
        plan.assignments.append(
            AssignmentRow(
                phone=leader,
                grid_code=ENTERPRISE_AREA_CODE,
                position=Position.LEADER,
                duties=duties,
                commitment=rng.choice(names.COMMITMENTS),
            )
        )


def _add_dedicated_grid(
    plan: DemoPlan,
    members: dict[str, MemberRow],
    seed: int,
    number: int,
    code: str,
    trade: str,
) -> None:
    rng = grid_random(seed, code)
    company = f"{trade}有限公司"
    street = rng.choice(names.STREETS)
    address = f"{street}{rng.randint(1, 300)}号"
    plan.organizations.append(
        OrganizationRow(
            key=code, name=company, kind=OrganizationKind.ENTERPRISE, grid_code=code
        )
    )
    plan.grids.append(
        GridRow(
            code=code,
            kind=GridKind.DEDICATED,
            name=f"{trade}专属网格",
            parent_code=ENTERPRISE_AREA_CODE,
            boundary=f"{company}厂区及员工宿舍，{address}。",
        )
    )

    leader = phone(3, number, 0, 0)
    _add_member(members, MemberRow(leader, names.person_name(rng), True, code))
    plan.assignments.append(
        AssignmentRow(
            phone=leader,
            grid_code=code,
            position=Position.LEADER,
            duties="任企业专属网格长、企业党支部书记，对接社区网格事务。",
            commitment=rng.choice(names.COMMITMENTS),
        )
    )
    for person, roles in enumerate(assign_roles(rng, 2), start=1):
        member_phone = phone(3, number, 0, person)
        is_party_member = rng.random() < DEDICATED_MEMBER_PARTY_SHARE
        _add_member(
            members,
            MemberRow(member_phone, names.person_name(rng), is_party_member, code),
        )
        plan.assignments.append(
            AssignmentRow(
                phone=member_phone,
                grid_code=code,
                position=Position.MEMBER,
                roles=roles,
                duties="；".join(ROLE_DUTIES[role] for role in roles) + "。",
                commitment=rng.choice(names.COMMITMENTS),
            )
        )
    plan.party_organizations.append(
        PartyOrganizationRow(
            grid_code=code, name=f"{company}党支部", secretary_phone=leader
        )
    )

    for line in range(1, rng.randint(2, 4) + 1):
        plan.places.append(
            PlaceRow(
                f"{code}-L{line}",
                PlaceKind.PRODUCTION_LINE,
                f"{trade}{line}号产线",
                code,
                address,
            )
        )
    for dormitory in range(1, rng.randint(1, 2) + 1):
        plan.places.append(
            PlaceRow(
                f"{code}-D{dormitory}",
                PlaceKind.DORMITORY,
                f"{trade}员工宿舍{dormitory}栋",
                code,
                address,
            )
        )
