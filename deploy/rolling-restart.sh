#!/usr/bin/env bash
# Restart the Daphne processes of this host one at a time, without downtime.
#
#   deploy/rolling-restart.sh              # every active academia-daphne@<port>
#   deploy/rolling-restart.sh 8001 8002    # these ports, in this order
#
# For each port: `systemctl restart` sends SIGTERM (the unit's KillSignal); the
# process stops accepting, closes its WebSockets (clients reconnect with
# after_seq through nginx to the other processes) and finishes its requests,
# within the unit's TimeoutStopSec. Meanwhile nginx passes new requests to the
# other processes (a refused connection goes to the next upstream). Once the
# new process answers /readyz, the next port follows. A process that does not
# come back stops the script, with the others still serving.
#
# Environment: READY_TIMEOUT (s, default 60), SETTLE_SECONDS (default 10: time
# for reconnecting clients to spread before the next restart; longer than the
# fail_timeout of nginx's upstreams when they use max_fails), ENV_FILE (default
# /etc/academia/academia.env: its first DJANGO_ALLOWED_HOSTS entry is the Host
# header of the readiness probe).
set -euo pipefail

READY_TIMEOUT="${READY_TIMEOUT:-60}"
SETTLE_SECONDS="${SETTLE_SECONDS:-10}"
ENV_FILE="${ENV_FILE:-/etc/academia/academia.env}"

probe_host=localhost
if [ -r "$ENV_FILE" ]; then
    allowed="$(sed -n 's/^DJANGO_ALLOWED_HOSTS=//p' "$ENV_FILE" | tail -n 1 | tr -d "\"'")"
    probe_host="${allowed%%,*}"
    probe_host="${probe_host#.}"  # ".example.edu" allows example.edu too
    if [ -z "$probe_host" ] || [ "$probe_host" = "*" ]; then
        probe_host=localhost
    fi
fi

if [ "$#" -gt 0 ]; then
    ports=("$@")
else
    mapfile -t ports < <(
        systemctl list-units --type=service --state=active --plain --no-legend \
            'academia-daphne@*.service' |
            sed -n 's/^academia-daphne@\([0-9]*\)\.service.*/\1/p'
    )
fi
if [ "${#ports[@]}" -eq 0 ]; then
    echo "no active academia-daphne@<port> units" >&2
    exit 1
fi
if [ "${#ports[@]}" -eq 1 ]; then
    echo "warning: only one process (port ${ports[0]}): its clients wait while it restarts" >&2
fi

ready() {  # port
    curl --silent --fail --max-time 3 --output /dev/null \
        --header "Host: $probe_host" "http://127.0.0.1:$1/readyz"
}

for port in "${ports[@]}"; do
    echo "restarting academia-daphne@$port"
    systemctl restart "academia-daphne@$port.service"
    deadline=$((SECONDS + READY_TIMEOUT))
    until ready "$port"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "academia-daphne@$port is not ready after ${READY_TIMEOUT}s; stopping here" >&2
            systemctl status --no-pager "academia-daphne@$port.service" >&2 || true
            exit 1
        fi
        sleep 1
    done
    echo "academia-daphne@$port is ready"
    sleep "$SETTLE_SECONDS"
done
echo "restarted: ${ports[*]}"
