"""Error pages, NUL characters and log redaction, site-wide."""

import logging

import pytest
from django.test import override_settings

from westgarden.logs import RedactTrackingCodes


@pytest.mark.parametrize(
    "path",
    ["/report/places?q=%00", "/report/?place=%00", "/qr/a%00b/poster/"],
)
def test_nul_character_rejected_with_400(client, db, path):
    response = client.get(path)

    assert response.status_code == 400


@override_settings(DEBUG=False)
def test_404_page_is_translated(client, db):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 404
    assert "找不到页面".encode() in response.content


def test_csrf_failure_page_explains(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/track/", {"code": "X"})

    assert response.status_code == 403
    assert "表单已过期".encode() in response.content


def test_log_filter_hides_tracking_codes():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/track/K7Q2M-9XDPA/",),
        None,
    )

    RedactTrackingCodes().filter(record)

    assert record.getMessage() == "Not Found: /track/<code>/"


def test_deploy_check_warns_about_local_cache(settings):
    from westgarden.checks import check_shared_cache

    settings.DEBUG = False
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }

    assert [message.id for message in check_shared_cache(None)] == ["westgarden.W002"]


def test_deploy_check_quiet_with_redis(settings):
    from westgarden.checks import check_shared_cache

    settings.DEBUG = False
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
        }
    }

    assert check_shared_cache(None) == []


def test_django_logger_redacts_codes():
    # Django's own logging would otherwise add an unfiltered console handler
    # while DEBUG is on. pytest adds capture handlers of its own.
    django_logger = logging.getLogger("django")
    consoles = [
        handler
        for handler in django_logger.handlers
        if type(handler) is logging.StreamHandler
    ]

    assert len(consoles) == 1
    assert any(isinstance(item, RedactTrackingCodes) for item in consoles[0].filters)
    assert django_logger.propagate is False
