"""Checks of the grid pages before they are measured: do they list one subtree?

Import this module only after django.setup().
"""

import html
import re

from bench.client import Client
from bench.site import BenchError
from grids.models import Grid, GridKind

PAGINATOR = re.compile(r'<p class="paginator">(.*?)</p>', re.DOTALL)
RESULT_COUNT = re.compile(r"(\d+)\s+grids?\b")
GRID_DIRECTORY = "/grids/{code}/"


def largest_general_grid() -> dict[str, object]:
    """Return the general grid with the most grids below it, as query values.

    Keys: id, code, tree_id, lft, rght and size (the grid and its
    descendants).
    """
    generals = Grid.objects.filter(kind=GridKind.GENERAL).order_by("code")
    best = max(generals, key=lambda grid: grid.rght - grid.lft, default=None)
    if best is None:
        raise BenchError("demo_data created no general grid to list the subtree of.")
    return {
        "id": best.pk,
        "code": best.code,
        "tree_id": best.tree_id,
        "lft": best.lft,
        "rght": best.rght,
        "size": (best.rght - best.lft + 1) // 2,
    }


def listed_count(body: str) -> int | None:
    """Return the result count that the admin changelist prints, if any."""
    paginator = PAGINATOR.search(body)
    if paginator is None:
        return None
    text = re.sub(r"<[^>]+>", " ", paginator.group(1))
    match = RESULT_COUNT.search(text)
    return int(match.group(1)) if match else None


def check_subtree_listing(client: Client, path: str, subtree_size: int) -> None:
    """Raise BenchError unless the admin ``path`` lists exactly one grid's subtree."""
    response = client.get(path)
    if response.status != 200:
        location = response.headers.get("Location", "")
        raise BenchError(
            f"GET {path} returned {response.status} {location}; the admin grid "
            "changelist has no subtree filter under that name. Pass the right "
            "path with --subtree-query."
        )

    count = listed_count(response.body)
    # The listing may or may not include the general grid itself.
    if count not in (subtree_size, subtree_size - 1):
        raise BenchError(
            f"GET {path} lists {count} grids, but the subtree contains "
            f"{subtree_size}; the filter is ignored or filters something else."
        )


def grid_directory_path(client: Client, general: dict[str, object]) -> str | None:
    """Return the path of the public grid directory page of ``general``, if any.

    Return None when the page does not exist (404). Raise BenchError for any
    other status, or when a grid below the general grid appears on the page
    neither by name nor by code.
    """
    path = GRID_DIRECTORY.format(code=general["code"])
    response = client.get(path)
    if response.status == 404:
        return None
    if response.status != 200:
        raise BenchError(f"GET {path} returned {response.status}, not 200 or 404.")

    below = Grid.objects.filter(
        tree_id=general["tree_id"],
        lft__gt=general["lft"],
        rght__lt=general["rght"],
        is_active=True,
    ).values_list("code", "name")
    missing = [
        code
        for code, name in below
        if html.escape(name) not in response.body
        and html.escape(code) not in response.body
    ]
    if missing:
        raise BenchError(
            f"GET {path} does not show {len(missing)} of the grids below "
            f"{general['code']}, such as {missing[0]}; it lists no subtree."
        )
    return path
