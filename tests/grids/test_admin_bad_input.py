"""Grid and place changelists given filter ids that do not fit 64 bits."""

import pytest
from django.urls import reverse

from tests.factories import make_place

GRIDS_URL = reverse("admin:grids_grid_changelist")
PLACES_URL = reverse("admin:grids_place_changelist")

# Larger than any signed 64-bit integer, so SQLite cannot bind it.
TOO_LARGE = "9" * 23


@pytest.mark.parametrize(
    "url, parameter",
    [(GRIDS_URL, "parent"), (PLACES_URL, "grid"), (PLACES_URL, "grid__in")],
)
@pytest.mark.parametrize("value", [TOO_LARGE, "abc"])
def test_changelist_invalid_id_redirects(officer_client, tree, url, parameter, value):
    response = officer_client.get(url, {parameter: value})

    # The admin redirects to ?e=1 on IncorrectLookupParameters.
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_place_changelist_valid_grid_still_filters(officer_client, tree):
    place = make_place(tree["micro"])
    make_place(tree["dedicated"])

    response = officer_client.get(PLACES_URL, {"grid": tree["micro"].pk})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [place]
