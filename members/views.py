"""Public grid directory: find your grid and its grid members, no login needed.

Each grid's page shows its members' three displays (三亮): identity, duties
and public commitment, with phone numbers masked. The page body is cached
(members.cache); the layout around it is rendered per request because it
carries the visitor's CSRF token.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from members.cache import cached_fragment
from members.queries import (
    PLACE_LIMIT,
    SUBGRID_LIMIT,
    grid_directory_page,
    grid_directory_roots,
)


@require_safe
def grid_directory(request: HttpRequest) -> HttpResponse:
    fragment = cached_fragment("index", _render_directory)
    return render(
        request, "public/grid_directory.html", {"body": mark_safe(fragment["body"])}
    )


@require_safe
def grid_detail(request: HttpRequest, code: str) -> HttpResponse:
    fragment = cached_fragment(f"grid:{code}", lambda: _render_grid(code))
    if fragment is None:
        raise Http404("No active grid has this code.")
    context = {"title": fragment["title"], "body": mark_safe(fragment["body"])}
    return render(request, "public/grid_detail.html", context)


def _render_directory() -> dict[str, str]:
    context = {"roots": grid_directory_roots(), "separator": _list_separator()}
    return {"body": render_to_string("public/_grid_directory.html", context)}


def _render_grid(code: str) -> dict[str, str] | None:
    page = grid_directory_page(code)
    if page is None:
        return None

    context = {
        "page": page,
        "grid": page.grid,
        "place_limit": PLACE_LIMIT,
        "subgrid_limit": SUBGRID_LIMIT,
        "separator": _list_separator(),
    }
    return {
        "title": page.grid.name,
        "body": render_to_string("public/_grid_detail.html", context),
    }


def _list_separator() -> str:
    return pgettext("separator between names in a list", ", ")
