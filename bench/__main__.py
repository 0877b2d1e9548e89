"""Build the demo data set, serve it with gunicorn and measure the admin.

Prints one table: requests per second of a bare Django view (the baseline),
the admin grid changelist and one general grid's subtree listing, each with
its ratio to the baseline, plus the time that the demo data build took.
"""

import argparse
import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

from bench.client import Client, Measurement, measure
from bench.site import BenchError, BenchSite

# Goals: the subtree listing must keep at least half the baseline's
# throughput, and the demo build must finish within a minute on SQLite.
SUBTREE_RATIO_GOAL = 0.5
DEMO_SECONDS_GOAL = 60.0
# The admin grid changelist filtered to one grid and everything below it.
# The grid admin has no named subtree filter, so this uses the admin's
# query-string lookups on the model's own django-mptt columns.
DEFAULT_SUBTREE_QUERY = (
    "/admin/grids/grid/?tree_id={tree_id}&lft__gte={lft}&rght__lte={rght}"
)
PAGINATOR = re.compile(r'<p class="paginator">(.*?)</p>', re.DOTALL)
RESULT_COUNT = re.compile(r"(\d+)\s+grids?\b")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--requests", type=int, default=300, help="measured requests per admin page"
    )
    parser.add_argument(
        "--baseline-requests",
        type=int,
        default=5000,
        help="measured requests of the baseline view /healthz",
    )
    parser.add_argument(
        "--warmup", type=int, default=40, help="unmeasured requests per page first"
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="client threads sending requests"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="seconds after which a page's measurement stops early",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed passed to manage.py demo_data"
    )
    parser.add_argument(
        "--demo-timeout",
        type=float,
        default=900.0,
        help="seconds after which the demo data build counts as failed",
    )
    parser.add_argument(
        "--subtree-query",
        default=DEFAULT_SUBTREE_QUERY,
        help=(
            "path of the subtree listing; {id}, {tree_id}, {lft} and {rght} "
            "are the general grid's values"
        ),
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder and database"
    )
    arguments = parser.parse_args(argv)
    counts = (
        arguments.requests,
        arguments.baseline_requests,
        arguments.concurrency,
        arguments.workers,
    )
    if min(counts) < 1:
        parser.error(
            "--requests, --baseline-requests, --concurrency and --workers "
            "must be at least 1."
        )
    return arguments


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def largest_general_grid() -> dict[str, object]:
    """Return the general grid with the most grids below it, as query values.

    Keys: id, code, tree_id, lft, rght and size (the grid and its
    descendants).
    """
    from grids.models import Grid, GridKind

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
    """Raise BenchError unless ``path`` lists exactly one grid's subtree."""
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


def print_table(
    results: list[Measurement],
    *,
    demo_seconds: float,
    subtree_name: str,
    on_sqlite: bool,
) -> bool:
    """Print the results; return True if every goal is met."""
    baseline = results[0].rate
    met = True
    header = (
        f"{'name':<34} {'requests':>8} {'failed':>6} {'req/s':>8} {'ratio':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7}  goal"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        ratio = result.rate / baseline if baseline else 0.0
        goal = ""
        if result.name == subtree_name:
            ok = ratio >= SUBTREE_RATIO_GOAL
            met = met and ok
            goal = f">= {SUBTREE_RATIO_GOAL}: {'met' if ok else 'missed'}"
        print(
            f"{result.name:<34} {result.completed:>8} {result.failures:>6} "
            f"{result.rate:>8.1f} {ratio:>6.2f} "
            f"{result.percentile(0.5) * 1000:>7.1f} "
            f"{result.percentile(0.95) * 1000:>7.1f}  {goal}"
        )

    if not on_sqlite:
        print(f"demo data build: {demo_seconds:.1f} s (the goal applies to SQLite)")
        return met
    demo_ok = demo_seconds < DEMO_SECONDS_GOAL
    print(
        f"demo data build: {demo_seconds:.1f} s "
        f"(goal < {DEMO_SECONDS_GOAL:.0f} s on SQLite: "
        f"{'met' if demo_ok else 'missed'})"
    )
    return met and demo_ok


def run(arguments: argparse.Namespace) -> int:
    site = BenchSite(workers=arguments.workers, keep=arguments.keep)
    print(f"machine: {machine_description()}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"database: {site.database_label}")

    try:
        site.create_database()
        site.manage("migrate", "--noinput", timeout=600)
        site.manage("collectstatic", "--noinput", timeout=300)
        # The bench database is a scratch copy, so the demo's guard against
        # writing to a production database (DEBUG off) does not apply.
        demo_seconds = site.manage(
            "demo_data",
            "--seed",
            str(arguments.seed),
            "--allow-production",
            timeout=arguments.demo_timeout,
        )
        print(f"demo data built in {demo_seconds:.1f} s")

        site.apply_environment()
        import django
        from django.conf import settings

        django.setup()
        general = largest_general_grid()
        subtree_path = arguments.subtree_query.format(**general)
        subtree_size = int(general["size"])

        site.start_server()
        client = Client(site.base_url)
        client.login("demo-staff", settings.WESTGARDEN_DEMO_PASSWORD)
        check_subtree_listing(client, subtree_path, subtree_size)

        subtree_name = f"subtree of {general['code']} ({subtree_size} grids)"
        targets = [
            ("baseline /healthz", "/healthz", arguments.baseline_requests),
            ("admin grid changelist", "/admin/grids/grid/", arguments.requests),
            (subtree_name, subtree_path, arguments.requests),
        ]
        results = []
        for name, path, requests in targets:
            result = measure(
                client,
                name=name,
                path=path,
                requests=requests,
                warmup=arguments.warmup,
                concurrency=arguments.concurrency,
                time_limit=arguments.time_limit,
            )
            results.append(result)
    except (BenchError, RuntimeError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        site.stop_server()
        site.drop_database()
        site.remove()

    print(
        f"{arguments.concurrency} client threads, {arguments.workers} gunicorn "
        f"workers, {arguments.warmup} warm-up requests per page"
    )
    goals_met = print_table(
        results,
        demo_seconds=demo_seconds,
        subtree_name=subtree_name,
        on_sqlite=not site.postgres_url,
    )
    failed = sum(result.failures for result in results)
    short = [r.name for r in results if r.completed + r.failures < r.requested]

    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "machine": machine_description(),
            "database": site.database_label,
            "demo_seconds": demo_seconds,
            "results": [
                {
                    "name": r.name,
                    "path": r.path,
                    "completed": r.completed,
                    "failures": r.failures,
                    "seconds": r.seconds,
                    "rate": r.rate,
                    "statuses": r.statuses,
                }
                for r in results
            ],
        }
        arguments.json.write_text(json.dumps(record, indent=2))

    if failed:
        print(f"bench failed: {failed} requests did not return 200.", file=sys.stderr)
        return 1
    if short:
        print(
            f"bench failed: the time limit cut short {', '.join(short)}.",
            file=sys.stderr,
        )
        return 1
    if not goals_met:
        print("bench finished; a goal was missed.")
        return 1
    print("bench finished; all goals met.")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse_arguments(argv))


if __name__ == "__main__":
    sys.exit(main())
