"""Settings come from the environment: embedded defaults on a bare machine,
PostgreSQL and Redis when configured, and a clean ``check --deploy`` in production.

Each case imports the settings in a fresh interpreter with a controlled environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
}
DUMP = """
import json
from django.conf import settings
names = [n for n in dir(settings) if n.isupper()]
print(json.dumps({n: getattr(settings, n) for n in names}, default=str))
"""

# Every CHAT_* setting read from the environment: (value to set, value expected).
CHAT_OVERRIDES: dict[str, tuple[str, Any]] = {
    "CHAT_MAX_MESSAGE_LENGTH": ("2000", 2000),
    "CHAT_MESSAGE_HISTORY_LIMIT": ("500", 500),
    "CHAT_ROOM_MAX_PARTICIPANTS": ("30", 30),
    "CHAT_TYPING_TIMEOUT": ("5000", 5000),
    "CHAT_WEBSOCKET_URL": ("wss://chat.example.com/ws/chat/", "wss://chat.example.com/ws/chat/"),
    "CHAT_PRESENCE_WEBSOCKET_URL": (
        "wss://chat.example.com/ws/presence/",
        "wss://chat.example.com/ws/presence/",
    ),
    "CHAT_HEARTBEAT_INTERVAL": ("15", 15),
    "CHAT_CONNECTION_TIMEOUT": ("45", 45),
    "CHAT_MESSAGE_EDIT_TIMEOUT": ("60", 60),
    "CHAT_MESSAGE_DELETE_TIMEOUT": ("90", 90),
    "CHAT_FILE_UPLOAD_LIMIT": ("1048576", 1048576),
    "CHAT_METRICS_TOKEN": ("scrape-token", "scrape-token"),
    "CHAT_UPLOAD_DAILY_QUOTA": ("5242880", 5242880),
    "CHAT_IMAGE_OPTIMIZATION": ("0", False),
    "CHAT_EVENT_RETENTION_HOURS": ("24", 24),
    "CHAT_WS_SEND_RATE": ("5/1s", "5/1s"),
    "CHAT_WS_FRAME_RATE": ("30/10s", "30/10s"),
    "CHAT_WS_MAX_FRAME_BYTES": ("32768", 32768),
    "CHAT_WS_TICK_SECONDS": ("2.5", 2.5),
    "CHAT_WS_REVALIDATE_SECONDS": ("30", 30.0),
    "CHAT_PRESENCE_SWEEP_INTERVAL": ("10", 10.0),
    "CHAT_PRESENCE_OFFLINE_GRACE": ("0.5", 0.5),
    "CHAT_LISTEN_BACKLOG": ("4096", 4096),
    "CHAT_WS_MAX_SOCKETS_PER_USER": ("5", 5),
    "CHAT_SHUTDOWN_GRACE": ("3", 3.0),
    "CHAT_WS_MAX_BUFFER_BYTES": ("65536", 65536),
    "CHAT_IMAGE_MAX_PIXELS": ("1000000", 1000000),
    "CHAT_IMAGE_MAX_SIDE": ("4000", 4000),
    "CHAT_IMAGE_MAX_FRAMES": ("10", 10),
    "CHAT_THUMBNAIL_SIZE": ("128", 128),
    "CHAT_UPLOAD_DENY_TYPES": ("text/html, image/svg+xml", ["text/html", "image/svg+xml"]),
    "CHAT_UPLOAD_ALLOW_TYPES": ("image/png,application/pdf", ["image/png", "application/pdf"]),
    "CHAT_CLAMD_SOCKET": ("/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl"),
    "CHAT_X_ACCEL_REDIRECT_PREFIX": ("/protected-media/", "/protected-media/"),
    "CHAT_TRUSTED_PROXIES": ("127.0.0.1, 10.0.0.0/8", ["127.0.0.1", "10.0.0.0/8"]),
    "CHAT_CHANNEL_PREFIX": ("chat-staging", "chat-staging"),
    "CHAT_CHANNEL_CAPACITY": ("50", 50),
    "CHAT_GROUP_EXPIRY": ("3600", 3600),
    "CHAT_LOG_FORMAT": ("json", "json"),
    "CHAT_CORS_ALLOWED_ORIGINS": (
        "https://academia.example.com, http://localhost:5173",
        ["https://academia.example.com", "http://localhost:5173"],
    ),
    "CHAT_WS_TICKET_TTL": ("30", 30),
    "CHAT_PUBLIC_URL": ("https://chat.example.com/", "https://chat.example.com"),
    "CHAT_EMAIL_BATCH_DELAY_SECONDS": ("60", 60),
    "CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS": ("600", 600),
    "CHAT_EMAIL_SEND_INTERVAL": ("5", 5.0),
}


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any setting the project reads, plus overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CHAT_"))
        and key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CSRF_TRUSTED_ORIGINS",
            "SQLITE_PATH",
            "PROMETHEUS_MULTIPROC_DIR",
            "DEFAULT_FROM_EMAIL",
        }
        and not key.startswith("EMAIL_")
    }
    env["DJANGO_SETTINGS_MODULE"] = "academia.settings"
    env.update(overrides)
    return env


def load_settings(**env: str) -> dict[str, Any]:
    code = "import django; django.setup()\n" + DUMP
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bare_machine_uses_sqlite_in_memory_layer_and_local_memory_cache() -> None:
    config = load_settings()
    assert config["DEBUG"] is True
    assert config["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert config["DATABASES"]["default"]["NAME"].endswith("db.sqlite3")
    assert config["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert config["CACHES"]["default"]["BACKEND"] == (
        "django.core.cache.backends.locmem.LocMemCache"
    )
    assert "127.0.0.1" in config["ALLOWED_HOSTS"] and "localhost" in config["ALLOWED_HOSTS"]
    assert config["CSRF_TRUSTED_ORIGINS"] == []


def test_contract_chat_settings_have_the_contract_defaults() -> None:
    config = load_settings()
    assert config["CHAT_MAX_MESSAGE_LENGTH"] == 1000
    assert config["CHAT_MESSAGE_HISTORY_LIMIT"] == 1000
    assert config["CHAT_ROOM_MAX_PARTICIPANTS"] == 100
    assert config["CHAT_TYPING_TIMEOUT"] == 3000
    assert config["CHAT_WEBSOCKET_URL"] == "ws://localhost:8000/ws/chat/"
    assert config["CHAT_PRESENCE_WEBSOCKET_URL"] == "ws://localhost:8000/ws/presence/"
    assert config["CHAT_HEARTBEAT_INTERVAL"] == 30
    assert config["CHAT_CONNECTION_TIMEOUT"] == 60
    assert config["CHAT_MESSAGE_EDIT_TIMEOUT"] == 300
    assert config["CHAT_MESSAGE_DELETE_TIMEOUT"] == 300
    assert config["CHAT_FILE_UPLOAD_LIMIT"] == 10 * 1024 * 1024
    assert config["CHAT_IMAGE_OPTIMIZATION"] is True


def test_every_chat_setting_is_read_from_the_environment() -> None:
    config = load_settings(**{name: raw for name, (raw, _) in CHAT_OVERRIDES.items()})
    assert {name: config[name] for name in CHAT_OVERRIDES} == {
        name: expected for name, (_, expected) in CHAT_OVERRIDES.items()
    }


def test_every_chat_setting_defined_is_covered_here() -> None:
    config = load_settings()
    assert sorted(name for name in config if name.startswith("CHAT_")) == sorted(CHAT_OVERRIDES)


def test_the_metrics_directory_is_read_from_the_environment() -> None:
    assert load_settings()["PROMETHEUS_MULTIPROC_DIR"] == ""
    shared = load_settings(PROMETHEUS_MULTIPROC_DIR="/run/academia/metrics")
    assert shared["PROMETHEUS_MULTIPROC_DIR"] == "/run/academia/metrics"


def test_database_url_selects_postgresql_with_a_connection_pool() -> None:
    config = load_settings(DATABASE_URL="postgres://chat:secret@db.example.com:5432/academia")
    database = config["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.example.com",
        5432,
        "academia",
    )
    assert (database["USER"], database["PASSWORD"]) == ("chat", "secret")
    # No connection kept per thread under ASGI: a bounded pool per process instead.
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 16, "timeout": 10.0}
    sized = load_settings(
        DATABASE_URL="postgres://chat@db.example.com/academia", DATABASE_POOL_MAX_SIZE="4"
    )
    assert sized["DATABASES"]["default"]["OPTIONS"]["pool"]["max_size"] == 4


def test_postgresql_connections_start_with_a_statement_timeout() -> None:
    url = "postgres://chat@db.example.com/academia"
    options = load_settings(DATABASE_URL=url)["DATABASES"]["default"]["OPTIONS"]
    assert options["options"] == "-c statement_timeout=30s"
    lifted = load_settings(DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT="0")
    assert "options" not in lifted["DATABASES"]["default"]["OPTIONS"]


@pytest.mark.postgres
def test_postgresql_cancels_a_statement_past_the_timeout() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs DATABASE_URL on PostgreSQL")
    code = (
        "import django; django.setup()\n"
        "from django.db import connection, OperationalError\n"
        "cursor = connection.cursor()\n"
        "try:\n"
        "    cursor.execute('SELECT pg_sleep(3)')\n"
        "    print('finished')\n"
        "except OperationalError as error:\n"
        "    print('cancelled:', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT="1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == (
        "cancelled: canceling statement due to statement timeout"
    )


def test_socket_database_threads_default_to_four_and_never_outnumber_the_pool() -> None:
    assert load_settings()["DATABASE_SOCKET_THREADS"] == 4
    assert load_settings(DATABASE_SOCKET_THREADS="8")["DATABASE_SOCKET_THREADS"] == 8
    small_pool = load_settings(DATABASE_POOL_MAX_SIZE="3", DATABASE_SOCKET_THREADS="8")
    assert small_pool["DATABASE_SOCKET_THREADS"] == 3


def test_redis_url_selects_channels_redis_and_the_redis_cache() -> None:
    config = load_settings(REDIS_URL="redis://cache.example.com:6379/2")
    layer = config["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"].startswith("channels_redis.")
    assert layer["CONFIG"]["hosts"] == ["redis://cache.example.com:6379/2"]
    cache = config["CACHES"]["default"]
    assert cache["BACKEND"] == "academia.cache.ProcessRedisCache"
    assert cache["LOCATION"] == "redis://cache.example.com:6379/2"


def test_the_channel_prefix_names_the_redis_database() -> None:
    layers = [
        load_settings(REDIS_URL=url)["CHANNEL_LAYERS"]["default"]["CONFIG"]["prefix"]
        for url in ("redis://cache.example.com:6379/2", "redis://cache.example.com:6379")
    ]
    assert layers == ["academia.2", "academia.0"]


def test_deployments_on_one_redis_server_do_not_hear_each_other() -> None:
    """Redis pub/sub ignores the database number: the prefix keeps two deployments
    (here databases 1 and 2 of the test server) apart, and one deployment's
    processes, with the same settings, together."""
    import asyncio

    from channels_redis.pubsub import RedisPubSubChannelLayer

    server = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not server:
        pytest.skip("needs TEST_REDIS_URL/REDIS_URL")
    base = server.rsplit("/", 1)[0] if server.count("/") > 2 else server

    def layer(database: int) -> RedisPubSubChannelLayer:
        config = load_settings(REDIS_URL=f"{base}/{database}")["CHANNEL_LAYERS"]["default"]
        return RedisPubSubChannelLayer(**config["CONFIG"])

    async def heard(sender: RedisPubSubChannelLayer, listener: RedisPubSubChannelLayer) -> bool:
        channel = await listener.new_channel()
        await listener.group_add("room.1", channel)
        await sender.group_send("room.1", {"type": "room.event", "text": "secret"})
        try:
            await asyncio.wait_for(listener.receive(channel), timeout=0.5)
        except TimeoutError:
            return False
        finally:
            await listener.group_discard("room.1", channel)
        return True

    async def check() -> tuple[bool, bool]:
        production, staging, production_too = layer(1), layer(2), layer(1)
        try:
            return await heard(staging, production), await heard(production_too, production)
        finally:
            for each in (production, staging, production_too):
                await each.flush()

    assert asyncio.run(check()) == (False, True)


def test_core_redis_layer_gets_capacity_and_expiry() -> None:
    config = load_settings(
        REDIS_URL="redis://127.0.0.1:6379/0",
        CHAT_CHANNEL_LAYER_BACKEND="channels_redis.core.RedisChannelLayer",
        CHAT_CHANNEL_CAPACITY="77",
    )
    layer = config["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["capacity"] == 77


def test_django_settings_are_read_from_the_environment() -> None:
    config = load_settings(
        **PRODUCTION,
        CSRF_TRUSTED_ORIGINS="https://chat.example.com,https://academia.example.com",
    )
    assert config["DEBUG"] is False
    assert config["SECRET_KEY"] == PRODUCTION["DJANGO_SECRET_KEY"]
    assert config["ALLOWED_HOSTS"] == ["chat.example.com"]
    assert config["CSRF_TRUSTED_ORIGINS"] == [
        "https://chat.example.com",
        "https://academia.example.com",
    ]
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["CSRF_COOKIE_SECURE"] is True
    assert config["SECURE_SSL_REDIRECT"] is True
    assert config["SECURE_HSTS_SECONDS"] >= 31536000


def test_email_goes_to_the_console_until_an_smtp_host_is_set() -> None:
    bare = load_settings()
    assert bare["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert bare["CHAT_PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert (bare["CHAT_EMAIL_BATCH_DELAY_SECONDS"], bare["CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS"]) == (
        120,
        900,
    )

    smtp = load_settings(
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="465",
        EMAIL_HOST_USER="chat",
        EMAIL_HOST_PASSWORD="secret",
        EMAIL_USE_TLS="0",
        DEFAULT_FROM_EMAIL="Chat <chat@example.com>",
    )
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        465,
        False,
    )
    assert (smtp["EMAIL_HOST_USER"], smtp["EMAIL_HOST_PASSWORD"]) == ("chat", "secret")
    assert smtp["DEFAULT_FROM_EMAIL"] == "Chat <chat@example.com>"


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_debug_can_be_switched_off_in_several_spellings(value: str) -> None:
    key = PRODUCTION["DJANGO_SECRET_KEY"]
    assert load_settings(DJANGO_DEBUG=value, DJANGO_SECRET_KEY=key)["DEBUG"] is False


@pytest.mark.parametrize(
    "key",
    [None, "", "django-insecure-academia-chat-development-key-change-me-in-production"],
)
def test_production_refuses_to_start_with_the_development_secret_key(key: str | None) -> None:
    env = {"DJANGO_DEBUG": "0"} if key is None else {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        "ImproperlyConfigured: DJANGO_DEBUG is off but DJANGO_SECRET_KEY is unset "
        "(the development key)" in result.stderr
    )


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("CHAT_ROOM_MAX_PARTICIPANTS", "0", "must be from 1 to 100000, not 0"),
        ("CHAT_ROOM_MAX_PARTICIPANTS", "200000", "must be from 1 to 100000, not 200000"),
        ("CHAT_MESSAGE_HISTORY_LIMIT", "0", "must be at least 1, not 0"),
        ("CHAT_MAX_MESSAGE_LENGTH", "ten", "must be a whole number, not 'ten'"),
    ],
)
def test_a_limit_out_of_range_refuses_to_start(name: str, value: str, said: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(**{name: value}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"ImproperlyConfigured: {name} {said}." in result.stderr


def test_development_may_use_the_development_secret_key() -> None:
    assert load_settings()["SECRET_KEY"].startswith("django-insecure-")


def test_check_deploy_is_clean_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_content_security_policy_lets_pages_reach_the_configured_sockets() -> None:
    config = load_settings(
        CHAT_WEBSOCKET_URL="wss://realtime.example.com/ws/chat/",
        CHAT_PRESENCE_WEBSOCKET_URL="wss://realtime.example.com:8443/ws/presence/",
    )
    directives = config["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["connect-src"] == [
        "'self'",
        "wss://realtime.example.com",
        "wss://realtime.example.com:8443",
    ]
    assert directives["script-src"] == ["'self'"]
