"""Site-wide pages: the home page, the member start page, logins and health checks."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_ratelimit.core import get_usage

from incidents.views_mobile import member_login_required
from westgarden.forms import LoginForm

logger = logging.getLogger(__name__)

LOGIN_GROUP = "login"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html")


@member_login_required
def mobile_home(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None)
    return render(request, "mobile/home.html", {"member": member})


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Return a constant body; the benchmark also uses it as its baseline view."""
    return HttpResponse("ok", content_type="text/plain")


def rate_limited_page(
    request: HttpRequest, wait_seconds: int, *, login_name: bool = False
) -> HttpResponse:
    """Return the 429 page, with Retry-After set to ``wait_seconds``.

    With ``login_name``, the page names the login name typed, not the
    network, as what reached the limit.
    """
    response = render(
        request,
        "public/rate_limited.html",
        {"wait_minutes": (wait_seconds + 59) // 60, "login_name": login_name},
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


# One count per client IP and one per login name typed.
LOGIN_KEYS = ("ip", "post:username")


def _login_usage(request: HttpRequest, *, increment: bool) -> list[tuple[str, Any]]:
    """Return each login key with its usage of WESTGARDEN_LOGIN_RATE."""
    return [
        (
            key,
            get_usage(
                request,
                group=LOGIN_GROUP,
                key=key,
                rate=settings.WESTGARDEN_LOGIN_RATE,
                increment=increment,
            ),
        )
        for key in LOGIN_KEYS
    ]


def _failed_logins_over_limit(request: HttpRequest) -> tuple[str, int] | None:
    """Return the key over WESTGARDEN_LOGIN_RATE and the seconds to wait, or None."""
    for key, usage in _login_usage(request, increment=False):
        if usage is not None and usage["count"] >= usage["limit"]:
            return key, max(int(usage["time_left"]), 1)
    return None


LoginView = Callable[..., HttpResponseBase]


def rate_limited_login(view: LoginView) -> LoginView:
    """Wrap a login view so that guessing passwords hits a limit (HTTP 429).

    Only failed attempts count, so that a member who signs in often is never
    locked out by their own successes.
    """

    def wrapped(
        request: HttpRequest, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)

        over = _failed_logins_over_limit(request)
        if over is not None:
            key, wait_seconds = over
            logger.warning("login rate limit reached key=%s", key.split(":")[0])
            return rate_limited_page(request, wait_seconds, login_name=key != "ip")

        response = view(request, *args, **kwargs)
        # A successful login redirects; a failed one shows the form again.
        if response.status_code != 302:
            _login_usage(request, increment=True)
        return response

    return wrapped


member_login = rate_limited_login(
    auth_views.LoginView.as_view(
        template_name="mobile/login.html", authentication_form=LoginForm
    )
)
