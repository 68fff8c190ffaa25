"""Replication helpers on real servers: status, read-only, lag, WAIT, partial/full resync, kill/promote/heal."""

import pytest

from lab import clients, replica_limits, replication, servers
from lab.core.errors import LabError

from .conftest import lab_processes


def test_status_table_has_both_servers_and_counters(pair):
    table = replication.status_table()
    assert list(table.index) == ["master", "replica"]
    assert table.loc["master", "actual_role"] == "master" and table.loc["replica", "link"] == "up"
    assert table.loc["replica", "byte_lag"] == 0
    assert {"sync_full", "sync_partial_ok", "sync_partial_err"} <= set(table.columns)


def test_replica_is_read_only_but_config_works(pair):
    assert replication.write_to_replica().startswith("READONLY")
    assert replication.replica_config_still_works()["replica-read-only"] == "yes"


def test_time_to_visible_separates_the_round_trip(pair):
    df = replication.time_to_visible(100)
    assert len(df) == 100 and df.attrs["lost"] == 0 and df.attrs["poll_p50_us"] > 0
    assert (df.rtt_us > 0).all() and (df.visible_us > 0).all()


def test_stale_reads_then_catch_up(pair):
    df = replication.stale_reads(link_down_s=0.6, interval=0.02)
    assert df["stale by"].max() > 0 and (df[df["link cut"]]["link"] == "down").any()
    assert df["stale by"].iloc[-1] == 0 and df["link"].iloc[-1] == "up"
    assert servers.status()[1].link_status == "up"  # the replication user is on again


@pytest.mark.slow
def test_a_silent_partition_leaves_the_link_up_until_repl_timeout(pair):
    saved = clients.client("replica").config_get("repl-timeout")["repl-timeout"]
    df = replica_limits.silent_partition(freeze_s=3.5, repl_timeout=1)
    frozen = df[df.master == "frozen"]
    assert (frozen[frozen.t < 0.8].link == "up").all()  # silent: nothing told the replica anything yet
    assert df.attrs["up_for_s"] is not None and 0.8 <= df.attrs["up_for_s"] <= 3.4  # then repl-timeout struck
    assert df.link.iloc[-1] == "up" and servers.is_up()  # resumed and linked again
    assert clients.client("replica").config_get("repl-timeout")["repl-timeout"] == saved


def test_a_replica_evicts_nothing_over_its_maxmemory(pair):
    df = replica_limits.replica_ignores_maxmemory(keys=100)
    before, after = df.iloc[0], df.iloc[-1]
    assert after["replica used_memory"] > after["replica maxmemory"]
    assert after["replica evicted_keys"] == before["replica evicted_keys"]
    assert after["our keys on the replica"] == after["our keys on the master"] == 100
    assert clients.client("replica").config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
    assert clients.client("master").exists(*[f"repl:{pair.key_prefix}fill:{i}" for i in range(100)]) == 0


def test_wait_is_acknowledged(pair):
    df = replication.wait_cost(50)
    assert set(df.variant) == {"SET", "SET + WAIT 1"} and df.attrs["acknowledged"] == 1.0


def test_restart_gives_a_partial_resync(pair):
    result = replication.restart_replica()
    assert result["after"]["sync_partial_ok"] == result["before"]["sync_partial_ok"] + 1
    assert result["after"]["sync_full"] == result["before"]["sync_full"]
    assert not (pair.home / "replica" / "dump.rdb").exists()


def test_writing_beyond_the_backlog_gives_a_full_resync(pair):
    result = replication.resync_beyond_backlog()
    assert result["after"]["sync_full"] == result["before"]["sync_full"] + 1
    assert clients.client("master").config_get("repl-backlog-size")["repl-backlog-size"] == "1048576"


def test_master_failure_promote_and_heal(pair):
    rows = replication.master_failure()
    assert rows[0]["replica GET"] == "redis cool" and rows[0]["replica link"] == "down"
    assert rows[1]["replica role"] == "master"
    assert rows[-1]["replica role"] == "slave" and rows[-1]["replica link"] == "up"
    assert rows[-1]["replica GET"] == "kept"  # the write made while promoted survived the heal
    status = servers.status()
    assert [r.actual_role for r in status] == ["master", "slave"] and len(lab_processes(pair.home)) == 2


def test_helpers_when_the_lab_is_down(lab_home, in_a_notebook):
    for call in (replication.time_to_visible, replication.restart_replica, replication.master_failure):
        with pytest.raises(LabError, match=r"lab\.up\(\)"):
            call()
    with pytest.raises(LabError, match=r"lab\.up\(\)"):
        replication.sync_counters()


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
