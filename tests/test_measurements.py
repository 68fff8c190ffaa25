"""bench, ttl and plots on real servers: shapes, behaviour and bad input (no timing thresholds here)."""

import json
import os

import matplotlib
import pandas as pd
import pytest

from lab import bench, context, plots, ttl
from lab.core.errors import LabError

from .conftest import run_lab

matplotlib.use("Agg")
COLUMNS = ["variant", "latency_us", "sample", "t"]


def test_hits_and_raw_get_are_alternated_tidy_rows(pair):
    hits = bench.hits(context(), 50)
    df = hits.frame
    assert [m.id for m in hits.marks()] == ["04.hit_vs_get"]
    assert list(df.columns) == COLUMNS and len(df) == 100
    assert df.groupby("variant").size().to_dict() == {"cache hit": 50, "raw GET": 50}
    assert (df.latency_us > 0).all() and df.t.is_monotonic_increasing


def test_misses_include_the_database_delay(pair):
    ctx = context()
    misses = bench.misses(ctx, 3, delay=0.05, jitter=0)
    df = misses.frame
    assert len(df) == 3 and (df.latency_us >= 50_000).all()
    lookups = bench.Lookups.of(bench.hits(ctx, 20), misses)
    assert set(lookups.frame.variant) == {"cache hit", misses.variant} and lookups.marks()[0].ok


@pytest.mark.parametrize(
    "frame, variants",
    [
        (lambda: bench.master_vs_replica(context(), 20), {"hit on master", "hit on replica"}),
        (lambda: bench.connection_reuse(context(), 10), {"reused client", "new client per request"}),
        (lambda: bench.round_trips(context(), 20), {"pipelined GET+PTTL", "sequential GET, PTTL"}),
        (lambda: bench.miss_overhead(context(), 10), {"miss (0 ms db)", "cache hit"}),
    ],
)
def test_comparisons_measure_both_sides(pair, frame, variants):
    df = frame().frame
    assert set(df.variant) == variants and list(df.columns) == COLUMNS


def test_percentile_table(pair):
    table = bench.percentile_table(bench.hits(context(), 30))
    assert list(table.columns) == ["count", "p50_us", "p90_us", "p99_us", "max_us"]
    assert (table.p50_us <= table.p99_us).all() and (table.p99_us <= table.max_us).all()


def test_bench_json_prints_one_object(pair):
    result = run_lab("bench", "--json", "--hit-samples", "50", "--miss-samples", "3", "--new-client-samples", "10")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "hit_p50_us",
        "hit_p99_us",
        "raw_get_p50_us",
        "miss_p50_ms",
        "new_client_p50_us",
        "samples",
        "redis_version",
        "redis_binary",
        "stampede_db_reads_unprotected",
        "stampede_db_reads_single_flight",
    ):
        assert key in data, key
    assert data["samples"]["hit"] == 50 and data["stampede_db_reads_single_flight"] == 1


@pytest.mark.parametrize("args", [["--hit-samples", "0"], ["--miss-samples", "-5"]])
def test_bench_refuses_bad_counts(lab_home, args):
    result = run_lab("bench", *args)
    assert (
        result.returncode == 1
        and "is not allowed: give a whole number from 1 to" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_bench_when_the_lab_is_down(lab_home):
    result = run_lab("bench")
    assert result.returncode == 1 and "`./workbook up`" in result.stderr and "Traceback" not in result.stderr


def test_single_key_counts_down_on_both_servers(pair):
    countdown = ttl.single_key(context(), 1.0, 0.1)
    df = countdown.frame
    assert countdown.replica_delay_s >= 0 and {m.id for m in countdown.marks()} == {"05.ttl_rounding", "05.pttl"}
    assert set(df.server) == {"master", "replica"}
    alive = df[(df.ttl_s >= 0) & (df.pttl_s >= 0)]
    assert (alive.ttl_s - alive.ideal_s).abs().max() <= 1.0
    assert (df.groupby("server").ttl_s.last() == -2).all()


def test_population_all_expire(pair):
    decay = ttl.population(context(), 30, 1.0, "staggered", interval=0.1)
    df = decay.frame
    assert decay.marks()[0].ok, decay.marks()[0].line()
    assert df.live_keys.iloc[0] == 30 and df.live_keys.iloc[-1] == 0
    assert df.expired_keys.iloc[-1] == 30


def test_lazy_vs_active(pair):
    lazy = ttl.lazy_vs_active(context(), 20, 0.3, watch=1.0, interval=0.2)
    df = lazy.frame
    assert lazy.hz > 0 and lazy.marks()[0].ok
    last = df[df.phase == "never read"].groupby("expiry").keys_in_memory.last()
    assert last["active expiry on"] == 0 and last["active expiry off"] == 20
    assert df.keys_in_memory.iloc[-1] == 0  # reading them removed them (lazy expiry)
    from lab import clients

    assert clients.client("master").execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1) in (b"OK", "OK")


def test_replica_keeps_expired_key_until_the_masters_del(pair):
    view = ttl.replica_view(context(), 0.3)
    assert view.rows[0]["replica_get"] == "short-lived" and view.rows[1]["replica_get"] is None
    assert view.column("replica_keys") == [1, 1, 0] and view.marks()[0].ok
    assert "replica keys in memory" in view.table().columns  # the header people read: presentation only


@pytest.mark.parametrize(
    "call",
    [
        lambda: ttl.single_key(None, -1),  # (no lab given: the arguments are refused before any I/O)
        lambda: ttl.population(None, 0),
        lambda: ttl.population(None, 10, mode="x"),
        lambda: ttl.lazy_vs_active(None, ttl=0),
    ],
)
def test_ttl_bad_input_is_a_sentence(call):
    with pytest.raises(LabError):
        call()


def test_ttl_when_the_lab_is_down(lab_home, in_a_notebook):
    with pytest.raises(LabError, match=r"lab\.up\(\)"):
        ttl.single_key(context(), 1)


def test_plots_are_figures_with_titles_and_units():
    df = pd.DataFrame(
        {
            "variant": ["cache hit"] * 5 + ["miss"] * 5,
            "latency_us": [50, 60, 70, 80, 90] + [2e6] * 5,
            "sample": list(range(10)),
            "t": list(range(10)),
        }
    )
    for make in (plots.latency_histogram, plots.latency_ecdf, plots.latency_boxes):
        fig = make(df)
        ax = fig.axes[0]
        assert ax.get_title() and "µs" in ax.get_xlabel() and ax.get_xscale() == "log"
    countdown = pd.DataFrame(
        {"t": [0, 0.5, 1], "server": ["master"] * 3, "ttl_s": [1, 1, 0], "pttl_s": [1, 0.5, 0], "ideal_s": [1, 0.5, 0]}
    )
    assert "(s)" in plots.ttl_countdown(countdown).axes[0].get_ylabel()
    decay = pd.DataFrame(
        {"t": [0, 1], "live_keys": [2, 0], "keys_with_ttl": [2, 0], "expired_keys": [0, 2], "ideal_live": [2, 0]}
    )
    assert plots.population_decay(decay).axes[0].get_title()


def test_redis_benchmark_beside_redis_py_leaves_nothing_running(pair):
    """Redis' own benchmark (one client, a unix socket in the private state directory, no password anywhere)
    beside redis-py on the same throwaway server; under CI the system's redis-benchmark must be there."""
    import shutil

    from lab.lessons import notebook

    from .conftest import lab_processes, need

    need(shutil.which("redis-benchmark") is not None, "redis-benchmark (redis-tools)")
    before = (sorted(os.listdir(pair.home)), lab_processes(pair.home))
    result = notebook.redis_benchmark(context(), requests=2000, samples=200)
    assert not result.missing and set(result.c_us) >= {"SET", "GET"} and set(result.py_us) == {"SET", "GET"}
    assert all(v > 0 for v in [*result.c_us.values(), *result.py_us.values()]), result
    assert "-a" not in result.command.split() and " -s " in result.command
    assert (sorted(os.listdir(pair.home)), lab_processes(pair.home)) == before, "the throwaway server is gone"


def test_by_hand_shows_the_two_terminals_and_stops_them(pair):
    from lab.lessons import notebook

    from .conftest import lab_processes

    before = (sorted(os.listdir(pair.home)), lab_processes(pair.home))
    result = notebook.by_hand(context())
    assert result.linked and [m.status for m in result.checks()] == ["pass"], result
    assert any("Ready to accept connections" in line for line in result.logs["master"])
    assert any("Finished with success" in line for line in result.logs["replica"])
    assert any("ready to exit" in line for line in result.logs["replica"]), "a clean stop, logged"
    assert "--daemonize no" in str(result) and "runtime.conf" in str(result)
    assert (sorted(os.listdir(pair.home)), lab_processes(pair.home)) == before, "the throwaway servers are gone"


def test_monitor_shows_what_a_lookup_sends(pair, capsys):
    from lab.cache import CacheAside, SlowDB
    from lab.lessons import notebook

    ctx = context()
    cache = CacheAside(SlowDB(delay=0.01), ttl=30, lab=ctx)
    cache.invalidate("test-key")
    sources = notebook.monitor(ctx, lambda: [cache.get("test-key").source for _ in range(2)])
    shown = capsys.readouterr().out
    assert shown.startswith("$ redis-cli -p ") and shown.splitlines()[0].endswith(" monitor")
    assert '"GET"' in shown and '"PTTL"' in shown and '"SET"' in shown and sources == ["slow_db", "cache"]
    assert ctx.credentials.admin not in shown and ctx.credentials.app not in shown
