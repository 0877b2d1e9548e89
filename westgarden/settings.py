"""Django settings, read from environment variables.

Every variable has a default that runs without any server: SQLite in
``var/`` and Celery on kombu's filesystem transport. Production sets
DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, SECRET_KEY, ALLOWED_HOSTS and
DEBUG=false; docs/deployment.md lists them all.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from westgarden.env import (
    cache_config,
    database_config,
    email_config,
    env_bool,
    env_int,
    env_int_list,
    env_list,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WESTGARDEN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing; it is required when DEBUG is off."
        )
    SECRET_KEY = "django-insecure-westgarden-development-only"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "mptt",
    "django_ratelimit",
    "westgarden",
    "grids",
    "members",
    "incidents",
    "merchants",
    "services",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "westgarden.middleware.RejectNullCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "westgarden.urls"
WSGI_APPLICATION = "westgarden.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": database_config("DATABASE_URL", VAR_DIR / "westgarden.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": cache_config("CACHE_URL")}

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "mobile-home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

globals().update(email_config("EMAIL_URL", VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "westgarden@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Production hardening; each is on whenever DEBUG is off.
# Trust X-Forwarded-Proto only behind a TLS proxy that sets it; a client
# talking to gunicorn directly could otherwise claim HTTPS.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# The preload directive asks browsers to hard-code HTTPS for the whole domain
# and its subdomains, which is the domain owner's decision, so it stays off
# unless SECURE_HSTS_PRELOAD=true and the deploy check does not warn about it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Celery. The embedded broker is a folder that the web process and the
# worker share, so one machine needs no broker server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL == "filesystem://":
    for folder in ("processed", "control"):
        (CELERY_BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Celery's Django fixup closes every database connection around each task
# unless told to reuse them, and a new PostgreSQL connection costs more than
# routing a ticket. With reuse on, it closes them once every 10,000 tasks, and
# westgarden.celery applies Django's own rules around each task (CONN_MAX_AGE,
# health checks), as for each web request.
CELERY_DB_REUSE_MAX = 10_000
# Routing has a queue of its own, which the Procfile's router worker serves,
# so that a new ticket does not wait behind a long sweep or a slow mail
# server. Everything else goes to the default queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
WESTGARDEN_ROUTING_QUEUE = "routing"
CELERY_TASK_ROUTES = {
    "incidents.tasks.route_incident_task": {"queue": WESTGARDEN_ROUTING_QUEUE}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"redact_codes": {"()": "westgarden.logs.RedactTrackingCodes"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_codes"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's default logging gives "django" a console handler of its own
        # while DEBUG is on, which would print paths with tracking codes.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# Password of the demo logins that manage.py demo_data creates.
WESTGARDEN_DEMO_PASSWORD = env_str("WESTGARDEN_DEMO_PASSWORD", "westgarden-demo")

# Uploaded photos: limits on what is accepted and the size they are stored at.
WESTGARDEN_PHOTO_MAX_BYTES = env_int(
    "WESTGARDEN_PHOTO_MAX_BYTES", 10 * 1024 * 1024, minimum=1
)
WESTGARDEN_PHOTO_MAX_PIXELS = env_int(
    "WESTGARDEN_PHOTO_MAX_PIXELS", 40_000_000, minimum=1
)
WESTGARDEN_PHOTO_MAX_EDGE = env_int("WESTGARDEN_PHOTO_MAX_EDGE", 2048, minimum=64)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Tickets still unrouted this long after submission are routed by the sweep.
WESTGARDEN_ROUTING_GRACE_SECONDS = env_int("WESTGARDEN_ROUTING_GRACE_SECONDS", 120)
WESTGARDEN_SWEEP_SECONDS = env_int("WESTGARDEN_SWEEP_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE["incidents-sweep"] = {
    "task": "incidents.tasks.sweep_task",
    "schedule": float(WESTGARDEN_SWEEP_SECONDS),
    "options": {"expires": float(WESTGARDEN_SWEEP_SECONDS)},
}
CELERY_BEAT_SCHEDULE["incidents-deliver"] = {
    "task": "incidents.tasks.deliver_notifications_task",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}

# Working periods of a working day, for deadlines counted in working time, in
# TIME_ZONE: HH:MM-HH:MM periods separated by commas. incidents.calendar parses
# the value, and the system check westgarden.E001 reports a bad one.
WESTGARDEN_WORKING_HOURS = env_str(
    "WESTGARDEN_WORKING_HOURS", "08:30-12:00,13:30-17:30"
)

# Minutes before an accept or resolve deadline at which the assignee is
# reminded, one reminder per value.
WESTGARDEN_REMINDER_MINUTES = env_int_list("WESTGARDEN_REMINDER_MINUTES", [60, 15])

# Dotted path of the SMS backend; the default only writes a log line.
WESTGARDEN_SMS_BACKEND = env_str(
    "WESTGARDEN_SMS_BACKEND", "incidents.sms.LoggingSmsBackend"
)

# Publishing gives up quickly when the broker is down; the sweep catches up.
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Public pages. WESTGARDEN_PUBLIC_URL is the address printed in QR codes, such
# as https://wg.example.cn; when empty, QR codes use the address of the request.
WESTGARDEN_PUBLIC_URL = env_str("WESTGARDEN_PUBLIC_URL", "").rstrip("/")
if WESTGARDEN_PUBLIC_URL and not WESTGARDEN_PUBLIC_URL.startswith(
    ("https://", "http://")
):
    raise ImproperlyConfigured(
        f"WESTGARDEN_PUBLIC_URL={WESTGARDEN_PUBLIC_URL!r} is not an address; "
        "write the scheme and host, such as https://wg.example.cn."
    )
# Rate limits per client IP (django-ratelimit): report and other resident
# writes, and tracking-code lookups, as COUNT/PERIOD.
WESTGARDEN_REPORT_RATE = env_rate("WESTGARDEN_REPORT_RATE", "10/h")
WESTGARDEN_TRACK_RATE = env_rate("WESTGARDEN_TRACK_RATE", "30/10m")
# Login attempts on the member and the staff login pages, per client IP and,
# separately, per username, so that many addresses cannot guess one password.
WESTGARDEN_LOGIN_RATE = env_rate("WESTGARDEN_LOGIN_RATE", "10/10m")
# Behind a reverse proxy, REMOTE_ADDR is the proxy's address: name the request
# header that carries the client's address, e.g. HTTP_X_REAL_IP, set by nginx.
RATELIMIT_IP_META_KEY = env_str("RATELIMIT_IP_META_KEY", "") or None
# django-ratelimit's system check rejects LocMemCache (E003) because each
# process counts alone, so a client gets the limit once per web process. That
# is accepted for the default without a cache server; CACHE_URL=redis://...
# shares the counts. The check also warns (W001) about Django's own
# RedisCache, which increments with the atomic Redis INCR but is missing from
# the list of backends that django-ratelimit 4.1 names.
if CACHES["default"]["BACKEND"].endswith(".LocMemCache"):
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.W001"]
