"""A throwaway copy of the portal: its own database, static files, server and worker."""

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

REPO_DIR = Path(__file__).resolve().parent.parent
MANAGE = str(REPO_DIR / "manage.py")
HOST = "127.0.0.1"
SETTINGS_MODULE = "bench.settings"
# High enough that no measured request is rate limited: the benchmark sends
# every request from one IP address.
BENCH_RATE = "100000/m"


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message names the step and the cause."""


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def bench_database_url(url: str) -> str:
    """Return ``url`` with its database name suffixed by ``_bench``."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "westgarden"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def _postgres_admin(url: str, statements: list[str]) -> None:
    """Run ``statements`` on the server of ``url``, connected to ``postgres``."""
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password or None,
        host=parts.hostname or HOST,
        port=parts.port or 5432,
        connect_timeout=10,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


class BenchSite:
    """Prepare a database and static files in a temp folder, then serve them.

    With DATABASE_URL naming PostgreSQL, the site uses a database of the same
    name plus ``_bench`` on that server, created and dropped here, so the
    benchmark never writes to the database that DATABASE_URL names.
    """

    def __init__(
        self, *, workers: int, keep: bool = False, broker_url: str = ""
    ) -> None:
        self.workers = workers
        self.keep = keep
        self.folder = Path(tempfile.mkdtemp(prefix="westgarden-bench-"))
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.server: subprocess.Popen | None = None
        self.server_log = self.folder / "gunicorn.log"
        # Celery workers by name: the router and the general worker.
        self.celery_workers: dict[str, subprocess.Popen] = {}
        # Empty means kombu's filesystem transport in the temp folder.
        self.broker_url = broker_url

        source_url = os.environ.get("DATABASE_URL", "")
        self.postgres_url = ""
        if source_url.startswith(("postgres://", "postgresql://")):
            self.postgres_url = bench_database_url(source_url)

        self.env = dict(os.environ)
        self.env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS=HOST,
            WESTGARDEN_VAR_DIR=str(self.folder),
            WESTGARDEN_REPORT_RATE=BENCH_RATE,
            WESTGARDEN_TRACK_RATE=BENCH_RATE,
            # The client stands for the TLS proxy of a deployment and sends
            # X-Forwarded-Proto: https with every request.
            TRUST_X_FORWARDED_PROTO="true",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        if self.postgres_url:
            self.env["DATABASE_URL"] = self.postgres_url
        else:
            self.env.pop("DATABASE_URL", None)
        if broker_url:
            self.env["CELERY_BROKER_URL"] = broker_url
        else:
            self.env.pop("CELERY_BROKER_URL", None)

    @property
    def database_label(self) -> str:
        if self.postgres_url:
            return "PostgreSQL " + urlsplit(self.postgres_url).path.lstrip("/")
        return "SQLite in " + str(self.folder)

    @property
    def broker_label(self) -> str:
        if self.broker_url:
            return self.broker_url
        return "kombu filesystem transport in " + str(self.folder / "broker")

    def apply_environment(self) -> None:
        """Point this process's Django settings at the bench database and broker."""
        names = (
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "WESTGARDEN_VAR_DIR",
            "WESTGARDEN_REPORT_RATE",
            "WESTGARDEN_TRACK_RATE",
            "TRUST_X_FORWARDED_PROTO",
            "LOG_LEVEL",
        )
        for name in names:
            os.environ[name] = self.env[name]
        for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
            if name in self.env:
                os.environ[name] = self.env[name]
            else:
                os.environ.pop(name, None)

    def manage(self, *arguments: str, timeout: float) -> float:
        """Run a manage.py command; return its wall-clock time in seconds."""
        command = [sys.executable, MANAGE, *arguments]
        started = time.perf_counter()
        try:
            result = subprocess.run(
                command,
                cwd=REPO_DIR,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(
                f"manage.py {' '.join(arguments)} timed out after {timeout:.0f} s."
            ) from None
        elapsed = time.perf_counter() - started

        if result.returncode != 0:
            raise BenchError(
                f"manage.py {' '.join(arguments)} failed with exit code "
                f"{result.returncode}:\n{result.stderr[-3000:]}"
            )
        return elapsed

    def create_database(self) -> None:
        if not self.postgres_url:
            return
        name = urlsplit(self.postgres_url).path.lstrip("/")
        _postgres_admin(
            self.postgres_url,
            [f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'],
        )

    def drop_database(self) -> None:
        if not self.postgres_url or self.keep:
            return
        name = urlsplit(self.postgres_url).path.lstrip("/")
        # Closes the bench process's own connections first, or DROP waits.
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        _postgres_admin(self.postgres_url, [f'DROP DATABASE IF EXISTS "{name}"'])

    def start_server(self, *, timeout: float = 30.0) -> None:
        """Start gunicorn and wait until /healthz returns 200."""
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "westgarden.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            # The control socket would sit in ~/.gunicorn/, shared with any
            # other gunicorn of this user.
            "--no-control-socket",
            "--workers",
            str(self.workers),
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
        with self.server_log.open("w") as log:
            self.server = subprocess.Popen(
                command,
                cwd=REPO_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logger.info("gunicorn started pid=%s port=%s", self.server.pid, self.port)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise BenchError(
                    f"gunicorn exited with code {self.server.returncode}:\n"
                    + self.server_log.read_text()[-3000:]
                )
            # The header stands for the TLS proxy, or SECURE_SSL_REDIRECT
            # would return a redirect to https.
            probe = urllib.request.Request(
                self.base_url + "/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise BenchError(
            f"gunicorn timed out: /healthz returned no 200 within {timeout:.0f} s; "
            f"see {self.server_log}."
        )

    def stop_server(self) -> None:
        """Stop gunicorn: TERM, then KILL after 10 s."""
        if self.server is None or self.server.poll() is not None:
            return
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=10)
        logger.info("gunicorn stopped pid=%s", self.server.pid)

    def celery_log(self, name: str) -> Path:
        return self.folder / f"celery-{name}.log"

    def start_worker(self, name: str, *, queue: str) -> None:
        """Start a Celery worker called ``name`` with the solo pool on ``queue``.

        The caller waits for the worker to run a first task; this returns
        once the process has started.
        """
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "westgarden",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--include=bench.tasks",
            f"--queues={queue}",
            f"--hostname=bench-{name}-{self.port}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with self.celery_log(name).open("w") as log:
            worker = subprocess.Popen(
                command,
                cwd=REPO_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.celery_workers[name] = worker
        logger.info("celery worker started name=%s pid=%s", name, worker.pid)

    def check_workers(self) -> None:
        """Raise BenchError if a Celery worker has exited."""
        for name, worker in self.celery_workers.items():
            if worker.poll() is not None:
                raise BenchError(
                    f"the Celery worker {name} exited with code {worker.returncode}:\n"
                    + self.celery_log(name).read_text()[-3000:]
                )

    def stop_workers(self) -> None:
        """Stop the Celery workers: TERM (a warm shutdown), then KILL after 20 s."""
        running = [
            (name, worker)
            for name, worker in self.celery_workers.items()
            if worker.poll() is None
        ]
        for _, worker in running:
            os.killpg(worker.pid, signal.SIGTERM)
        for name, worker in running:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            logger.info("celery worker stopped name=%s pid=%s", name, worker.pid)

    def remove(self) -> None:
        if self.keep:
            print(f"Kept {self.folder}")
            return
        shutil.rmtree(self.folder, ignore_errors=True)
