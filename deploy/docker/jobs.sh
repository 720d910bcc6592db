#!/bin/sh
# The periodic jobs of a compose deployment (systemd timers on a host):
# presence_sweep every minute, prune_events every hour.
set -eu
trap 'exit 0' TERM INT
minute=0
while true; do
    python manage.py presence_sweep || echo "presence_sweep failed" >&2
    if [ $((minute % 60)) -eq 0 ]; then
        python manage.py prune_events || echo "prune_events failed" >&2
    fi
    minute=$((minute + 1))
    sleep 60 &
    wait $!
done
