"""Measure the portal at Tianrui scale on a throwaway database.

A run builds the demo data set, then measures the parts chosen with --only.
pages: the staff admin and the public grid directory. tickets: the public
report form and tracking page, with many tickets in the database. routing: a
real Celery worker, against a no-op task. replay: recorded messages through
intake. sweep: the escalation sweep at scale. Pages are measured as ratios
to a bare Django view served in the same run. The page docs/benchmarks.md
describes every row and records past runs.
"""

import argparse
import datetime
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.client import Client, Measurement, measure
from bench.report import Goal, http_table, latency_table, ratio_goal, sweep_table
from bench.site import BenchError, BenchSite

PARTS = ("pages", "tickets", "routing", "replay", "sweep")

# Goals. The grid subtree listing must keep at least half the baseline's
# throughput, and the demo build must finish within a minute on SQLite.
SUBTREE_RATIO_GOAL = 0.5
DEMO_SECONDS_GOAL = 60.0
REPORT_POST_RATIO_GOAL = 0.5
TRACKING_RATIO_GOAL = 0.7
# Routing p99 may be at most this multiple of the no-op task's p99.
ROUTING_P99_FACTOR_GOAL = 3.0
# A sweep over many open tickets may take at most this multiple of the time
# of a sweep over few, with the same number overdue.
SWEEP_SCALE_FACTOR_GOAL = 1.5
SWEEP_MS_PER_TICKET_GOAL = 1.0
# "Well under one query per ticket": at most one query per ten tickets.
SWEEP_QUERIES_PER_TICKET_GOAL = 0.1

# The broker of the routing part when CELERY_BROKER_URL names none.
DEFAULT_REDIS_BROKER = "redis://127.0.0.1:6379/12"

# The admin grid changelist filtered to one grid and everything below it.
# The grid admin has no named subtree filter, so this uses the admin's
# query-string lookups on the model's own django-mptt columns.
DEFAULT_SUBTREE_QUERY = (
    "/admin/grids/grid/?tree_id={tree_id}&lft__gte={lft}&rght__lte={rght}"
)


@dataclass(frozen=True)
class Sizes:
    """Counts of one run; --quick picks the smaller column."""

    baseline_requests: int
    admin_requests: int
    tickets: int
    post_requests: int
    track_requests: int
    routing_tickets: int
    noop_tasks: int
    sweep_overdue: int
    sweep_open_large: int
    sweep_at_once: int
    replay_limit: int | None


FULL = Sizes(
    baseline_requests=5000,
    admin_requests=300,
    tickets=100_000,
    post_requests=500,
    track_requests=1000,
    routing_tickets=200,
    noop_tasks=200,
    sweep_overdue=10_000,
    sweep_open_large=1_000_000,
    sweep_at_once=100_000,
    replay_limit=None,
)
QUICK = Sizes(
    baseline_requests=1000,
    admin_requests=30,
    tickets=10_000,
    post_requests=100,
    track_requests=200,
    routing_tickets=50,
    noop_tasks=50,
    sweep_overdue=1000,
    sweep_open_large=100_000,
    sweep_at_once=10_000,
    replay_limit=100,
)


def parse_parts(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"{text!r} names no part or an unknown one ({', '.join(unknown)}); "
            f"use a comma-separated list of {', '.join(PARTS)}."
        )
    return parts


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        type=parse_parts,
        default=list(PARTS),
        help=f"comma-separated parts to run, of {','.join(PARTS)}; default all",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller counts for a check run of under 2 minutes",
    )
    counts = parser.add_argument_group(
        "counts", "each defaults to the full run's value, or the --quick one"
    )
    counts.add_argument(
        "--requests", type=int, help="measured requests per admin or grid page"
    )
    counts.add_argument(
        "--baseline-requests",
        type=int,
        help="measured requests of the baseline view /healthz",
    )
    counts.add_argument(
        "--tickets", type=int, help="tickets inserted before the ticket parts"
    )
    counts.add_argument(
        "--post-requests", type=int, help="measured POSTs of the report form"
    )
    counts.add_argument(
        "--track-requests", type=int, help="measured GETs of tracking pages"
    )
    counts.add_argument(
        "--routing-tickets", type=int, help="tickets whose routing latency is taken"
    )
    counts.add_argument(
        "--noop-tasks", type=int, help="no-op tasks whose latency is taken"
    )
    counts.add_argument(
        "--sweep-overdue",
        type=int,
        help="overdue tickets in both sweep scale cases",
    )
    counts.add_argument(
        "--sweep-open-large",
        type=int,
        help="open tickets in the large sweep scale case; 0 skips the case",
    )
    counts.add_argument(
        "--sweep-at-once",
        type=int,
        help="tickets that are overdue at once in the sweep cost case",
    )
    counts.add_argument(
        "--replay-limit", type=int, help="messages to replay; default all"
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
        "--seed", type=int, default=1, help="seed of demo_data and of the fills"
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
            "path of the admin subtree listing; {id}, {tree_id}, {lft} and "
            "{rght} are the general grid's values"
        ),
    )
    parser.add_argument(
        "--celery",
        action="store_true",
        help=(
            "run the routing part on SQLite too, with a Redis broker; without "
            "it, routing runs only when DATABASE_URL names PostgreSQL"
        ),
    )
    parser.add_argument(
        "--replay-file",
        type=Path,
        help=(
            "CSV of recorded messages for the replay part, with the columns "
            "留言主题 and 留言详情 or an NYC 311 export; without it, replay is "
            "skipped"
        ),
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder and database"
    )
    arguments = parser.parse_args(argv)

    sizes = QUICK if arguments.quick else FULL
    for name, value in asdict(sizes).items():
        if getattr(arguments, name, None) is None:
            setattr(arguments, name, value)
    if arguments.requests is not None:
        arguments.admin_requests = arguments.requests

    positive = (
        "admin_requests",
        "baseline_requests",
        "concurrency",
        "workers",
        "tickets",
        "post_requests",
        "track_requests",
        "routing_tickets",
        "noop_tasks",
        "sweep_overdue",
        "sweep_at_once",
    )
    too_small = [name for name in positive if getattr(arguments, name) < 1]
    if too_small:
        parser.error(
            "these counts must be at least 1: "
            + ", ".join("--" + name.replace("_", "-") for name in too_small)
        )
    if 0 < arguments.sweep_open_large < arguments.sweep_overdue:
        parser.error("--sweep-open-large must be 0 or at least --sweep-overdue.")
    if arguments.replay_limit is not None and arguments.replay_limit < 1:
        parser.error("--replay-limit must be at least 1.")
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


def load_average() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


@dataclass
class Run:
    """Everything a run measured, for the tables and the JSON record."""

    http: list[Measurement] = field(default_factory=list)
    http_goals: dict[str, float] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    setup: dict[str, float] = field(default_factory=dict)
    latencies: list = field(default_factory=list)
    sweeps: list = field(default_factory=list)
    replay: object = None
    # True once django.setup() has run on the bench database.
    django_ready: bool = False

    @property
    def baseline_rate(self) -> float:
        """Return the mean rate of the baseline measured before and after the pages."""
        rates = [r.rate for r in self.http if r.name.startswith("baseline ")]
        return sum(rates) / len(rates) if rates else 0.0

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.notes.append(text)


def choose_broker(arguments: argparse.Namespace, on_postgres: bool) -> tuple[str, bool]:
    """Return the broker URL ("" for the embedded one) and whether routing runs."""
    configured = os.environ.get("CELERY_BROKER_URL", "")
    if configured == "filesystem://":
        configured = ""
    routing = "routing" in arguments.only and (on_postgres or arguments.celery)
    broker = configured or (DEFAULT_REDIS_BROKER if routing else "")
    if routing and not broker.startswith(("redis://", "rediss://")):
        raise BenchError(
            f"the routing part needs a Redis broker, but CELERY_BROKER_URL is "
            f"{broker!r}; set it to redis://… or leave it unset for "
            f"{DEFAULT_REDIS_BROKER}."
        )
    return broker, routing


def prepare_database(site: BenchSite, arguments: argparse.Namespace, run: Run) -> None:
    """Create and migrate the bench database and build the demo data in it."""
    site.create_database()
    site.manage("migrate", "--noinput", timeout=600)
    site.manage("collectstatic", "--noinput", timeout=300)
    try:
        site.manage("sync_calendar", timeout=120)
    except BenchError as error:
        # As in bin/run: deadlines then count Monday to Friday for a year
        # that the calendar package does not know yet.
        run.note(f"sync_calendar failed, deadlines use weekdays only: {error}")
    # The bench database is a scratch copy, so the demo's guard against
    # writing to a production database (DEBUG off) does not apply.
    run.setup["demo_seconds"] = site.manage(
        "demo_data",
        "--seed",
        str(arguments.seed),
        "--allow-production",
        timeout=arguments.demo_timeout,
    )
    run.note(f"demo data built in {run.setup['demo_seconds']:.1f} s")


def fill_ticket_database(arguments: argparse.Namespace, run: Run) -> None:
    from bench.fill import fill_tickets

    filled = fill_tickets(arguments.tickets, seed=arguments.seed)
    run.setup["ticket_fill_seconds"] = filled.seconds
    run.note(
        f"ticket fill: {filled.tickets} tickets and {filled.events} events "
        f"inserted in {filled.seconds:.1f} s"
    )


def measure_get(
    client: Client,
    name: str,
    path: str,
    requests: int,
    arguments: argparse.Namespace,
) -> Measurement:
    return measure(
        client,
        name=name,
        path=path,
        requests=requests,
        warmup=arguments.warmup,
        concurrency=arguments.concurrency,
        time_limit=arguments.time_limit,
    )


def measure_baseline(
    site: BenchSite, arguments: argparse.Namespace, when: str
) -> Measurement:
    return measure_get(
        Client(site.base_url),
        f"baseline /healthz, {when}",
        "/healthz",
        arguments.baseline_requests,
        arguments,
    )


def run_pages(site: BenchSite, arguments: argparse.Namespace, run: Run) -> None:
    """Measure the admin changelist and a general grid's subtree listings."""
    from django.conf import settings

    from bench.pages import (
        check_subtree_listing,
        grid_directory_path,
        largest_general_grid,
    )

    general = largest_general_grid()
    size = int(general["size"])
    admin_subtree = arguments.subtree_query.format(**general)
    staff = Client(site.base_url)
    staff.login("demo-staff", settings.WESTGARDEN_DEMO_PASSWORD)
    check_subtree_listing(staff, admin_subtree, size)
    public = Client(site.base_url)
    directory = grid_directory_path(public, general)

    requests = arguments.admin_requests
    run.http.append(
        measure_get(
            staff, "admin grid changelist", "/admin/grids/grid/", requests, arguments
        )
    )
    subtree = f"subtree of {general['code']} ({size} grids)"
    if directory is None:
        run.note(
            f"GET /grids/{general['code']}/ returned 404: no public grid "
            "directory page yet, so the admin subtree listing carries the goal."
        )
        name = f"{subtree}, admin"
        run.http.append(measure_get(staff, name, admin_subtree, requests, arguments))
    else:
        name = f"{subtree}, /grids/"
        run.http.append(measure_get(public, name, directory, requests, arguments))
        run.http.append(
            measure_get(staff, f"{subtree}, admin", admin_subtree, requests, arguments)
        )
    run.http_goals[name] = SUBTREE_RATIO_GOAL


def run_tickets(site: BenchSite, arguments: argparse.Namespace, run: Run) -> None:
    """Measure GET and POST of the report form and GET of tracking pages."""
    from collections import deque

    from bench.tickets import (
        LoadShape,
        measure_references,
        measure_report_get,
        measure_report_post,
        measure_tracking,
        report_form_choices,
    )

    resident = Client(site.base_url)
    categories = report_form_choices(resident)
    shape = LoadShape(
        requests=arguments.post_requests,
        warmup=arguments.warmup,
        concurrency=arguments.concurrency,
        time_limit=arguments.time_limit,
    )
    forms: deque = deque()
    # Every GET, warm-up included, gives one form; the POSTs need one each
    # for their own warm-up and measured requests.
    get_shape = LoadShape(
        requests=arguments.post_requests + arguments.warmup,
        warmup=arguments.warmup,
        concurrency=arguments.concurrency,
        time_limit=arguments.time_limit,
    )
    run.http.append(measure_report_get(resident, get_shape, forms))
    post = measure_report_post(
        resident, shape, forms, categories=categories, seed=arguments.seed
    )
    run.http.append(post)
    run.http_goals[post.name] = REPORT_POST_RATIO_GOAL

    track_shape = LoadShape(
        requests=arguments.track_requests,
        warmup=arguments.warmup,
        concurrency=arguments.concurrency,
        time_limit=arguments.time_limit,
    )
    tracking = measure_tracking(resident, track_shape, seed=arguments.seed)
    run.http.append(tracking)
    run.http_goals[tracking.name] = TRACKING_RATIO_GOAL
    # What a page that reads or writes one row can reach, for comparison.
    run.http.extend(measure_references(resident, track_shape, seed=arguments.seed))


def run_routing(site: BenchSite, arguments: argparse.Namespace, run: Run) -> None:
    """Measure no-op task and routing latency with a real Celery worker."""
    from bench.routing import (
        measure_assign_only,
        measure_noop,
        measure_routing,
        start_workers,
    )

    try:
        start_workers(site)
        warmup = 5
        round_trip, noop = measure_noop(arguments.noop_tasks, warmup=warmup)
        routing, from_insert = measure_routing(
            site, arguments.routing_tickets, warmup=warmup, seed=arguments.seed
        )
        assign_only = measure_assign_only(
            arguments.routing_tickets, warmup=warmup, seed=arguments.seed + 1
        )
    finally:
        site.stop_workers()
    # The first row is the reference of the table's ratios and of the goal:
    # like the routing rows, it ends inside the task, not back in this process.
    run.latencies = [noop, round_trip, routing, from_insert, assign_only]
    if routing.not_dispatched:
        run.note(
            f"routing sent {routing.not_dispatched} of {arguments.routing_tickets} "
            "tickets to staff triage; they have no latency."
        )
    limit = ROUTING_P99_FACTOR_GOAL * noop.percentile(0.99)
    measured = routing.percentile(0.99)
    run.goals.append(
        Goal(
            "routing p99 against the no-op task's p99",
            f"<= {ROUTING_P99_FACTOR_GOAL:.0f} x {noop.percentile(0.99) * 1000:.1f} ms",
            f"{measured * 1000:.1f} ms",
            bool(routing.seconds) and measured <= limit,
        )
    )


def run_replay(arguments: argparse.Namespace, run: Run) -> None:
    from bench.replay import run_replay as replay_file

    path = arguments.replay_file
    if path is None:
        run.note("replay skipped: pass a message CSV with --replay-file.")
        return
    if not path.is_file():
        run.note(f"replay skipped: {path} does not exist.")
        return
    run.replay = replay_file(path, limit=arguments.replay_limit, seed=arguments.seed)


def run_sweep(arguments: argparse.Namespace, run: Run) -> None:
    """Time the sweep over few and many open tickets, then over many overdue."""
    from bench.sweep import run_case

    overdue = arguments.sweep_overdue
    small = run_case(
        f"{overdue} open, all overdue",
        open_tickets=overdue,
        overdue=overdue,
        seed=arguments.seed,
    )
    run.sweeps.append(small)
    if arguments.sweep_open_large:
        large = run_case(
            f"{arguments.sweep_open_large} open, {overdue} overdue",
            open_tickets=arguments.sweep_open_large,
            overdue=overdue,
            seed=arguments.seed,
        )
        run.sweeps.append(large)
        factor = large.sweep_seconds / small.sweep_seconds
        run.goals.append(
            Goal(
                "sweep time, many open tickets against few",
                f"<= {SWEEP_SCALE_FACTOR_GOAL}x",
                f"{factor:.2f}x",
                factor <= SWEEP_SCALE_FACTOR_GOAL,
            )
        )
    else:
        run.note("sweep: the large case is skipped (--sweep-open-large 0).")

    at_once = run_case(
        f"{arguments.sweep_at_once} overdue at once",
        open_tickets=arguments.sweep_at_once,
        overdue=arguments.sweep_at_once,
        seed=arguments.seed,
        count_queries=True,
        sweep_again=True,
    )
    run.sweeps.append(at_once)
    run.goals.append(
        Goal(
            "sweep time per escalated ticket",
            f"< {SWEEP_MS_PER_TICKET_GOAL} ms",
            f"{at_once.ms_per_escalated:.3f} ms",
            at_once.escalated > 0
            and at_once.ms_per_escalated < SWEEP_MS_PER_TICKET_GOAL,
        )
    )
    per = at_once.queries_per_escalated
    run.goals.append(
        Goal(
            "sweep queries per escalated ticket",
            f"<= {SWEEP_QUERIES_PER_TICKET_GOAL}",
            "unknown" if per is None else f"{per:.4f}",
            per is not None
            and not at_once.queries_capped
            and per <= SWEEP_QUERIES_PER_TICKET_GOAL,
        )
    )
    run.goals.append(
        Goal(
            "second sweep right after the first",
            "escalates 0",
            f"escalates {at_once.second_escalated}",
            at_once.second_escalated == 0,
        )
    )


def print_results(arguments: argparse.Namespace, run: Run, site: BenchSite) -> None:
    if run.http:
        print()
        print(
            f"{arguments.concurrency} client threads, {arguments.workers} gunicorn "
            f"workers, {arguments.warmup} warm-up requests per page"
        )
        print(f"ratios to the mean baseline rate, {run.baseline_rate:.1f} requests/s")
        for line in http_table(run.http, run.baseline_rate, run.http_goals):
            print(line)
    if run.latencies:
        print()
        print("Celery router and worker, solo pool each, broker " + site.broker_label)
        for line in latency_table(run.latencies, run.latencies[0]):
            print(line)
    if run.replay is not None:
        replay = run.replay
        print()
        print(
            f"replay: {replay.read} messages read, "
            f"{replay.created} tickets created, {replay.routed} routed, "
            f"{replay.seconds:.1f} s, {replay.rate:.1f} tickets/s"
        )
    if run.sweeps:
        print()
        for line in sweep_table(run.sweeps):
            print(line)
        at_once = run.sweeps[-1]
        print(
            f"second sweep right after the last: {at_once.second_escalated} "
            f"escalated in {at_once.second_seconds:.2f} s"
        )

    print()
    print("setup seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in run.setup.items()))
    print("goals:")
    for goal in run.goals:
        print("  " + goal.line())


def add_page_goals(run: Run, on_postgres: bool) -> None:
    """Put the goals of the HTTP rows and of the demo build first in ``run.goals``."""
    goals = []
    for result in run.http:
        minimum = run.http_goals.get(result.name)
        if minimum is not None:
            goals.append(ratio_goal(result, run.baseline_rate, minimum))
    demo = run.setup.get("demo_seconds")
    if demo is not None and not on_postgres:
        goals.append(
            Goal(
                "demo data build on SQLite",
                f"< {DEMO_SECONDS_GOAL:.0f} s",
                f"{demo:.1f} s",
                demo < DEMO_SECONDS_GOAL,
            )
        )
    run.goals = goals + run.goals


def write_json(path: Path, run: Run, site: BenchSite) -> None:
    record = {
        "machine": machine_description(),
        "database": site.database_label,
        "broker": site.broker_label,
        "setup": run.setup,
        "notes": run.notes,
        "http": [
            {
                "name": r.name,
                "path": r.path,
                "completed": r.completed,
                "failures": r.failures,
                "seconds": r.seconds,
                "rate": r.rate,
                "p50": r.percentile(0.5),
                "p95": r.percentile(0.95),
                "statuses": r.statuses,
            }
            for r in run.http
        ],
        "latencies": [
            {
                "name": row.name,
                "count": len(row.seconds),
                "p50": row.percentile(0.5),
                "p99": row.percentile(0.99),
            }
            for row in run.latencies
        ],
        "sweeps": [asdict(case) for case in run.sweeps],
        "replay": None
        if run.replay is None
        else {**asdict(run.replay), "path": str(run.replay.path)},
        "goals": [asdict(goal) for goal in run.goals],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False))


def run_parts(
    site: BenchSite, arguments: argparse.Namespace, run: Run, routing: bool
) -> None:
    parts = arguments.only
    prepare_database(site, arguments, run)

    site.apply_environment()
    import django

    django.setup()
    run.django_ready = True
    if site.broker_url:
        from bench.routing import purge_queue

        purge_queue()

    if {"tickets", "routing", "replay"} & set(parts):
        fill_ticket_database(arguments, run)

    if {"pages", "tickets"} & set(parts):
        site.start_server()
        run.http.append(measure_baseline(site, arguments, "before"))
        if "pages" in parts:
            run_pages(site, arguments, run)
        if "tickets" in parts:
            run_tickets(site, arguments, run)
        run.http.append(measure_baseline(site, arguments, "after"))
        # The later parts run in this process; the server would only take CPU.
        site.stop_server()

    if "routing" in parts:
        if routing:
            run_routing(site, arguments, run)
        else:
            run.note(
                "routing skipped: it needs PostgreSQL and Redis, and this run is "
                "on the embedded defaults; pass --celery to run it with a Redis "
                "broker anyway."
            )
    if "replay" in parts:
        run_replay(arguments, run)
    if "sweep" in parts:
        run_sweep(arguments, run)


def run(arguments: argparse.Namespace) -> int:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(
        ("postgres://", "postgresql://")
    )
    try:
        broker, routing = choose_broker(arguments, on_postgres)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    site = BenchSite(workers=arguments.workers, keep=arguments.keep, broker_url=broker)
    result = Run()
    print(f"machine: {machine_description()}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"database: {site.database_label}")
    print(f"broker: {site.broker_label}")
    print(f"parts: {', '.join(arguments.only)}{' (quick)' if arguments.quick else ''}")
    print(f"load average before: {load_average()}", flush=True)

    try:
        run_parts(site, arguments, result, routing)
    except (BenchError, RuntimeError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        site.stop_server()
        site.stop_workers()
        if site.broker_url and result.django_ready:
            from bench.routing import purge_queue

            purge_queue()
        site.drop_database()
        site.remove()

    print(f"load average after: {load_average()}")
    add_page_goals(result, on_postgres)
    print_results(arguments, result, site)
    if arguments.json:
        write_json(arguments.json, result, site)

    failed = sum(r.failures for r in result.http)
    short = [r.name for r in result.http if r.completed + r.failures < r.requested]
    if failed:
        first = next(r for r in result.http if r.failures)
        print(
            f"bench failed: {failed} requests did not succeed; the first of "
            f"{first.name}: {first.first_failure}",
            file=sys.stderr,
        )
        return 1
    if short:
        print(
            f"bench failed: the time limit cut short {', '.join(short)}.",
            file=sys.stderr,
        )
        return 1
    if not all(goal.met for goal in result.goals):
        print("bench finished; a goal was missed.")
        return 1
    print("bench finished; all goals met.")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse_arguments(argv))


if __name__ == "__main__":
    sys.exit(main())
