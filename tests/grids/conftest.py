import pytest
from django.contrib.auth.models import Permission, User


def make_staff(username: str, codenames: list[str]) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


GRID_PERMISSIONS = [
    f"{verb}_{model}"
    for verb in ("add", "change", "delete", "view")
    for model in ("grid", "place", "member", "assignment")
]


@pytest.fixture
def officer(db) -> User:
    """Street-office staff who keep the grid tree and its places."""
    return make_staff("officer", GRID_PERMISSIONS)


@pytest.fixture
def clerk(db) -> User:
    """Community staff who may look at the grid tree but not change it."""
    return make_staff("clerk", ["view_grid", "view_place"])


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client
