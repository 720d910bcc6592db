"""The deployment kit cross-checked against the code and the docs, without Docker or
systemd running: the compose file against the settings, the docs against the compose
file, every Daphne start command against the required limits, the units against the
management commands, and the nginx site against the settings it must match."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from chat.api.views import MULTIPART_OVERHEAD
from tests.deploy_support import (
    DAPHNE_UNIT,
    DEPLOY,
    NGINX_TEMPLATE,
    ROOT,
    template_placeholders,
    unit_directives,
    unit_exec_start,
)

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
HOST_ENV_EXAMPLE = DEPLOY / "systemd" / "academia.env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
DEPLOYMENT_DOC = ROOT / "docs" / "DEPLOYMENT.md"
README = ROOT / "README.md"
WS_BACKSTOP = "1048576"
REQUIRED_SERVICES = {"app1", "app2", "nginx", "postgres", "redis", "clamd"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run the application image (Daphne or manage.py)."""
    return {
        name: service
        for name, service in services().items()
        if service.get("build", {}).get("target") == "app"
    }


def known_settings() -> set[str]:
    """Every environment variable academia/settings.py reads, and README's table."""
    source = (ROOT / "academia" / "settings.py").read_text()
    read = set(re.findall(r"env_(?:str|bool|int|float|list)\(\s*\"([A-Z0-9_]+)\"", source))
    table = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), re.MULTILINE))
    return read | table


def env_file_keys(path: Path) -> dict[str, str]:
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[key] = value
    return keys


def interpolated(text: str) -> set[str]:
    """Names compose interpolates: ${NAME}, ${NAME:-default}, ${NAME:?error} ($$ escapes)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))


# --- compose ---------------------------------------------------------------------------


def test_compose_has_the_stack() -> None:
    names = set(services())
    assert names >= REQUIRED_SERVICES
    assert set(app_services()) >= {"app1", "app2"}
    for name in ("app1", "app2"):
        assert "command" not in services()[name]  # the image's CMD: Daphne


def test_every_variable_compose_sets_for_the_app_is_a_setting() -> None:
    known = known_settings()
    for name, service in app_services().items():
        environment = service["environment"]
        assert isinstance(environment, dict), name
        unknown = sorted(set(environment) - known)
        assert unknown == [], f"{name} sets variables no setting reads: {unknown}"


def test_the_app_environment_matches_the_site_and_the_network() -> None:
    app = services()["app1"]["environment"]
    nginx = services()["nginx"]
    nginx_address = nginx["networks"]["backend"]["ipv4_address"]
    assert app["CHAT_TRUSTED_PROXIES"] == nginx_address
    assert app["CHAT_X_ACCEL_REDIRECT_PREFIX"] == "/protected-media/"
    assert "location /protected-media/ {" in NGINX_TEMPLATE.read_text()
    assert app["CHAT_CLAMD_SOCKET"] == "/run/clamav/clamd.sock"
    assert app["DJANGO_DEBUG"] == "0"
    # Both app services, and nothing else, are nginx's upstreams.
    upstreams = nginx["environment"]["ACADEMIA_UPSTREAM_SERVERS"]
    assert re.findall(r"server (\S+):8000", upstreams) == ["app1", "app2"]
    # Media: written by the app, read-only for nginx at the site's media root.
    assert "media:/var/lib/academia/media" in services()["app1"]["volumes"]
    assert "media:/var/lib/academia/media:ro" in nginx["volumes"]
    assert "ACADEMIA_MEDIA_ROOT=/var/lib/academia/media" in DOCKERFILE.read_text()
    # clamd's socket directory is the app's.
    assert "clamd-socket:/tmp" in services()["clamd"]["volumes"]
    assert "clamd-socket:/run/clamav" in services()["app1"]["volumes"]


def test_nginx_gets_every_placeholder_of_the_template() -> None:
    placeholders = template_placeholders(NGINX_TEMPLATE.read_text())
    given = set(services()["nginx"]["environment"])
    baked = set(re.findall(r"(ACADEMIA_[A-Z_]+)=", DOCKERFILE.read_text()))
    assert placeholders - given - baked == set()
    assert services()["nginx"]["environment"]["ACADEMIA_FORWARDED_PROTO"] == "$$scheme"


def test_env_example_and_compose_agree() -> None:
    example = env_file_keys(ENV_EXAMPLE)
    used = interpolated(COMPOSE.read_text())
    assert used - set(example) == set(), "compose uses variables .env.example lacks"
    assert set(example) - used == set(), ".env.example has variables compose never uses"


def test_the_host_environment_example_names_only_settings() -> None:
    keys = set(env_file_keys(HOST_ENV_EXAMPLE))
    commented = set(re.findall(r"^# ([A-Z0-9_]+)=", HOST_ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert (keys | commented) - known_settings() == set()
    assert keys >= {"CHAT_X_ACCEL_REDIRECT_PREFIX", "CHAT_TRUSTED_PROXIES", "DJANGO_MEDIA_ROOT"}


def compose_services_in(doc: str) -> set[str]:
    """The services ``docker compose -f deploy/compose.yaml <command>`` lines name."""
    named: set[str] = set()
    for rest in re.findall(r"docker compose -f deploy/compose\.yaml ([^`\n]*)", doc):
        command, *words = rest.split()
        operands = [word for word in words if not word.startswith("-")]
        if command in {"exec", "run"}:
            named.add(operands[0])  # then the command run inside it
        elif command in {"logs", "up", "stop", "start", "restart", "ps", "build"}:
            named.update(word for word in operands if re.fullmatch(r"[a-z0-9-]+", word))
    return named


def test_services_named_in_the_docs_exist_and_every_service_is_described() -> None:
    doc = DEPLOYMENT_DOC.read_text()
    section = doc.split("## Docker Compose", 1)[1].split("\n## ", 1)[0]
    table = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.MULTILINE):
        table |= set(re.findall(r"`([a-z0-9-]+)`", row))
    named = compose_services_in(doc)
    assert table == set(services())
    assert named >= {"app1", "app2", "postgres", "migrate", "jobs"}
    assert named - set(services()) == set()


def test_compose_volumes_and_networks_are_declared() -> None:
    data = compose()
    used_volumes = set()
    for service in services().values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used_volumes.add(source)
    assert used_volumes == set(data["volumes"])
    assert set(data["networks"]) == {"backend"}


# --- Daphne start commands ---------------------------------------------------------------

DAPHNE_COMMAND = re.compile(
    r"(?:(?:^|[\s\"'\[/])daphne|\bacademia\.serve)\s+(-[^\n]*?)\bacademia\.asgi:application",
    re.MULTILINE,
)


def daphne_commands(text: str) -> list[str]:
    """Each Daphne invocation (shell, unit or JSON array form), on one line."""
    flat = text.replace("\\\n", " ")
    flat = re.sub(r"[\"',\[\]]", " ", flat)
    return [" ".join(match.split()) for match in DAPHNE_COMMAND.findall(flat)]


@pytest.mark.parametrize(
    "path",
    [
        DAPHNE_UNIT,
        DOCKERFILE,
        DEPLOYMENT_DOC,
    ],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_every_daphne_start_command_sets_the_websocket_backstop(path: Path) -> None:
    commands = daphne_commands(path.read_text())
    assert commands, f"no Daphne command found in {path}"
    for command in commands:
        assert f"--websocket-max-message-size {WS_BACKSTOP}" in command, command
        assert f"--websocket-max-frame-size {WS_BACKSTOP}" in command, command
        assert "--proxy-headers" not in command, command


def test_no_other_file_of_the_kit_starts_daphne_without_the_limits() -> None:
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            for command in daphne_commands(path.read_text()):
                assert f"--websocket-max-message-size {WS_BACKSTOP}" in command, path
                assert f"--websocket-max-frame-size {WS_BACKSTOP}" in command, path


def test_the_dockerfile_installs_the_runtime_part_of_the_requirements() -> None:
    marker = re.search(r"sed '/\^(# [^/]+)/,\$d' requirements\.txt", DOCKERFILE.read_text())
    assert marker is not None
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert marker.group(1) in requirements
    runtime = requirements[: requirements.index(marker.group(1))]
    names = {line.split("=")[0].split("[")[0].lower() for line in runtime if "==" in line}
    assert {"django", "daphne", "channels-redis", "psycopg"} <= {
        name.replace("_", "-") for name in names
    }
    assert "pytest" not in names and "playwright" not in names


# --- systemd ------------------------------------------------------------------------------


def test_the_daphne_unit_stops_gracefully_one_process_per_port() -> None:
    unit = unit_directives(DAPHNE_UNIT)
    assert unit["KillSignal"] == ["SIGTERM"]
    assert unit["KillMode"] == ["mixed"]
    assert 10 <= int(unit["TimeoutStopSec"][0].removesuffix("s")) <= 120
    assert unit["Restart"] == ["always"]
    argv = unit_exec_start(DAPHNE_UNIT)
    assert argv[argv.index("--bind") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "%i"
    assert argv[-1] == "academia.asgi:application"
    media = json.dumps(unit["ReadWritePaths"])
    assert "/var/lib/academia/media" in media
    assert env_file_keys(HOST_ENV_EXAMPLE)["DJANGO_MEDIA_ROOT"] == "/var/lib/academia/media"


@pytest.mark.parametrize(
    ("timer", "command"),
    [("academia-prune-events", "prune_events"), ("academia-presence-sweep", "presence_sweep")],
)
def test_each_timer_runs_an_existing_management_command(timer: str, command: str) -> None:
    systemd = DEPLOY / "systemd"
    timer_unit = unit_directives(systemd / f"{timer}.timer")
    assert "OnCalendar" in timer_unit or "OnUnitActiveSec" in timer_unit
    service = unit_directives(systemd / f"{timer}.service")
    assert service["Type"] == ["oneshot"]
    argv = unit_exec_start(systemd / f"{timer}.service")
    assert argv[1:] == ["manage.py", command]
    assert (ROOT / "chat" / "management" / "commands" / f"{command}.py").is_file()
    assert f"manage.py {command}" in (DEPLOY / "docker" / "jobs.sh").read_text()


def test_the_mailer_runs_the_email_sender_on_a_host_and_in_compose() -> None:
    unit_path = DEPLOY / "systemd" / "academia-mailer.service"
    unit = unit_directives(unit_path)
    assert unit["Type"] == ["simple"]
    assert unit["Restart"] == ["always"]
    assert unit["PartOf"] == ["academia.target"]
    assert unit_exec_start(unit_path)[1:] == ["manage.py", "send_notification_emails"]
    command = ROOT / "chat" / "management" / "commands" / "send_notification_emails.py"
    assert command.is_file()
    mailer = services()["mailer"]
    assert mailer["build"]["target"] == "app"
    assert mailer["command"] == ["python", "manage.py", "send_notification_emails"]
    environment = mailer["environment"]
    assert environment["CHAT_PUBLIC_URL"] == "https://${ACADEMIA_HOST}"
    assert {"EMAIL_HOST", "EMAIL_PORT", "DEFAULT_FROM_EMAIL"} <= set(environment)


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("daphne", "python"):
        (stubs / name).write_text("#!/bin/sh\n")
        (stubs / name).chmod(0o755)
    units = []
    for path in sorted((DEPLOY / "systemd").glob("academia*")):
        if path.suffix not in {".service", ".timer", ".target"}:
            continue
        name = path.name.replace("@.service", "@8001.service")
        text = path.read_text().replace("/srv/academia/venv/bin/", f"{stubs}/")
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    result = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_rolling_restart_script_is_valid_bash() -> None:
    script = DEPLOY / "rolling-restart.sh"
    assert script.stat().st_mode & 0o111
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")


# --- nginx site ---------------------------------------------------------------------------


def location(site: str, path: str) -> str:
    """The body of the site's ``location <path> { ... }`` block."""
    return site.split(f"location {path} {{", 1)[1].split("\n    }", 1)[0]


def size_in_bytes(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_the_site_takes_exactly_the_largest_body_the_server_takes() -> None:
    # Larger, and a body between the two would reach the server, which answers 413
    # and closes unread: nginx, still sending it, answered 502 instead.
    site = NGINX_TEMPLATE.read_text()
    found = re.search(r"client_max_body_size (\S+);", site)
    assert found is not None
    assert size_in_bytes(found.group(1)) == settings.CHAT_FILE_UPLOAD_LIMIT + MULTIPART_OVERHEAD


def test_websocket_timeouts_are_above_the_heartbeat() -> None:
    site = NGINX_TEMPLATE.read_text()
    ws = location(site, "/ws/")
    assert "proxy_pass http://academia_daphne;" in ws
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        found = re.search(rf"{directive} (\S+);", ws)
        assert found is not None, directive
        timeout = seconds(found.group(1))
        assert timeout > settings.CHAT_CONNECTION_TIMEOUT > settings.CHAT_HEARTBEAT_INTERVAL
    assert "proxy_set_header Upgrade $http_upgrade;" in site
    assert "proxy_set_header Connection $academia_connection;" in site


def test_the_site_replaces_the_clients_forwarded_for_and_hides_media() -> None:
    site = NGINX_TEMPLATE.read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "$proxy_add_x_forwarded_for" not in site
    protected = location(site, "/protected-media/")
    assert "internal;" in protected
    assert "alias ${ACADEMIA_MEDIA_ROOT}/;" in protected
    assert "location /media/ {\n        return 404;" in site
