"""The figures our issues ask for, measured in one run on a private lab (temporary LAB_HOME, free ports).

    .venv/bin/python benchmarks/figures.py [--runs 7]

Lifecycle times are wall times of `python -m lab ...` subprocesses (medians of --runs); latency figures come
from the same functions the chapters call, on the same server, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def wall(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    from lab import ports, servers

    home = tempfile.mkdtemp(prefix="lab-figures-")
    master, replica = ports.free_port_pair()
    os.environ.update(LAB_HOME=home, LAB_MASTER_PORT=str(master), LAB_REPLICA_PORT=str(replica))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    figures: dict = {}
    try:
        cold, warm = [], []
        for _ in range(runs):
            wall(["-m", "lab", "down"], env)
            cold.append(wall(["-m", "lab", "up"], env))
            warm.append(wall(["-m", "lab", "up"], env))
        figures["lab_up_cold_s_p50"] = round(statistics.median(cold), 3)
        figures["lab_up_warm_s_p50"] = round(statistics.median(warm), 3)
        figures["import_lab_s_p50"] = round(statistics.median(wall(["-c", "import lab"], env) for _ in range(runs)), 3)
        figures["python_startup_s_p50"] = round(statistics.median(wall(["-c", "pass"], env) for _ in range(runs)), 3)

        from lab import bench, context, replication, resync

        ctx = context()

        start = time.perf_counter()
        figures["bench"] = bench.run()
        figures["bench_wall_s"] = round(time.perf_counter() - start, 2)

        measured = replication.time_to_visible(ctx, 1000)
        visible = measured.frame
        figures["time_to_visible_us"] = {
            "p50": round(visible.visible_us.median(), 1),
            "p99": round(visible.visible_us.quantile(0.99), 1),
            "set_round_trip_p50": round(visible.rtt_us.median(), 1),
            "poller_round_trip_p50": round(measured.poll_p50_us, 1),
            "lost": measured.lost,
        }
        waits = replication.wait_cost(ctx, 1000)
        p50 = waits.frame.groupby("variant").latency_us.median()
        figures["wait_us_p50"] = {"SET": round(p50["SET"], 1), "SET + WAIT 1": round(p50["SET + WAIT 1"], 1)}
        heals = [resync.master_failure(ctx).heal_ms for _ in range(5)]
        figures["heal_after_promotion_ms"] = {"p50": statistics.median(heals), "all": heals}

        from lab import cluster, cluster_lessons, failover, sentinel

        sentinel.up()
        runs = failover.measure(ctx, 5, use_wait=False).rows
        lossy = failover.measure(ctx, 3, use_wait=False, lag_s=0.3).rows + failover.measure(ctx, 3, True, 0.3).rows
        failover.restore()
        sentinel.down()
        times = [r["failover_s"] for r in runs]
        figures["sentinel_failover_s"] = {"p50": statistics.median(times), "max": max(times), "all": times,
                                          "writes_lost_no_lag": [r["writes_lost"] for r in runs]}  # fmt: skip
        figures["sentinel_writes_lost_with_replica_lag_0.3s"] = {
            "without_wait": [r["writes_lost"] for r in lossy if not r["wait"]],
            "with_wait": [r["writes_lost"] for r in lossy if r["wait"]],
            "acknowledged_without_wait": [r["writes_acknowledged"] for r in lossy if not r["wait"]],
        }
        cluster.up()
        takeovers = [cluster_lessons.kill_master_and_time(ctx).failover_s for _ in range(3)]
        cluster.down()
        figures["cluster_failover_s"] = {"p50": statistics.median(takeovers), "all": takeovers}
    finally:
        servers.down()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
