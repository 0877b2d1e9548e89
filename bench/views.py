"""Reference views: the least that a page of each kind must do.

Each reads or writes one ticket row by its tracking code and nothing else,
so its ratio to the baseline bounds what a real page that needs the
database can reach on the same server. Only the benchmark serves them.
"""

import functools
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.template import engines
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.models import Incident


def _state(code: str) -> str:
    state = (
        Incident.objects.filter(tracking_code=code)
        .values_list("state", flat=True)
        .first()
    )
    if state is None:
        raise Http404
    return state


@functools.cache
def _page_template() -> Any:
    return engines["django"].from_string(
        '{% extends "public/page.html" %}'
        '{% block content %}<div class="card"><p>{{ state }}</p></div>{% endblock %}'
    )


def one_row(request: HttpRequest, code: str) -> HttpResponse:
    """Read one ticket's state by its code and return it as plain text."""
    return HttpResponse(_state(code), content_type="text/plain")


def one_row_page(request: HttpRequest, code: str) -> HttpResponse:
    """Read one ticket's state and show it in the public page layout."""
    return HttpResponse(_page_template().render({"state": _state(code)}, request))


@csrf_exempt
@require_POST
def one_row_write(request: HttpRequest) -> HttpResponse:
    """Update one ticket row, found by the posted code, in its own commit.

    Without the CSRF check, a form or a redirect, this does less than any
    real form POST.
    """
    code = request.POST.get("code", "")
    updated = Incident.objects.filter(tracking_code=code).update(
        updated_at=timezone.now()
    )
    if not updated:
        raise Http404
    return HttpResponse("ok", content_type="text/plain")
