import importlib
import os

import pytest

from tests import factories


def pytest_collection_modifyitems(config, items):
    # A run against PostgreSQL and Redis must not quietly skip the tests
    # that need them.
    required = bool(os.environ.get("WESTGARDEN_REQUIRE_SERVICES"))
    on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    on_redis = all(
        os.environ.get(name, "").startswith("redis")
        for name in ("CELERY_BROKER_URL", "CACHE_URL")
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if required:
                raise pytest.UsageError(
                    "DATABASE_URL must name PostgreSQL for this run."
                )
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://"))
        if "redis" in item.keywords and not on_redis:
            if required:
                raise pytest.UsageError(
                    "CELERY_BROKER_URL and CACHE_URL must name Redis for this run."
                )
            item.add_marker(
                pytest.mark.skip(
                    reason="needs CELERY_BROKER_URL and CACHE_URL=redis://"
                )
            )


@pytest.fixture
def tree(db):
    return factories.make_tree()


@pytest.fixture(autouse=True)
def celery_eager(request):
    """Run Celery tasks in the test process, except in tests with a real worker."""
    from westgarden.celery import app

    if "integration" in request.keywords:
        yield
        return
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def reference_data(request):
    """Put back the rows that data migrations write, for transactional tests.

    A transactional test ends by flushing every table, which also removes the
    six roles and the default categories that migrations created. Without
    this fixture, the tests that run after it would find them missing.
    """
    if not _is_transactional(request):
        yield
        return

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    roles = importlib.import_module("members.migrations.0002_seed_roles")
    categories = importlib.import_module("incidents.migrations.0002_default_categories")
    roles.seed_roles(apps, None)
    categories.create_default_categories(apps, None)
    yield
