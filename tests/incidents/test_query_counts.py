"""Query counts of the tracking page and of routing in cases the other tests skip.

The tracking page reads a ticket in three queries: the ticket with its
relations, its public events and its public photos. Routing dispatches a
ticket in eight, counting the two savepoint statements of the test
transaction. These tests check a duplicate ticket and a ticket routed to a
member who has a login.
"""

import pytest
from django.core.cache import cache
from django.test import Client

from incidents.models import Category, State
from incidents.routing import incident_route
from tests.incidents.tickets import DUPLICATE, Office, build_office


@pytest.fixture
def office(db) -> Office:
    return build_office()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start with no rate-limit counts, and leave none behind."""
    cache.clear()
    yield
    cache.clear()


def test_duplicate_page_query_count(office, django_assert_num_queries):
    duplicate = office.ticket(DUPLICATE)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    # The original's state and reply come with the ticket, and its public
    # events take one more query.
    with django_assert_num_queries(4):
        response = client.get(f"/track/{duplicate.display_code}/")

    assert response.status_code == 200
    assert 'id="original-progress"' in response.content.decode()


def test_route_to_member_with_login_query_count(office, django_assert_num_queries):
    # Nobody has the inspector role, and the micro grid has no leader, so
    # the ticket goes to Zhou Qiang, who leads the general grid and has a
    # login with an e-mail address.
    category = Category.objects.create(
        code="test-hazard", name="消防通道堵塞", role="inspector"
    )
    incident = office.submit(category_id=category.pk)

    # Eight queries, as for a member without a login: the user comes with
    # the grid chain.
    with django_assert_num_queries(8):
        routed = incident_route(incident_id=incident.pk)

    assert routed.state == State.DISPATCHED
    assert routed.assignee_id == office.zhou.pk
