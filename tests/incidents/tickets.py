"""A small office and tickets in every state, for the tests of the ticket core.

The tree is total -> general -> micro, with one place in the micro grid. The
people:

- Liu Yang (刘洋), mediator of the micro grid, who handles noise tickets;
- Zhou Qiang (周强), leader of the general grid, with a login and e-mail;
- Wu Min (吴敏), leader of the total grid, without a login;
- He Jing (何静), street-office staff.

The noise category counts in calendar time (60 minutes to accept, 600 to
resolve), so that deadlines do not depend on the day the tests run.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from grids.models import Grid, GridKind, Place
from incidents.actors import Actor
from incidents.models import (
    ActorKind,
    Category,
    Channel,
    Incident,
    RatingValue,
    TimeBasis,
)
from incidents.workflow import (
    incident_accept,
    incident_dispatch,
    incident_mark_duplicate,
    incident_rate,
    incident_reject,
    incident_resolve,
    incident_submit,
    incident_triage,
)
from members.models import Member, Position
from tests.factories import make_assignment, make_grid, make_member, make_place

# Ticket states as the tests name them: the model's states, plus the variants
# that the transitions tell apart.
SUBMITTED = "submitted"
TRIAGE = "submitted, waiting for staff"
DISPATCHED = "dispatched"
ACCEPTED = "accepted"
RESOLVED = "resolved"
RATED_DISSATISFIED = "resolved, rated dissatisfied"
CLOSED = "closed"
REJECTED = "rejected"
DUPLICATE = "duplicate"

ALL_STATES = (
    SUBMITTED,
    TRIAGE,
    DISPATCHED,
    ACCEPTED,
    RESOLVED,
    RATED_DISSATISFIED,
    CLOSED,
    REJECTED,
    DUPLICATE,
)


@dataclass
class Office:
    total: Grid
    general: Grid
    micro: Grid
    place: Place
    noise: Category
    liu: Member
    zhou: Member
    wu: Member
    zhou_user: AbstractBaseUser
    staff_user: AbstractBaseUser

    @property
    def staff(self) -> Actor:
        return Actor(ActorKind.STAFF, user=self.staff_user)

    @property
    def mediator(self) -> Actor:
        return Actor(ActorKind.MEMBER, member=self.liu)

    def submit(self, **fields) -> Incident:
        """Submit a noise ticket at the place from the public form."""
        fields.setdefault("category_id", self.noise.pk)
        fields.setdefault("description", "楼上每晚十一点后还在装修")
        fields.setdefault("channel", Channel.PUBLIC_FORM)
        fields.setdefault("place_id", self.place.pk)
        fields.setdefault("actor", Actor.resident())
        return incident_submit(**fields)

    def ticket(self, state: str) -> Incident:
        """Return a ticket brought to ``state`` through the workflow functions."""
        incident = self.submit()
        pk = incident.pk
        if state == TRIAGE:
            incident_triage(incident_id=pk, reason="测试：等待人工分拨")
        if state in (DISPATCHED, ACCEPTED, RESOLVED, RATED_DISSATISFIED, CLOSED):
            incident_dispatch(incident_id=pk, assignee_id=self.liu.pk, actor=self.staff)
        if state in (ACCEPTED, RESOLVED, RATED_DISSATISFIED, CLOSED):
            incident_accept(incident_id=pk, actor=self.mediator)
        if state in (RESOLVED, RATED_DISSATISFIED, CLOSED):
            incident_resolve(incident_id=pk, actor=self.mediator, reply="已上门调解")
        if state == RATED_DISSATISFIED:
            incident_rate(incident_id=pk, value=RatingValue.DISSATISFIED)
        if state == CLOSED:
            incident_rate(incident_id=pk, value=RatingValue.SATISFIED)
        if state == REJECTED:
            incident_reject(incident_id=pk, actor=self.staff, reason="重复骚扰信息")
        if state == DUPLICATE:
            original = self.submit()
            incident_mark_duplicate(
                incident_id=pk, original_id=original.pk, actor=self.staff
            )
        return Incident.objects.get(pk=pk)


def build_office() -> Office:
    user_model = get_user_model()
    total = make_grid(GridKind.TOTAL, name="天瑞社区总网格")
    general = make_grid(GridKind.GENERAL, total, name="第三网格")
    micro = make_grid(GridKind.MICRO, general, name="3-2 微网格")
    place = make_place(micro, name="12 栋")
    noise = Category.objects.create(
        code="test-noise",
        name="夜间噪音",
        role="mediator",
        accept_minutes=60,
        resolve_minutes=600,
        time_basis=TimeBasis.CALENDAR,
    )

    zhou_user = user_model.objects.create_user(
        username="zhouqiang", email="zhou@example.com"
    )
    staff_user = user_model.objects.create_user(
        username="hejing", email="he@example.com", is_staff=True
    )
    liu = make_member(name="刘洋")
    zhou = make_member(name="周强", user_id=zhou_user.pk)
    wu = make_member(name="吴敏")
    make_assignment(liu, micro, roles=["mediator"])
    make_assignment(zhou, general, position=Position.LEADER)
    make_assignment(wu, total, position=Position.LEADER)
    return Office(
        total=total,
        general=general,
        micro=micro,
        place=place,
        noise=noise,
        liu=liu,
        zhou=zhou,
        wu=wu,
        zhou_user=zhou_user,
        staff_user=staff_user,
    )
