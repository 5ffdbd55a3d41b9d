"""Render docs/performance.md from benchmarks/results/*.json (`python -m benchmarks.render`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, ROOT

DOC = ROOT / "docs" / "performance.md"
REFERENCE = {"p50": 37, "p95": 55, "c8": 26, "batch_s": 3.2, "first_s": 5.6}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _get(data: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return "–"
        data = data[key]
    return data


def _http_rows(before: dict | None, after: dict | None) -> list[str]:
    def cell(data: dict | None, *keys: str) -> str:
        return str(_get(data, *keys))

    rows = [
        ("POST /route p50, sequential (ms)", ("route_c1", "p50_ms"), "<= 15", REFERENCE["p50"]),
        ("POST /route p95, sequential (ms)", ("route_c1", "p95_ms"), "", REFERENCE["p95"]),
        ("POST /route p99, sequential (ms)", ("route_c1", "p99_ms"), "", "–"),
        ("POST /route req/s, concurrency 1", ("route_c1", "req_per_s"), "", "–"),
        ("POST /route req/s, concurrency 8", ("route_c8", "req_per_s"), ">= 100", REFERENCE["c8"]),
        ("POST /route p50 / p95 at concurrency 8 (ms)", None, "", "–"),
        ("POST /route req/s, concurrency 32", ("route_c32", "req_per_s"), "", "–"),
        ("POST /route/batch, 100 tickets (ms)", ("batch100", "p50_ms"), "<= 1000", 3200),
        ("POST /route/batch tickets/s", ("batch100", "tickets_per_s"), "", "–"),
        ("first request after ready (ms)", ("first_request_ms",), "≈ the rest", 5600),
        ("later requests on a new connection, p50 (ms)", ("new_connection_ms",), "", "–"),
    ]
    out = []
    for label, keys, target, ref in rows:
        if keys is None:
            b = f"{cell(before, 'route_c8', 'p50_ms')} / {cell(before, 'route_c8', 'p95_ms')}"
            a = f"{cell(after, 'route_c8', 'p50_ms')} / {cell(after, 'route_c8', 'p95_ms')}"
        else:
            b, a = cell(before, *keys), cell(after, *keys)
        out.append(f"| {label} | {ref} | {b} | {a} | {target} |")
    return out


def render() -> Path:
    bench = _load("bench.json") or {}
    m = bench.get("machine", {})
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`python -m benchmarks.run`); raw numbers in "
        "`benchmarks/results/*.json`. Real tickets from the prepared test split are read at run "
        "time. Every HTTP number is the median of repeated rounds against `bentoml serve` on "
        "loopback (client on the same machine), dedup embedding included.",
        "",
        f"Machine: {m.get('cores', '?')} cores, {m.get('cpu_model', '?')}, Python "
        f"{m.get('python', '?')}; 1-minute load average at start "
        f"{m.get('load_avg_1m_at_start', '?')} (the machine is shared: above ~1 other work "
        "was running, and the numbers are noisier).",
        "",
        "*Reference*: the original service on this kind of machine. *Before*: the baseline "
        f"checkout given to `--baseline`, here {bench.get('baseline', '–')}; *after*: this "
        "checkout. Both servers run side by side in the same run and every measurement "
        "alternates between them, so background load hits both alike.",
        "",
    ]
    for role in ("champion", "fallback"):
        before, after = _get(bench, "http", role, "before"), _get(bench, "http", role, "after")
        before = before if isinstance(before, dict) else None
        used = _get(after, "model_used")
        lines += [
            f"## Over HTTP: {role} ({used})",
            "",
            "| metric | reference | before | after | target |",
            "|---|---|---|---|---|",
            *_http_rows(before, after),
            "",
        ]
    inproc = _get(bench, "in_process")
    if isinstance(inproc, dict):
        lines += [
            "## In-process latency per ticket (now)",
            "",
            "| model | single p50 (ms) | single p95 (ms) | batch of 32, per ticket p50 (ms) |",
            "|---|---|---|---|",
        ]
        for name, row in inproc.items():
            lines.append(
                f"| {name} | {row['single']['p50_ms']} | {row['single']['p95_ms']} | "
                f"{row['batch32_per_ticket']['p50_ms']} |"
            )
        champion = _get(bench, "http", "champion", "after", "route_c1", "p50_ms")
        model = inproc.get("m2", {}).get("single", {}).get("p50_ms")
        if isinstance(champion, float | int) and model:
            lines += [
                "",
                f"Serving overhead (champion M2): HTTP p50 / in-process p50 = {champion} / "
                f"{model} = {champion / model:.1f}×. M2's in-process time includes its encoder "
                "pass, which the service shares with dedup (one pass per ticket).",
            ]
    window = _get(bench, "dedup_window")
    if isinstance(window, dict) and isinstance(window.get("after"), dict):
        before = window.get("before") or {}
        lines += [
            "",
            "## Dedup decision per ticket in the HTTP front, by window size",
            "",
            "`Deduplicator.observe` against a window of unrelated tickets (5 minutes at 100 "
            "tickets/s hold 30,000); *before* is the baseline commit's code, same run.",
            "",
            "| window | before p50 (ms) | after p50 (ms) | after p95 (ms) |",
            "|---|---|---|---|",
        ]
        for name, row in window["after"].items():
            lines.append(
                f"| {name.removeprefix('window of ')} tickets | "
                f"{_get(before, name, 'p50_ms')} | {row['p50_ms']} | {row['p95_ms']} |"
            )
    notes = ROOT / "benchmarks" / "performance_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    DOC.write_text("\n".join(lines) + "\n")
    return DOC


if __name__ == "__main__":
    print(render())
