"""Real processes for integration tests: a Redis server, a Celery worker with beat
and a gunicorn web server, each started as a subprocess against the test database.

These tests need PostgreSQL: the worker and the web server are other processes
and must see the rows the test commits, which an in-memory SQLite database
cannot offer.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 0.1 s; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


@dataclass
class RedisServer:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.is_up, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def is_up(self) -> bool:
        try:
            with socket.create_connection(
                ("127.0.0.1", self.port), timeout=0.2
            ) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A Redis server of this test's own, so the test may stop and start it."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(port=free_port(), folder=tmp_path)
    server.start()
    yield server
    server.stop()


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@dataclass
class Processes:
    """Starts subprocesses on the test database and stops them at the end."""

    tmp: Path
    broker_url: str
    started: list[tuple[str, subprocess.Popen]]

    def environment(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=self.broker_url,
            CACHE_URL="locmem://",
            DEBUG="false",
            SECRET_KEY="integration-tests-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            WESTGARDEN_VAR_DIR=str(self.tmp / "var"),
            WESTGARDEN_SWEEP_SECONDS="1",
            WESTGARDEN_ROUTING_GRACE_SECONDS="2",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def worker(
        self, name: str = "worker", *, beat: bool = True, **env: str
    ) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        command = [
            str(BIN / "celery"),
            "-A",
            "westgarden",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            # One worker serves both queues here; the Procfile gives the
            # routing queue a worker of its own.
            "--queues=celery,routing",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
        if beat:
            command += ["-B", "--schedule", str(self.tmp / f"{name}-beat")]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append((name, process))
        wait_until(
            lambda: "ready." in (self.tmp / f"{name}.log").read_text(),
            60,
            f"{name} to start",
        )
        return process

    def web(self, **env: str) -> str:
        # Plain HTTP on loopback: with DEBUG off the CSRF cookie would be
        # marked secure and never come back.
        env.setdefault("DEBUG", "true")
        port = free_port()
        log = (self.tmp / "web.log").open("w")
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "westgarden.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=self.environment(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(("web", process))

        def answers() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(answers, 30, "gunicorn to listen")
        return f"http://127.0.0.1:{port}"

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def stop_all(self) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


@pytest.fixture
def processes(transactional_db, tmp_path, request) -> Iterator[Processes]:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis") or connection.vendor != "postgresql":
        reason = "needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…"
        if os.environ.get("WESTGARDEN_REQUIRE_SERVICES"):
            pytest.fail(reason)
        pytest.skip(reason)
    (tmp_path / "var").mkdir()
    procs = Processes(tmp=tmp_path, broker_url=broker, started=[])
    # Leftover messages of an earlier run would confuse this one.
    _flush_broker(broker)
    yield procs
    procs.stop_all()


def _flush_broker(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()
