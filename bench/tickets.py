"""The public ticket pages under load: the report form POST and the tracking page.

Import this module only after django.setup().
"""

import itertools
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bench.client import Client, Measurement, Response, measure
from bench.site import BenchError
from grids.models import Place
from incidents.models import Incident, format_tracking_code

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CATEGORY_OPTION = re.compile(r'<option value="(\d+)"')
REPORT_PATH = "/report/"
DONE_PATH = "/report/done/"


@dataclass(frozen=True)
class LoadShape:
    """Load on one page: requests, warm-up requests, threads and time limit."""

    requests: int
    warmup: int
    concurrency: int
    time_limit: float


@dataclass(frozen=True)
class ReportForm:
    """The hidden fields of one GET of the report form: CSRF token and key."""

    csrf_token: str
    idempotency_key: str


def parse_report_form(body: str) -> ReportForm | None:
    fields = dict(HIDDEN_INPUT.findall(body))
    token = fields.get("csrfmiddlewaretoken")
    key = fields.get("idempotency_key")
    if not token or not key:
        return None
    return ReportForm(token, key)


def report_form_choices(client: Client) -> list[int]:
    """GET the report form once; return its category ids.

    The GET also gives ``client`` the CSRF cookie, so that the tokens of every
    later form fetched by a copy of it are valid for every other copy.
    """
    page = client.get(REPORT_PATH)
    categories = [int(value) for value in CATEGORY_OPTION.findall(page.body)]
    if page.status != 200 or parse_report_form(page.body) is None or not categories:
        raise BenchError(
            f"GET {REPORT_PATH} returned {page.status} without the CSRF token, "
            "the idempotency key or any category."
        )
    return categories


def measure_report_get(
    client: Client, shape: LoadShape, forms: deque[ReportForm]
) -> Measurement:
    """Measure GET /report/ and keep the hidden fields of every page in ``forms``."""

    def send(own: Client) -> Response:
        response = own.get(REPORT_PATH)
        form = parse_report_form(response.body) if response.status == 200 else None
        if form is not None:
            forms.append(form)
        return response

    return measure(
        client,
        name="report form GET",
        path=REPORT_PATH,
        requests=shape.requests,
        warmup=shape.warmup,
        concurrency=shape.concurrency,
        time_limit=shape.time_limit,
        send=send,
    )


def measure_report_post(
    client: Client,
    shape: LoadShape,
    forms: deque[ReportForm],
    *,
    categories: list[int],
    seed: int,
) -> Measurement:
    """POST one new report per fetched form; count only redirects to /report/done/.

    Each POST uses the CSRF token and the idempotency key of a form that a
    GET returned and no other POST used. The redirect is not followed.
    """
    needed = shape.requests + max(1, shape.warmup // shape.concurrency) * (
        shape.concurrency
    )
    if len(forms) < needed:
        raise BenchError(
            f"the report POST needs {needed} fetched forms, but only {len(forms)} "
            "GETs of the form succeeded."
        )
    rng = random.Random(seed)
    place_codes = list(
        Place.objects.filter(is_active=True, grid__is_active=True)
        .order_by("pk")
        .values_list("code", flat=True)
    )
    # Drawn up front: random.Random is not meant to be shared between threads.
    bodies = deque(
        {
            "category": str(rng.choice(categories)),
            "place": rng.choice(place_codes),
            "subject": "Blocked fire exit",
            "description": f"Bench report {number}: bicycles block the fire exit "
            "on the ground floor again.",
            "reporter_name": "",
            "reporter_phone": "",
            "reporter_email": "",
            "hide_name": "on",
            "website": "",
            "via": "form",
        }
        for number in range(len(forms))
    )

    def send(own: Client) -> Response:
        form = forms.popleft()
        fields = bodies.popleft()
        fields["csrfmiddlewaretoken"] = form.csrf_token
        fields["idempotency_key"] = form.idempotency_key
        return own.post(REPORT_PATH, fields)

    def redirected_to_done(response: Response) -> bool:
        location = response.headers.get("Location", "")
        return response.status == 302 and location.endswith(DONE_PATH)

    return measure(
        client,
        name="report form POST",
        path=REPORT_PATH,
        requests=shape.requests,
        warmup=shape.warmup,
        concurrency=shape.concurrency,
        time_limit=shape.time_limit,
        send=send,
        succeeded=redirected_to_done,
    )


def _random_codes(count: int, *, seed: int) -> list[str]:
    """Return the stored tracking codes of ``count`` tickets drawn at random."""
    ids = list(Incident.objects.values_list("pk", flat=True))
    if not ids:
        raise BenchError("the database has no tickets to track.")
    rng = random.Random(seed)
    chosen = [rng.choice(ids) for _ in range(count)]
    codes = dict(
        Incident.objects.filter(pk__in=set(chosen)).values_list("pk", "tracking_code")
    )
    return [codes[pk] for pk in chosen]


def tracking_paths(count: int, *, seed: int) -> list[str]:
    """Return ``count`` tracking page paths of tickets drawn at random.

    The codes are in the printed form ABCDE-FGH23, the form that the page
    redirects every other spelling to.
    """
    codes = _random_codes(count, seed=seed)
    return [f"/track/{format_tracking_code(code)}/" for code in codes]


def measure_tracking(client: Client, shape: LoadShape, *, seed: int) -> Measurement:
    """Measure GET /track/<code>/ of random existing tickets; count only 200."""
    paths = tracking_paths(shape.requests + shape.warmup, seed=seed)
    return _measure_shape(
        client,
        shape,
        "tracking page GET",
        "/track/<code>/",
        _each_code(paths, lambda own, path: own.get(path)),
    )


def _measure_shape(
    client: Client,
    shape: LoadShape,
    name: str,
    path: str,
    send: Callable[[Client], Response],
) -> Measurement:
    return measure(
        client,
        name=name,
        path=path,
        requests=shape.requests,
        warmup=shape.warmup,
        concurrency=shape.concurrency,
        time_limit=shape.time_limit,
        send=send,
    )


def _each_code(
    codes: list[str], request: Callable[[Client, str], Response]
) -> Callable[[Client], Response]:
    """Return a sender that calls ``request`` with the next code of ``codes``."""
    # next() on itertools.count is atomic in CPython, so threads may share it.
    numbers = itertools.count()

    def send(own: Client) -> Response:
        return request(own, codes[next(numbers) % len(codes)])

    return send


def measure_references(
    client: Client, shape: LoadShape, *, seed: int
) -> list[Measurement]:
    """Measure the reference views of bench.urls on random existing tickets.

    They read or write one ticket row and do nothing else, so their ratios
    bound what the tracking page and the report form can reach here.
    """
    codes = _random_codes(shape.requests + shape.warmup, seed=seed)
    return [
        _measure_shape(
            client,
            shape,
            "reference: read one row, plain text",
            "/bench/one-row/<code>/",
            _each_code(codes, lambda own, code: own.get(f"/bench/one-row/{code}/")),
        ),
        _measure_shape(
            client,
            shape,
            "reference: read one row, page layout",
            "/bench/one-row-page/<code>/",
            _each_code(
                codes, lambda own, code: own.get(f"/bench/one-row-page/{code}/")
            ),
        ),
        _measure_shape(
            client,
            shape,
            "reference: update one row, POST",
            "/bench/one-row-write/",
            _each_code(
                codes,
                lambda own, code: own.post("/bench/one-row-write/", {"code": code}),
            ),
        ),
    ]
