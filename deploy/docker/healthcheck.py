"""Container health: the process answers /healthz (Docker's HEALTHCHECK).

The probe names a host from DJANGO_ALLOWED_HOSTS, as a browser would, so the
check passes the host validation every real request goes through.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def probe_host() -> str:
    first = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    first = first.lstrip(".")  # ".example.edu" allows example.edu
    return "localhost" if first in {"", "*"} else first


def main() -> int:
    request = urllib.request.Request(
        "http://127.0.0.1:8000/healthz", headers={"Host": probe_host()}
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
