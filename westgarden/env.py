"""Typed readers for settings that come from environment variables.

Each helper raises ImproperlyConfigured naming the variable and its value, so
a typo in a deployment fails at start-up instead of running with a default.
"""

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default

    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of true, false, 1, 0."
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default

    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} is below the minimum {minimum}.")
    return value


def env_int_list(name: str, default: list[int]) -> list[int]:
    """Return a comma-separated list of positive integers, such as "60,15"."""
    raw = os.environ.get(name)
    if raw is None:
        return default

    values = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) == 0:
            raise ImproperlyConfigured(
                f"{name}={raw!r} contains {item!r}, which is not a positive integer."
            )
        values.append(int(item))
    return values


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# A django-ratelimit rate: a count, a slash, an optional multiplier and a unit
# of s, m, h or d, as in 10/h or 30/10m.
RATE_PATTERN = re.compile(r"[1-9][0-9]*/[0-9]*[smhd]")


def env_rate(name: str, default: str) -> str:
    """Return a django-ratelimit rate such as 10/h (per hour) or 30/10m."""
    raw = os.environ.get(name)
    if raw is None:
        return default

    value = raw.strip()
    if not RATE_PATTERN.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; write COUNT/PERIOD such as 10/h or "
            "30/10m, with the period in s, m, h or d."
        )
    return value


def database_config(name: str, default_sqlite: Path) -> dict:
    """Return a DATABASES entry from a URL, or an SQLite file tuned for a server."""
    raw = os.environ.get(name)
    if not raw:
        return sqlite_config(default_sqlite)

    import dj_database_url

    scheme = urlsplit(raw).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}={scheme}://… is not supported; use postgres:// or sqlite://."
        )
    if scheme == "sqlite":
        path = raw.removeprefix("sqlite:///") or str(default_sqlite)
        return sqlite_config(Path(path))
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {error}") from None
    config.setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DATABASE_NAME")
    return dict(config)


def sqlite_config(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the single writer, the busy timeout makes a
    # second writer wait instead of failing, and IMMEDIATE takes the write lock
    # at BEGIN so that two transactions never deadlock on upgrading their lock.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON;"
            ),
        },
    }


def cache_config(name: str) -> dict:
    """Return a CACHES entry from a URL: redis://, locmem:// or dummy://."""
    raw = os.environ.get(name, "locmem://")
    parts = urlsplit(raw)
    if parts.scheme in {"redis", "rediss"}:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": raw,
        }
    if parts.scheme == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": parts.netloc or "westgarden",
        }
    if parts.scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not supported; use redis://, locmem:// or dummy://."
    )


def email_config(name: str, mail_folder: Path) -> dict[str, object]:
    """Return the EMAIL_* settings from a URL such as smtp+tls://user:pw@host:587.

    Without the variable, each message is written to a file in
    ``mail_folder``, so that nothing leaves the machine by accident and no
    reporter's address or tracking code lands in a process's log, as it
    would with console://. file:///some/folder names another folder.
    """
    raw = os.environ.get(name, "file://")
    parts = urlsplit(raw)
    backends = {
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
        "smtp+ssl": "django.core.mail.backends.smtp.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(
            f"{name} scheme {parts.scheme!r} is not supported; use file://, "
            "console://, locmem://, smtp://, smtp+tls:// or smtp+ssl://."
        )

    config: dict[str, object] = {"EMAIL_BACKEND": backends[parts.scheme]}
    if parts.scheme == "file":
        config["EMAIL_FILE_PATH"] = str(Path(parts.path) if parts.path else mail_folder)
    if parts.scheme.startswith("smtp"):
        try:
            port = parts.port or 25
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port.") from None
        config.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=port,
            EMAIL_HOST_USER=parts.username or "",
            EMAIL_HOST_PASSWORD=parts.password or "",
            EMAIL_USE_TLS=parts.scheme == "smtp+tls",
            EMAIL_USE_SSL=parts.scheme == "smtp+ssl",
        )
    query = parse_qs(parts.query)
    if "timeout" in query:
        config["EMAIL_TIMEOUT"] = int(query["timeout"][0])
    return config
