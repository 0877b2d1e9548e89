"""An HTTP client on http.client that keeps cookies, and the timed load loop."""

import http.client
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class Client:
    """One keep-alive connection with a cookie store, for one thread.

    The server treats every request as HTTPS, as behind the TLS proxy of a
    deployment, so the production settings (secure cookies, SSL redirect,
    CSRF origin check) apply unchanged. The Secure flag of cookies is
    ignored here because the socket itself is plain HTTP on loopback.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.origin = f"https://{self.host}:{self.port}"
        self.timeout = timeout
        self.cookies: dict[str, str] = {"django_language": "en"}
        self.connection = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout
        )

    def copy(self) -> "Client":
        """Return a client with its own connection and these cookies."""
        twin = Client(f"http://{self.host}:{self.port}", timeout=self.timeout)
        twin.cookies = dict(self.cookies)
        return twin

    def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None
    ) -> Response:
        headers = {
            "Host": f"{self.host}:{self.port}",
            "X-Forwarded-Proto": "https",
            "Accept-Language": "en",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path

        try:
            self.connection.request(method, path, body=body, headers=headers)
            raw = self.connection.getresponse()
            text = raw.read().decode("utf-8", "replace")
        except (http.client.HTTPException, OSError):
            # A kept-alive connection that the server closed meanwhile fails
            # on first use; a GET is safe to send once more on a new one.
            self.connection.close()
            if method != "GET":
                raise
            self.connection.request(method, path, body=body, headers=headers)
            raw = self.connection.getresponse()
            text = raw.read().decode("utf-8", "replace")

        for value in raw.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if raw.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return Response(raw.status, dict(raw.getheaders()), text)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form=form)

    def login(self, username: str, password: str) -> None:
        """Sign in through the admin login form; raise RuntimeError on failure."""
        page = self.get("/admin/login/?next=/admin/")
        match = CSRF_FIELD.search(page.body)
        if page.status != 200 or match is None:
            raise RuntimeError(
                f"GET /admin/login/ returned {page.status} without a CSRF token."
            )

        form = {
            "csrfmiddlewaretoken": match.group(1),
            "username": username,
            "password": password,
            "next": "/admin/",
        }
        result = self.request("POST", "/admin/login/?next=/admin/", form=form)
        if result.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(
                f"Login as {username} failed: POST /admin/login/ returned "
                f"{result.status}; check the demo password."
            )


@dataclass
class Measurement:
    name: str
    path: str
    requested: int
    completed: int = 0
    failures: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # Status and start of the body of the first failed request, for the error.
    first_failure: str = ""

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def is_ok(response: Response) -> bool:
    return response.status == 200


def measure(
    client: Client,
    *,
    name: str,
    path: str,
    requests: int,
    warmup: int,
    concurrency: int,
    time_limit: float,
    send: Callable[[Client], Response] | None = None,
    succeeded: Callable[[Response], bool] = is_ok,
) -> Measurement:
    """Send ``requests`` requests from ``concurrency`` threads and time them.

    By default each request is a GET of ``path``; ``send`` replaces it, for
    instance with a form POST, and receives the thread's own client.
    ``succeeded`` decides which responses count as completed. Each thread
    first sends its share of ``warmup`` requests, which are not counted. The
    loop stops early once ``time_limit`` seconds have passed; the result then
    counts only the requests that completed.
    """
    if send is None:

        def send(own: Client) -> Response:
            return own.get(path)

    result = Measurement(name=name, path=path, requested=requests)
    lock = threading.Lock()
    issued = 0
    deadline = 0.0

    def open_window() -> None:
        nonlocal deadline
        deadline = time.monotonic() + time_limit

    # The barrier's action sets the deadline once every thread has warmed up,
    # before any of them is released.
    start = threading.Barrier(concurrency + 1, action=open_window)

    def worker() -> None:
        nonlocal issued
        own = client.copy()
        try:
            for _ in range(max(1, warmup // concurrency)):
                send(own)
            start.wait(timeout=time_limit)
        except (threading.BrokenBarrierError, http.client.HTTPException, OSError):
            start.abort()
            return

        while time.monotonic() < deadline:
            with lock:
                if issued >= requests:
                    return
                issued += 1
            began = time.perf_counter()
            try:
                response = send(own)
            except (http.client.HTTPException, OSError) as error:
                response = Response(0, {}, f"{type(error).__name__}: {error}")
            spent = time.perf_counter() - began
            ok = succeeded(response)
            with lock:
                status = response.status
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if ok:
                    result.completed += 1
                    result.latencies.append(spent)
                    continue
                result.failures += 1
                if not result.first_failure:
                    result.first_failure = f"{status} {response.body[:300]!r}"

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=time_limit)
    except threading.BrokenBarrierError:
        raise RuntimeError(
            f"Warm-up of {path} failed or took over {time_limit:.0f} s."
        ) from None
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=time_limit + 30)
    result.seconds = time.perf_counter() - began
    return result
