from incidents.actors import Actor
from incidents.models import Category, Channel, State
from incidents.routing import incident_route
from incidents.workflow import incident_accept, incident_resolve, incident_submit
from members.models import Position
from tests.factories import make_assignment, make_member, make_place


def test_submitted_ticket_routes_to_role_holder(
    tree, django_capture_on_commit_callbacks
):
    category = Category.objects.create(code="noise", name="噪音", role="mediator")
    place = make_place(tree["micro"])
    mediator = make_member()
    make_assignment(mediator, tree["micro"], roles=["mediator"])
    leader = make_member()
    make_assignment(leader, tree["micro"], position=Position.LEADER)

    with django_capture_on_commit_callbacks(execute=False):
        incident = incident_submit(
            category_id=category.pk,
            description="楼上每晚噪音",
            channel=Channel.PUBLIC_FORM,
            place_id=place.pk,
            actor=Actor.resident(),
        )
    routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.DISPATCHED
    assert routed.assignee == mediator
    assert routed.accept_deadline is not None
    accepted = incident_accept(
        incident_id=incident.pk, actor=Actor("member", member=mediator)
    )
    assert accepted.state == State.ACCEPTED
    resolved = incident_resolve(
        incident_id=incident.pk, actor=Actor("member", member=mediator), reply="已调解"
    )
    assert resolved.state == State.RESOLVED
