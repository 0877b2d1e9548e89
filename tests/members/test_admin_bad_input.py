"""Member and organization changelists given filter ids that are not valid ids."""

import pytest
from django.urls import reverse

from grids.models import GridKind
from tests.factories import make_assignment, make_grid, make_member

MEMBERS_URL = reverse("admin:members_member_changelist")
ORGANIZATIONS_URL = reverse("admin:members_organization_changelist")
PARTY_URL = reverse("admin:members_partyorganization_changelist")

# Larger than any signed 64-bit integer, so SQLite cannot bind it.
TOO_LARGE = "9" * 23


@pytest.mark.parametrize(
    "url, parameter",
    [
        (MEMBERS_URL, "organization"),
        (ORGANIZATIONS_URL, "grid"),
        (PARTY_URL, "grid"),
        (PARTY_URL, "secretary"),
    ],
)
def test_changelist_too_large_id_redirects(officer_client, tree, url, parameter):
    response = officer_client.get(url, {parameter: TOO_LARGE})

    # The admin redirects to ?e=1 on IncorrectLookupParameters.
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize("value", [TOO_LARGE, "abc", "²", "0", "-1"])
def test_grid_subtree_filter_invalid_id_redirects(officer_client, tree, value):
    response = officer_client.get(MEMBERS_URL, {"grid_subtree": value})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_grid_subtree_filter_valid_id_still_filters(officer_client, tree):
    inside = make_member()
    make_assignment(inside, tree["micro"])
    other_total = make_grid(GridKind.TOTAL)
    make_assignment(make_member(), other_total)

    response = officer_client.get(MEMBERS_URL, {"grid_subtree": tree["general"].pk})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [inside]
