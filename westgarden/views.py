"""Site-wide pages: the home page, the member start page, logins and health checks."""

import logging
from collections.abc import Callable

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


def rate_limited_page(request: HttpRequest, wait_seconds: int) -> HttpResponse:
    """Return the 429 page, with Retry-After set to ``wait_seconds``."""
    response = render(
        request,
        "public/rate_limited.html",
        {"wait_minutes": (wait_seconds + 59) // 60},
        status=429,
    )
    response["Retry-After"] = str(wait_seconds)
    return response


def _login_attempts_used_up(request: HttpRequest) -> int | None:
    """Count a login POST; return the seconds to wait if it is over a limit.

    One count per client IP and one per username typed, both in the same
    group and at WESTGARDEN_LOGIN_RATE.
    """
    if request.method != "POST":
        return None
    rate = settings.WESTGARDEN_LOGIN_RATE
    for key in ("ip", "post:username"):
        usage = get_usage(
            request, group=LOGIN_GROUP, key=key, rate=rate, increment=True
        )
        if usage is not None and usage["should_limit"]:
            logger.warning("login rate limit reached key=%s", key.split(":")[0])
            return max(int(usage["time_left"]), 1)
    return None


LoginView = Callable[..., HttpResponseBase]


def rate_limited_login(view: LoginView) -> LoginView:
    """Wrap a login view so that guessing passwords hits a limit (HTTP 429)."""

    def wrapped(
        request: HttpRequest, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        wait_seconds = _login_attempts_used_up(request)
        if wait_seconds is None:
            return view(request, *args, **kwargs)
        return rate_limited_page(request, wait_seconds)

    return wrapped


member_login = rate_limited_login(
    auth_views.LoginView.as_view(
        template_name="mobile/login.html", authentication_form=LoginForm
    )
)
