import pytest

from tests.grids.conftest import GRID_PERMISSIONS, make_staff

MEMBER_PERMISSIONS = [
    *GRID_PERMISSIONS,
    *(
        f"{verb}_{model}"
        for verb in ("add", "change", "delete", "view")
        for model in ("organization", "partyorganization")
    ),
]


@pytest.fixture
def officer(db):
    """Street-office staff who keep rosters, organizations and party groups."""
    return make_staff("officer", MEMBER_PERMISSIONS)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client
