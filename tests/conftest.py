import os

import pytest

from tests import factories


def pytest_collection_modifyitems(config, items):
    # A run against PostgreSQL must not quietly skip the tests that need it.
    on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if os.environ.get("WESTGARDEN_REQUIRE_SERVICES"):
                raise pytest.UsageError("DATABASE_URL must name PostgreSQL for this run.")
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://"))


@pytest.fixture
def tree(db):
    return factories.make_tree()
