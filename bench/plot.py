"""The picture of a benchmark run: grouped bars per shape, one bar per server.

Reads the JSON lines ``bench/run.py`` wrote (``--out``) and draws four panels:
fan-out deliveries/s (1 x 100, 1 x 500), writes messages/s (50 x 10), p99
latency of every load shape (with the targets of ours marked), and server memory
per idle socket at 2 000 sockets (with the reconnect storm of ours written
below it). Shapes or servers missing from the file are left out.

    python bench/plot.py docs/bench.jsonl docs/bench.png
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

SERVERS = ("raw", "tutorial", "ours", "ours-uvicorn")
LABELS = {
    "raw": "raw websockets (no database)",
    "tutorial": "Channels tutorial consumer (no database)",
    "ours": "Academia Chat (Daphne)",
    "ours-uvicorn": "Academia Chat (uvicorn)",
}
COLOURS = {"raw": "#9e9e9e", "tutorial": "#4c78a8", "ours": "#f58518", "ours-uvicorn": "#f5b971"}
X = "\N{MULTIPLICATION SIGN}"
FANOUT = (("fanout-1x100", f"1 room {X} 100"), ("fanout-1x500", f"1 room {X} 500"))
WRITES = (("writes-50x10", f"50 rooms {X} 10\n50 senders"),)
LATENCY = (
    ("fanout-1x100", f"fan-out\n1 {X} 100", None),
    ("fanout-1x500", f"fan-out\n1 {X} 500", None),
    ("writes-50x10", f"writes\n50 {X} 10", 250.0),
    ("latency-1x500-20/s", f"1 {X} 500\nat 20 msg/s", 100.0),
)
MEMORY = (("memory-2000", "2 000 idle sockets"),)
MEMORY_TARGET_KIB = 24.0
NOTES = {
    "late": ("*", "frames still missing 5 s after the last send (lost or late)"),
    "client": ("†", "load client at a full core: a lower bound"),
}


def run_flags(line: dict[str, Any]) -> set[str]:
    flags = set()
    if line.get("lost"):
        flags.add("late")
    if line.get("client_bound"):
        flags.add("client")
    return flags


def read_runs(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The run lines of a results file, by (shape, server); the last one wins."""
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        line = json.loads(text)
        if "server" in line and "shape" in line:
            runs[(line["shape"], line["server"])] = line
    return runs


def value_label(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}"


def grouped_bars(
    axes: Axes,
    groups: Sequence[tuple[str, str]],
    values: dict[tuple[str, str], float | None],
    *,
    log: bool,
    unit: str,
    flags: dict[tuple[str, str], set[str]] | None = None,
) -> list[str]:
    """One group of bars per shape; returns the servers drawn. A bar whose run has a
    flag gets its mark after the value (see NOTES)."""
    flags = flags or {}
    notes = {key: mark for key, (mark, _) in NOTES.items()}
    servers = [s for s in SERVERS if any(values.get((g, s)) is not None for g, _ in groups)]
    if not servers:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        return []
    width = 0.8 / len(servers)
    for index, server in enumerate(servers):
        xs, heights, marks = [], [], []
        for position, (group, _) in enumerate(groups):
            value = values.get((group, server))
            if value is not None:
                xs.append(position - 0.4 + width * (index + 0.5))
                heights.append(max(value, 1e-3))
                marks.append(
                    "".join(
                        mark for key, mark in notes.items() if key in flags.get((group, server), ())
                    )
                )
        bars = axes.bar(xs, heights, width, color=COLOURS[server], label=LABELS[server])
        for bar, height, mark in zip(bars, heights, marks, strict=True):
            axes.annotate(
                value_label(height) + mark,
                (bar.get_x() + bar.get_width() / 2, height),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
    axes.set_xticks(range(len(groups)), [label for _, label in groups])
    axes.set_ylabel(unit)
    if log:
        axes.set_yscale("log")
    axes.margins(y=0.15)
    axes.grid(axis="y", alpha=0.3)
    return servers


def storm_text(runs: dict[tuple[str, str], dict[str, Any]]) -> str:
    storm = next((line for (shape, _), line in runs.items() if shape.startswith("storm")), None)
    if storm is None:
        return ""
    served = storm.get("served_s")
    when = (
        f"all served in {served:.1f} s"
        if served is not None
        else f"only {storm.get('served_sockets')} served within 60 s"
    )
    return (
        f"Reconnect storm ({storm['server']}): {storm['sockets']} sockets resume with after_seq,\n"
        f"{storm.get('missed_messages')} missed messages each: {when} (target 5 s);\n"
        f"{storm.get('handshakes_refused')} handshakes refused, "
        f"{storm.get('out_of_order_sockets')} sockets out of order, " + health_text(storm)
    )


def health_text(storm: dict[str, Any]) -> str:
    """The /healthz probes during the storm: their p99, or how long the one probe
    still waiting at the end had waited when none was answered."""
    health = storm.get("healthz_ms") or {}
    if health.get("probes"):
        return f"/healthz p99 {health['p99']:.0f} ms"
    unanswered = storm.get("healthz_unanswered_ms")
    if unanswered is not None:
        return f"/healthz unanswered for {unanswered / 1000:.1f} s"
    return "/healthz not probed"


def draw(runs: dict[tuple[str, str], dict[str, Any]], output: Path, title: str) -> None:
    figure, panels = plt.subplots(2, 2, figsize=(13, 9))
    flags = {key: run_flags(line) for key, line in runs.items()}
    fanout, writes, latency, memory = panels.flat
    pick = {key: line.get("deliveries_per_s") for key, line in runs.items()}
    grouped_bars(fanout, FANOUT, pick, log=True, unit="deliveries/s (log)", flags=flags)
    fanout.set_title("Fan-out, one sender at full speed (window 4)")
    pick = {key: line.get("messages_per_s") for key, line in runs.items()}
    grouped_bars(writes, WRITES, pick, log=True, unit="messages/s (log)", flags=flags)
    writes.set_title("Writes at full speed (ours persists every message)")
    pick = {key: (line.get("latency_ms") or {}).get("p99") for key, line in runs.items()}
    latency_groups = [(shape, label) for shape, label, _ in LATENCY]
    grouped_bars(
        latency,
        latency_groups,
        pick,
        log=True,
        unit="p99 ms, send to receipt (log)",
        flags=flags,
    )
    for position, (_, _, target) in enumerate(LATENCY):
        if target is not None:
            latency.hlines(target, position - 0.45, position + 0.45, colors="red", linestyles="--")
    latency.set_title("p99 latency (red: target of ours)")
    pick = {key: line.get("rss_kib_per_socket") for key, line in runs.items()}
    drawn = grouped_bars(memory, MEMORY, pick, log=False, unit="KiB of server RSS per socket")
    if drawn:
        memory.axhline(MEMORY_TARGET_KIB, color="red", linestyle="--", linewidth=1)
    memory.set_title("Memory per idle socket (red: target of ours)")
    storm = storm_text(runs)
    if storm:
        memory.text(
            0.5, -0.22, storm, ha="center", va="top", fontsize=8, transform=memory.transAxes
        )
    handles, labels = [], []
    for axes in panels.flat:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(
        handles, labels, loc="upper center", ncol=4, fontsize=9, bbox_to_anchor=(0.5, 0.95)
    )
    used = set().union(*flags.values()) if flags else set()
    footnote = "   ".join(f"{mark} {text}" for key, (mark, text) in NOTES.items() if key in used)
    if footnote:
        figure.text(0.01, 0.01, footnote, fontsize=8, ha="left", va="bottom")
    dates = sorted(line["at"][:10] for line in runs.values() if line.get("at"))
    if dates:
        title = f"{title}, {dates[-1]}"
    figure.suptitle(title, fontsize=12)
    figure.tight_layout(rect=(0, 0.03, 1, 0.92))
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("results", type=Path, help="JSON lines of bench/run.py")
    parser.add_argument("output", type=Path, help="PNG to write")
    parser.add_argument(
        "--title",
        default="Room sockets, one server process each, side by side in one run (make bench)",
    )
    args = parser.parse_args()
    runs = read_runs(args.results)
    if not runs:
        raise SystemExit(f"no runs in {args.results}")
    draw(runs, args.output, args.title)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
