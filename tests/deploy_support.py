"""The shipped deployment kit as the tests read it: the nginx site template
rendered the way envsubst renders it, and Daphne started the way the systemd
unit starts it; plus nginx itself as a foreground process in a temporary prefix."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from chat.tests.servers import Server, launch

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "academia.conf.template"
DAPHNE_UNIT = DEPLOY / "systemd" / "academia-daphne@.service"
PLACEHOLDER = re.compile(r"\$\{(ACADEMIA_[A-Z0-9_]+)\}")
START_TIMEOUT = 30.0


def nginx_binary() -> Path:
    return Path(os.environ.get("NGINX_PATH", "/usr/sbin/nginx"))


def template_placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def render_template(text: str, values: dict[str, str]) -> str:
    """``envsubst`` restricted to the template's ``${ACADEMIA_*}`` names: nginx's
    own ``$variables`` stay; a placeholder without a value is an error."""
    missing = template_placeholders(text) - values.keys()
    if missing:
        raise KeyError(f"no value for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def unit_directives(path: Path) -> dict[str, list[str]]:
    """A systemd unit's ``Key=value`` lines (continuations joined), by key."""
    directives: dict[str, list[str]] = {}
    logical = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith(("#", ";", "["))):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        key, _, value = logical.partition("=")
        directives.setdefault(key.strip(), []).append(value.strip())
        logical = ""
    return directives


def unit_exec_start(path: Path) -> list[str]:
    return shlex.split(unit_directives(path)["ExecStart"][0])


def daphne_unit_command(port: int) -> list[str]:
    """The unit's ExecStart for instance ``port``, with this interpreter
    (``python -m academia.serve``: Daphne with the project's additions)."""
    argv = unit_exec_start(DAPHNE_UNIT)
    assert Path(argv[0]).name == "python" and argv[1:3] == ["-m", "academia.serve"], argv
    return [sys.executable, *(arg.replace("%i", str(port)) for arg in argv[1:])]


def start_daphne(port: int, env: dict[str, str]) -> Server:
    """Daphne as the unit runs it, on ``port``; returns once /healthz answers."""
    return launch(daphne_unit_command(port), port, env)


# The test's own main configuration: everything that lives in /etc/nginx/nginx.conf
# on a host, pointed into a temporary prefix, with an access log that names the
# upstream each request went to. The shipped site is included as a host includes it.
MAIN_CONF = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    log_format upstreams '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {prefix}/logs/access.log upstreams;
    include {prefix}/sites/academia.conf;
}}
"""


@dataclass
class Nginx:
    prefix: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[str]:
        path = self.prefix / "logs" / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_nginx(prefix: Path, port: int, values: dict[str, str]) -> Nginx:
    """nginx in the foreground (``daemon off``) with the rendered shipped site."""
    for folder in ("logs", "temp", "sites"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    site = render_template(NGINX_TEMPLATE.read_text(), values)
    (prefix / "sites" / "academia.conf").write_text(site)
    # Workers of a root master drop to "nobody" unless told otherwise; the temporary
    # prefix is private to this user.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(MAIN_CONF.format(prefix=prefix, user=user))
    command = [
        str(nginx_binary()),
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(prefix / "logs" / "error.log"),
        "-g",
        "daemon off;",
    ]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{checked.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = Nginx(prefix=prefix, port=port, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{nginx.error_log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return nginx
        time.sleep(0.1)
    nginx.stop()
    raise RuntimeError("nginx did not start in time")
