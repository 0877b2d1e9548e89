"""People and tickets for the mobile and admin tests.

The tree has one total grid with two general grids, A and B, each with one
micro grid. The personas:

- Wang Fang (王芳), a micro-grid member of A-1, has the A-1 tickets assigned;
- Chen Jie (陈杰), another micro-grid member of A-1;
- Li Qiang (李强), leader of general grid A, so he sees everything under A;
- Zhao Min (赵敏), leader of general grid B, who must see nothing under A;
- Sun Li (孙丽), street-office staff and superuser, who sees everything.

A resident is the anonymous test client.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from grids.models import Grid, GridKind, Place
from incidents.actors import Actor
from incidents.models import Category, Channel, Incident, State
from incidents.workflow import incident_dispatch, incident_reassign, incident_submit
from members.models import Member, Position
from tests.factories import make_assignment, make_grid, make_member, make_place


@dataclass
class Persona:
    user: AbstractBaseUser
    member: Member | None

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.user)


@dataclass
class World:
    total: Grid
    general_a: Grid
    micro_a: Grid
    general_b: Grid
    micro_b: Grid
    place_a: Place
    place_b: Place
    category: Category
    wang: Persona
    chen: Persona
    li: Persona
    zhao: Persona
    staff: Persona

    def ticket(
        self,
        place: Place | None = None,
        assignee: Persona | None = None,
        *,
        description: str = "楼道灯坏了",
        reporter_name: str = "",
        reporter_phone: str = "",
        hide_name: bool = True,
    ) -> Incident:
        """Submit a ticket from the public form and dispatch it to ``assignee``."""
        place = place or self.place_a
        incident = incident_submit(
            category_id=self.category.pk,
            description=description,
            channel=Channel.PUBLIC_FORM,
            place_id=place.pk,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            hide_name=hide_name,
            actor=Actor.resident(),
        )
        incident = Incident.objects.get(pk=incident.pk)
        if assignee is None or incident.assignee_id == assignee.member.pk:
            return incident

        # Under a live server the routing task has already run at commit.
        dispatch = (
            incident_dispatch
            if incident.state == State.SUBMITTED
            else incident_reassign
        )
        dispatch(
            incident_id=incident.pk,
            assignee_id=assignee.member.pk,
            actor=Actor.system(),
        )
        return Incident.objects.get(pk=incident.pk)


def _persona(django_user_model, username: str, name: str | None, **flags) -> Persona:
    # No password: the tests sign in with force_login(), and hashing one
    # costs a noticeable fraction of a second per user.
    user = django_user_model.objects.create_user(username=username, **flags)
    member = make_member(name=name, user_id=user.pk) if name else None
    return Persona(user=user, member=member)


@pytest.fixture(name="world")
def world_fixture(db, django_user_model) -> World:
    """Build the tree and the personas; import this name into a test module."""
    total = make_grid(GridKind.TOTAL, name="天瑞社区总网格")
    general_a = make_grid(GridKind.GENERAL, total, name="第一网格")
    micro_a = make_grid(GridKind.MICRO, general_a, name="1-1 微网格")
    general_b = make_grid(GridKind.GENERAL, total, name="第二网格")
    micro_b = make_grid(GridKind.MICRO, general_b, name="2-1 微网格")

    wang = _persona(django_user_model, "wangfang", "王芳")
    chen = _persona(django_user_model, "chenjie", "陈杰")
    li = _persona(django_user_model, "liqiang", "李强")
    zhao = _persona(django_user_model, "zhaomin", "赵敏")
    staff = _persona(django_user_model, "sunli", None, is_staff=True, is_superuser=True)
    make_assignment(wang.member, micro_a, roles=["inspector"])
    make_assignment(chen.member, micro_a, roles=["mediator"])
    make_assignment(li.member, general_a, position=Position.LEADER)
    make_assignment(zhao.member, general_b, position=Position.LEADER)

    return World(
        total=total,
        general_a=general_a,
        micro_a=micro_a,
        general_b=general_b,
        micro_b=micro_b,
        place_a=make_place(micro_a, name="1 栋"),
        place_b=make_place(micro_b, name="8 栋"),
        category=Category.objects.create(
            code="facility", name="公共设施", role="inspector"
        ),
        wang=wang,
        chen=chen,
        li=li,
        zhao=zhao,
        staff=staff,
    )
