"""Issue 10's figures, measured on a private lab (temporary LAB_HOME, free ports):

    .venv/bin/python benchmarks/evidence.py [--runs 5]

1. each measuring chapter's checkpoints, runs passed of N: with two CPU-bound processes beside the report, and
   through a loopback proxy adding ~0.5 ms each way (a Redis one network hop away, used as an endpoint);
2. chapter 04's hit p50 in a full `report --quick` ÷ `bench --json`'s hit p50 run right after (≤ 1.25);
3. the wall time of `report --quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab import ports  # noqa: E402
from tests.stress import DelayProxy, cpu_burners, throwaway_redis  # noqa: E402

MEASURING = ["02", "04", "05", "06", "07"]


def lab_env(home: Path, **extra: str) -> dict:
    master, replica = ports.free_port_pair()
    return {**os.environ, "PYTHONPATH": str(REPO), "LAB_HOME": str(home), "LAB_MASTER_PORT": str(master),
            "LAB_REPLICA_PORT": str(replica), **extra}  # fmt: skip


def run(args: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def report(env: dict, out: Path, chapters: list[str]) -> dict:
    """{chapter: (passed, total)} from summary.json (a skipped chapter: None)."""
    args = ["report", "--quick", "--out", str(out)] + [a for c in chapters for a in ("--chapter", c)]
    run(args, env)
    summary = json.loads((out / "summary.json").read_text())
    found: dict[str, list[int] | None] = {}
    for m in summary["marks"]:
        chapter = m["id"][:2]
        if m["kind"] == "exercise":
            continue  # exercises are the student's (to do here): only the checkpoints are counted
        if m["status"] == "skipped":
            found[chapter] = None
            continue
        counts = found.setdefault(chapter, [0, 0])
        counts[0] += m["status"] == "pass"
        counts[1] += 1
    return found


def under_load(runs: int, tmp: Path) -> dict[str, int]:
    passed = dict.fromkeys(MEASURING, 0)
    env = lab_env(tmp / "load")
    for n in range(runs):
        with cpu_burners(2):
            found = report(env, tmp / f"load-{n}", MEASURING)
        for chapter, counts in found.items():
            passed[chapter] += counts is not None and counts[0] == counts[1]
        print(f"  under load, run {n + 1}: {found}", flush=True)
    run(["down"], env)
    return passed


def one_hop_away(runs: int, tmp: Path, redis_server: str) -> dict[str, int]:
    passed = {"03": 0, "04": 0}
    with throwaway_redis(redis_server, tmp / "endpoint") as (port, password):
        proxy = DelayProxy(port)
        env = lab_env(tmp / "hop", LAB_REDIS_URL=f"redis://default:{password}@127.0.0.1:{proxy.port}/0")
        try:
            for n in range(runs):
                found = report(env, tmp / f"hop-{n}", ["03", "04"])
                for chapter, counts in found.items():
                    passed[chapter] += counts is not None and counts[0] == counts[1]
                print(f"  one hop away, run {n + 1}: {found}", flush=True)
        finally:
            proxy.close()
    return passed


def report_vs_bench(tmp: Path) -> tuple[float, float, float]:
    env = lab_env(tmp / "ratio")
    start = time.perf_counter()
    run(["report", "--quick", "--out", str(tmp / "full")], env)
    wall = time.perf_counter() - start
    summary = json.loads((tmp / "full" / "summary.json").read_text())
    detail = next(m["figure"] for m in summary["marks"] if m["id"] == "04.hit_vs_get")
    in_report = float(re.search(r"hit p50 (\d+) µs", detail).group(1))
    bench = json.loads(run(["bench", "--json"], env).stdout)["hit_p50_us"]
    run(["down"], env)
    return in_report, bench, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from lab import binaries

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        in_report, bench, wall = report_vs_bench(tmp)
        print(f"chapter 04 hit p50 in the full report {in_report:.0f} µs ÷ bench hit p50 right after {bench:.0f} µs "
              f"= {in_report / bench:.2f}; report --quick wall time {wall:.1f} s", flush=True)  # fmt: skip
        load = under_load(args.runs, tmp)
        hop = one_hop_away(args.runs, tmp, binaries.server().path)
    print("checkpoints all passed, runs of", args.runs)
    print("  two CPU burners:", ", ".join(f"{c} {n}/{args.runs}" for c, n in load.items()))
    print("  through the 1 ms proxy (endpoint):", ", ".join(f"{c} {n}/{args.runs}" for c, n in hop.items()))


if __name__ == "__main__":
    main()
