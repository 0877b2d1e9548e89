"""Site-wide pages: the home page, the member start page and health checks."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html")


@login_required
def mobile_home(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None)
    return render(request, "mobile/home.html", {"member": member})


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Return a constant body; the benchmark also uses it as its baseline view."""
    return HttpResponse("ok", content_type="text/plain")
