"""Academia Chat settings.

Every value comes from an environment variable of the same name, with an
embedded default that lets the project run on a bare machine: SQLite instead
of PostgreSQL, the in-memory channel layer and local-memory cache instead of
Redis. No other module reads ``os.environ``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from academia.redis_sentinel import connection_kwargs as redis_connection_kwargs

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int, *, low: int | None = None, high: int | None = None) -> int:
    """An integer from the environment; refuses to start on text that is not one,
    or on one outside ``low``..``high`` (a limit of 0 would refuse every message,
    hide all history or fail every new room)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {number}.")
    return number


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return float(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
DEVELOPMENT_SECRET_KEY = "django-insecure-academia-chat-development-key-change-me-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    # Refuse to start: with the published key anyone could forge sessions and signatures.
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is off but DJANGO_SECRET_KEY is unset (the development key): "
        "set DJANGO_SECRET_KEY to a long random value."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "csp",
    "corsheaders",
    "accounts",
    "courses",
    "chat",
]

MIDDLEWARE = [
    # First: every response, and every log line of the request, has its id.
    "academia.logs.RequestIdMiddleware",
    # Before anything that may answer: preflights and refusals get CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Request latency by view, and the database time of each request (/metrics).
    "academia.metrics.RequestMetricsMiddleware",
    # A view that failed on the database answers 503 unavailable, not 500.
    "academia.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language (then the signed-in user's setting, below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's language setting, when set, over the browser's.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The admin answers values it does not check itself (a year out of range) with 400.
    "academia.admin_input.AdminBadInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a login refused for too many failures into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "academia.urls"
WSGI_APPLICATION = "academia.wsgi.application"
ASGI_APPLICATION = "academia.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE for <html lang> and the page's script.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
# Under ASGI no connection is kept per thread (Django's docs): each process
# borrows from a psycopg pool of at most DATABASE_POOL_MAX_SIZE connections,
# so N processes use at most N x that many of PostgreSQL's connections.
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 2)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 16)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0)
# The sockets' database threads (chat.consumers.db), each with a pooled connection
# while it works. More threads wait on more queries at once, but they share one
# interpreter lock: past a few, handing it over costs more than they gain.
DATABASE_SOCKET_THREADS = min(env_int("DATABASE_SOCKET_THREADS", 4), DATABASE_POOL_MAX_SIZE)
# PostgreSQL cancels a statement that runs longer (seconds; 0: never), so no request
# holds a connection and a core for long; the client gets a 503. Migrations that
# build indexes over a whole table lift it for themselves.
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 30, low=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
        }
        if DATABASE_STATEMENT_TIMEOUT:
            # Sent when each connection starts: nothing more per query.
            options["options"] = (
                f"{options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT}s"
            ).strip()
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache --------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
# Redis Sentinel: "host:port,host:port" of the sentinels and the master's name;
# REDIS_URL then only gives the master's database number and password.
REDIS_SENTINELS = env_list("REDIS_SENTINELS", "")
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER", "academia")
REDIS_SENTINEL_PASSWORD = env_str("REDIS_SENTINEL_PASSWORD", "")
# The channel layer's names on Redis start with this. Redis pub/sub ignores the
# database number, so two deployments on one Redis server (staging and production
# on databases 0 and 1, say) would hear each other's events under the same prefix:
# by default it names REDIS_URL's database, which already keeps their caches apart.
# Processes that must hear each other need the same prefix.
CHAT_CHANNEL_PREFIX = env_str(
    "CHAT_CHANNEL_PREFIX", f"academia.{redis_connection_kwargs(REDIS_URL)['db']}"
)
CHAT_CHANNEL_CAPACITY = env_int("CHAT_CHANNEL_CAPACITY", 1000)
CHAT_GROUP_EXPIRY = env_int("CHAT_GROUP_EXPIRY", 7 * 24 * 3600)
if REDIS_URL or REDIS_SENTINELS:
    _redis_host: str | dict = REDIS_URL
    _cache_options: dict = {}
    if REDIS_SENTINELS:
        from academia import redis_sentinel

        _sentinels = redis_sentinel.parse_sentinels(REDIS_SENTINELS)
        _redis_host = redis_sentinel.channel_layer_host(
            REDIS_URL, _sentinels, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD
        )
        _cache_options = redis_sentinel.cache_options(
            _sentinels, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD
        )
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": env_str(
                "CHAT_CHANNEL_LAYER_BACKEND", "channels_redis.pubsub.RedisPubSubChannelLayer"
            ),
            "CONFIG": {"hosts": [_redis_host], "prefix": CHAT_CHANNEL_PREFIX},
        }
    }
    if CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer":
        CHANNEL_LAYERS["default"]["CONFIG"].update(
            capacity=CHAT_CHANNEL_CAPACITY, group_expiry=CHAT_GROUP_EXPIRY, expiry=60
        )
    CACHES = {
        "default": {
            # One connection pool per process, not per request (see academia.cache).
            "BACKEND": "academia.cache.ProcessRedisCache",
            "LOCATION": REDIS_URL or f"redis://{REDIS_SENTINEL_MASTER}/0",
            "KEY_PREFIX": "academia",
            "OPTIONS": _cache_options,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHAT_CHANNEL_CAPACITY, "group_expiry": CHAT_GROUP_EXPIRY},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat-page"
LOGOUT_REDIRECT_URL = "login"
# Lockout after repeated failed sign-ins (django-axes), on every login path: the
# token endpoint, the login page and the admin's. Counted per username and per
# client address (academia.client_ip: X-Forwarded-For only from trusted proxies).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CHAT_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("CHAT_LOGIN_COOLOFF_SECONDS", 15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "academia.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "accounts.lockout.attempted_username"
AXES_HTTP_RESPONSE_CODE = 429
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation, static and media files --------------------------------
LANGUAGE_CODE = "en"
# The page, its JavaScript and the API's error details; README "Languages" tells
# how to add one.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "academia" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# In production WhiteNoise serves static files (collected into STATIC_ROOT) from
# every Daphne process; in development chat.urls serves them from the finders.
if not DEBUG:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))

# --- Security ---------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Load balancers probe, and Prometheus may scrape, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Django REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF answers unauthenticated requests with the first class's
    # WWW-Authenticate header, so token clients get 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "academia.rest.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with a nesting limit (deeper: 400 bad_request, never a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "academia.rest.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "academia.rest.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "chat_write": env_str("CHAT_WRITE_THROTTLE_RATE", "120/min"),
        # Search and history pages, per user.
        "chat_read": env_str("CHAT_READ_THROTTLE_RATE", "60/min"),
        # Markdown previews of the composer, per user.
        "chat_preview": env_str("CHAT_PREVIEW_THROTTLE_RATE", "60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Academia Chat API",
    "DESCRIPTION": "Rooms, messages, presence and courses of the Academia chat.",
    # The contract's version (CHANGELOG.md), also the AsyncAPI document's and client.js's.
    "VERSION": "1.4.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are JSON (uploads declare multipart themselves); form encodings, which
    # DRF also parses, cannot carry the JSON types the schema describes (null).
    "PARSER_WHITELIST": ["academia.rest.parsers.JSONParser"],
    # Choice sets that share a field name with another get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "chat.models.UserPresence.Status",
        "ReportStatusEnum": "chat.models.MessageReport.Status",
        "ReportResolutionEnum": "chat.models.MessageReport.Resolution",
        "ReportReasonEnum": "chat.models.MessageReport.Reason",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chat.api.schema.strings_as_validated",
    ],
}

# --- Chat (names and defaults from the wire contract) -------------------------------
CHAT_MAX_MESSAGE_LENGTH = env_int("CHAT_MAX_MESSAGE_LENGTH", 1000, low=1)
CHAT_MESSAGE_HISTORY_LIMIT = env_int("CHAT_MESSAGE_HISTORY_LIMIT", 1000, low=1)
# At most what a room may set over the API (chat.limits.ROOM_MAX_PARTICIPANTS_CEILING).
CHAT_ROOM_MAX_PARTICIPANTS = env_int("CHAT_ROOM_MAX_PARTICIPANTS", 100, low=1, high=100_000)
CHAT_TYPING_TIMEOUT = env_int("CHAT_TYPING_TIMEOUT", 3000, low=1)  # ms
CHAT_WEBSOCKET_URL = env_str("CHAT_WEBSOCKET_URL", "ws://localhost:8000/ws/chat/")
CHAT_PRESENCE_WEBSOCKET_URL = env_str(
    "CHAT_PRESENCE_WEBSOCKET_URL", "ws://localhost:8000/ws/presence/"
)
CHAT_HEARTBEAT_INTERVAL = env_int("CHAT_HEARTBEAT_INTERVAL", 30, low=1)  # s
CHAT_CONNECTION_TIMEOUT = env_int("CHAT_CONNECTION_TIMEOUT", 60, low=1)  # s
CHAT_MESSAGE_EDIT_TIMEOUT = env_int("CHAT_MESSAGE_EDIT_TIMEOUT", 300, low=0)  # s
CHAT_MESSAGE_DELETE_TIMEOUT = env_int("CHAT_MESSAGE_DELETE_TIMEOUT", 300, low=0)  # s
CHAT_FILE_UPLOAD_LIMIT = env_int("CHAT_FILE_UPLOAD_LIMIT", 10 * 1024 * 1024, low=1)
# Bytes one user may upload per UTC day (0: no quota); past it 429 upload_quota_exceeded.
CHAT_UPLOAD_DAILY_QUOTA = env_int("CHAT_UPLOAD_DAILY_QUOTA", 100 * 1024 * 1024)
CHAT_IMAGE_OPTIMIZATION = env_bool("CHAT_IMAGE_OPTIMIZATION", True)

# Settings beyond the contract (documented in README.md).
CHAT_EVENT_RETENTION_HOURS = env_int("CHAT_EVENT_RETENTION_HOURS", 72)
CHAT_WS_SEND_RATE = env_str("CHAT_WS_SEND_RATE", "20/10s")
CHAT_WS_FRAME_RATE = env_str("CHAT_WS_FRAME_RATE", "60/10s")
CHAT_WS_MAX_FRAME_BYTES = env_int("CHAT_WS_MAX_FRAME_BYTES", 64 * 1024)
CHAT_WS_TICK_SECONDS = env_float("CHAT_WS_TICK_SECONDS", 5)
CHAT_WS_REVALIDATE_SECONDS = env_float("CHAT_WS_REVALIDATE_SECONDS", 15)
CHAT_PRESENCE_SWEEP_INTERVAL = env_float("CHAT_PRESENCE_SWEEP_INTERVAL", 5)
CHAT_PRESENCE_OFFLINE_GRACE = env_float("CHAT_PRESENCE_OFFLINE_GRACE", 2)
CHAT_LISTEN_BACKLOG = env_int("CHAT_LISTEN_BACKLOG", 1024)
CHAT_WS_MAX_SOCKETS_PER_USER = env_int("CHAT_WS_MAX_SOCKETS_PER_USER", 20)
CHAT_SHUTDOWN_GRACE = env_float("CHAT_SHUTDOWN_GRACE", 10)
CHAT_WS_MAX_BUFFER_BYTES = env_int("CHAT_WS_MAX_BUFFER_BYTES", 1024 * 1024)
CHAT_IMAGE_MAX_PIXELS = env_int("CHAT_IMAGE_MAX_PIXELS", 25_000_000)
CHAT_IMAGE_MAX_SIDE = env_int("CHAT_IMAGE_MAX_SIDE", 12_000)
CHAT_IMAGE_MAX_FRAMES = env_int("CHAT_IMAGE_MAX_FRAMES", 200)
CHAT_THUMBNAIL_SIZE = env_int("CHAT_THUMBNAIL_SIZE", 320)
# Sniffed types (chat.uploads.SNIFFABLE_TYPES) always refused. Scripts without a
# "#!" line are text: they are kept, and offered under a ".txt" name.
CHAT_UPLOAD_DENY_TYPES = env_list(
    "CHAT_UPLOAD_DENY_TYPES",
    "application/x-dosexec,application/x-executable,application/x-mach-binary,"
    "application/x-sh,application/java-archive,text/html,image/svg+xml,"
    "application/xhtml+xml",
)
CHAT_UPLOAD_ALLOW_TYPES = env_list("CHAT_UPLOAD_ALLOW_TYPES", "")
CHAT_CLAMD_SOCKET = env_str("CHAT_CLAMD_SOCKET", "")
# Behind nginx: attachments are handed over with X-Accel-Redirect to this internal
# location (e.g. "/protected-media/") once the view has checked access; empty:
# Django streams them itself.
CHAT_X_ACCEL_REDIRECT_PREFIX = env_str("CHAT_X_ACCEL_REDIRECT_PREFIX", "")
# A frontend on other origins (e.g. "https://academia.example.com"): CORS for the
# API with a token (no cookies: CORS_ALLOW_CREDENTIALS stays off), and the origins
# whose pages may open sockets with a ticket (POST /accounts/ws-ticket/, valid for
# CHAT_WS_TICKET_TTL seconds, once). Empty: no CORS at all.
CHAT_CORS_ALLOWED_ORIGINS = env_list("CHAT_CORS_ALLOWED_ORIGINS", "")
CORS_ALLOWED_ORIGINS = CHAT_CORS_ALLOWED_ORIGINS
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-request-id")
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
CHAT_WS_TICKET_TTL = env_int("CHAT_WS_TICKET_TTL", 60)
# Proxies (addresses or networks) whose X-Forwarded-For the throttles believe;
# empty: the client is REMOTE_ADDR (see academia/client_ip.py).
CHAT_TRUSTED_PROXIES = env_list("CHAT_TRUSTED_PROXIES", "")
# /metrics (Prometheus) answers only "Authorization: Bearer <CHAT_METRICS_TOKEN>";
# empty: /metrics is off (404). The processes of a host share their values in
# PROMETHEUS_MULTIPROC_DIR (prometheus-client reads the variable itself); empty:
# each process reports its own (see academia/metrics.py).
CHAT_METRICS_TOKEN = env_str("CHAT_METRICS_TOKEN", "")
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")

# --- Email: offline notifications (chat.services.email_notifications) -------------------
# The console backend (mail printed to the log) unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Academia Chat <chat@localhost>")
# The site's address as its users reach it: the links in emails (message, unsubscribe).
CHAT_PUBLIC_URL = env_str("CHAT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# A batched email waits until its user's newest item is this old (a quiet
# conversation), but no longer than the maximum wait from their oldest one.
CHAT_EMAIL_BATCH_DELAY_SECONDS = env_int("CHAT_EMAIL_BATCH_DELAY_SECONDS", 120)
CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS = env_int("CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS", 900)
# Seconds between the passes of `manage.py send_notification_emails` (without --once).
CHAT_EMAIL_SEND_INTERVAL = env_float("CHAT_EMAIL_SEND_INTERVAL", 15)


# Content-Security-Policy on every response that has none of its own (attachments
# keep their "sandbox"): the pages are ES modules with no inline script, style or
# handler, so only the server's own origin is needed, plus the socket origins when
# CHAT_WEBSOCKET_URL / CHAT_PRESENCE_WEBSOCKET_URL name another one.
_socket_origins = {
    "{0.scheme}://{0.netloc}".format(urlsplit(url))
    for url in (CHAT_WEBSOCKET_URL, CHAT_PRESENCE_WEBSOCKET_URL)
}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", *sorted(_socket_origins)],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Uploads larger than this are streamed to a temporary file, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Log lines with time, level, logger and the request's or socket's context
# (academia.logs): "text" for people, "json" (one object per line) for collectors.
CHAT_LOG_FORMAT = env_str("CHAT_LOG_FORMAT", "text")
if CHAT_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"CHAT_LOG_FORMAT must be text or json, not {CHAT_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "academia.logs.ContextFilter"}},
    "formatters": {
        "text": {"()": "academia.logs.TextFormatter"},
        "json": {"()": "academia.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": CHAT_LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would write its lines a second
        # time, unformatted: they go to the root's handler like every other logger's.
        "django": {"handlers": []},
        "django.channels.server": {"level": "WARNING"},
    },
}
