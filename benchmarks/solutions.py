"""Issue 17's figure: runs of `report --quick --solutions` that passed whole (every checkpoint and every exercise,
predictions included), beside two CPU-bound processes — on the lab's own pair, and with the lab's Redis one
network hop away (an endpoint behind a loopback proxy adding ~0.5 ms each way; the chapters that need the lab's
own servers are skipped there, as for any endpoint).

    .venv/bin/python benchmarks/solutions.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.evidence import lab_env, run  # noqa: E402
from lab import binaries  # noqa: E402
from tests.stress import DelayProxy, cpu_burners, throwaway_redis  # noqa: E402


def one_run(env: dict, out: Path) -> tuple[bool, float, str]:
    """(passed whole, seconds, what failed) for one `report --quick --solutions` beside two burners."""
    start = time.perf_counter()
    with cpu_burners(2):
        done = run(["report", "--quick", "--solutions", "--out", str(out)], env)
    seconds = time.perf_counter() - start
    try:
        summary = json.loads((out / "summary.json").read_text())
    except OSError:
        return False, seconds, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no summary"
    bad = [f"{m['id']}: {(m['figure'] or m['message'])[:90]}" for m in summary["marks"]
           if m["status"] not in ("pass", "skipped")]  # fmt: skip
    return done.returncode == 0 and not bad, seconds, "; ".join(bad)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[bool, float, str]]] = {"direct": [], "one hop away": []}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = lab_env(tmp / "direct")
        for n in range(args.runs):
            results["direct"].append(one_run(env, tmp / f"direct-{n}"))
            print(f"  direct, run {n + 1}: {results['direct'][-1]}", flush=True)
        run(["down"], env)
        with throwaway_redis(binaries.server().path, tmp / "endpoint") as (port, password):
            proxy = DelayProxy(port)
            env = lab_env(tmp / "hop", LAB_REDIS_URL=f"redis://default:{password}@127.0.0.1:{proxy.port}/0")
            try:
                for n in range(args.runs):
                    results["one hop away"].append(one_run(env, tmp / f"hop-{n}"))
                    print(f"  one hop away, run {n + 1}: {results['one hop away'][-1]}", flush=True)
            finally:
                proxy.close()
    for where, rows in results.items():
        times = ", ".join(f"{s:.0f} s" for _, s, _ in rows)
        print(f"{where}: {sum(ok for ok, _, _ in rows)}/{len(rows)} runs passed whole beside two burners ({times})")


if __name__ == "__main__":
    main()
