"""Replication helpers on real servers: status, read-only, lag, WAIT, partial/full resync, kill/promote/heal."""

import pytest

from lab import clients, context, replica_limits, replication, resync, servers
from lab.core.errors import LabError

from .conftest import lab_processes


def test_status_table_has_both_servers_and_counters(pair):
    table = replication.status_table(context())
    assert list(table.index) == ["master", "replica"]
    assert table.loc["master", "actual_role"] == "master" and table.loc["replica", "link"] == "up"
    assert table.loc["replica", "byte_lag"] == 0
    assert {"sync_full", "sync_partial_ok", "sync_partial_err"} <= set(table.columns)


def test_replica_is_read_only_but_config_works(pair):
    refusal = replication.write_to_replica(context())
    assert str(refusal).startswith("READONLY") and [m.status for m in refusal.marks()] == ["pass"]
    assert replication.replica_config_still_works(context())["replica-read-only"] == "yes"


def test_time_to_visible_separates_the_round_trip(pair):
    visible = replication.time_to_visible(context(), 100)
    df = visible.frame
    assert len(df) == 100 and visible.lost == 0 and visible.poll_p50_us > 0
    assert (df.rtt_us > 0).all() and (df.visible_us > 0).all()
    assert [m.id for m in visible.marks() if m.ok] == ["02.time_to_visible"]


def test_stale_reads_then_catch_up(pair):
    stale = replication.stale_reads(context(), link_down_s=0.6, interval=0.02)
    df = stale.frame
    assert df.stale_by.max() > 0 and (df[df.link_cut]["link"] == "down").any()
    assert df.stale_by.iloc[-1] == 0 and df["link"].iloc[-1] == "up"
    assert "stale by" in stale.table().columns and [m.status for m in stale.marks()] == ["pass"]
    assert servers.status()[1].link_status == "up"  # the replication user is on again


@pytest.mark.slow
def test_a_silent_partition_leaves_the_link_up_until_repl_timeout(pair):
    saved = clients.client("replica").config_get("repl-timeout")["repl-timeout"]
    silent = replica_limits.silent_partition(context(), freeze_s=3.5, repl_timeout=1)
    df = silent.frame
    frozen = df[df.master == "frozen"]
    assert (frozen[frozen.t < 0.8].link == "up").all()  # silent: nothing told the replica anything yet
    assert silent.up_for_s is not None and 0.8 <= silent.up_for_s <= 3.4  # then repl-timeout struck
    assert [m.status for m in silent.marks()] == ["pass"]
    assert df.link.iloc[-1] == "up" and servers.is_up()  # resumed and linked again
    assert clients.client("replica").config_get("repl-timeout")["repl-timeout"] == saved


def test_a_replica_evicts_nothing_over_its_maxmemory(pair):
    memory = replica_limits.replica_ignores_maxmemory(context(), keys=100)
    before, after = memory.rows[0], memory.rows[-1]
    assert after["used_memory"] > after["maxmemory"]
    assert after["evicted_keys"] == before["evicted_keys"]
    assert after["on_replica"] == after["on_master"] == 100 and memory.marks()[0].ok
    assert clients.client("replica").config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
    assert clients.client("master").exists(*[f"repl:{pair.key_prefix}fill:{i}" for i in range(100)]) == 0


def test_wait_is_acknowledged(pair):
    waits = replication.wait_cost(context(), 50)
    assert set(waits.frame.variant) == {"SET", "SET + WAIT 1"} and waits.acknowledged == 1.0


def test_restart_gives_a_partial_resync(pair):
    result = resync.restart_replica(context())
    assert result.after["sync_partial_ok"] == result.before["sync_partial_ok"] + 1
    assert result.after["sync_full"] == result.before["sync_full"]
    assert [m.id for m in result.marks() if m.ok] == ["02.partial_resync"]
    assert not (pair.home / "replica" / "dump.rdb").exists()


def test_writing_beyond_the_backlog_gives_a_full_resync(pair):
    result = resync.resync_beyond_backlog(context())
    assert result.after["sync_full"] == result.before["sync_full"] + 1 and result.marks()[0].ok
    assert clients.client("master").config_get("repl-backlog-size")["repl-backlog-size"] == "1048576"


def test_master_failure_promote_and_heal(pair):
    failure = resync.master_failure(context())
    rows = failure.rows
    assert rows[0]["replica_get"] == "redis cool" and rows[0]["replica_link"] == "down"
    assert rows[1]["replica_role"] == "master"
    assert rows[-1]["replica_role"] == "slave" and rows[-1]["replica_link"] == "up"
    assert rows[-1]["replica_get"] == "kept"  # the write made while promoted survived the heal
    assert failure.marks()[0].ok
    status = servers.status()
    assert [r.actual_role for r in status] == ["master", "slave"] and len(lab_processes(pair.home)) == 2


def test_helpers_when_the_lab_is_down(lab_home, in_a_notebook):
    for call in (replication.time_to_visible, resync.restart_replica, resync.master_failure):
        with pytest.raises(LabError, match=r"lab\.up\(\)"):
            call(context())
    with pytest.raises(LabError, match=r"lab\.up\(\)"):
        replication.sync_counters(context())


def test_interrupted_experiments_are_healed_by_up(lab):
    """A kernel killed in the middle of the cut, or of the expiry lesson: its finally block never ran."""
    from lab.state.credentials import REPLICATION_USER

    master = clients.client("master")
    master.execute_command("ACL", "SETUSER", REPLICATION_USER, "off")
    master.client_kill_filter(_type="replica")
    master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    servers.up()
    assert servers.status()[1].link_status == "up"
    master.set("expires-soon", 1, px=50)
    import time

    time.sleep(0.5)
    assert master.info("keyspace").get("db0", {}).get("expires", 0) == 0  # the active cycle runs again
