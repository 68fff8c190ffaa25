"""Sentinel failover and a six-node cluster, with real processes; each bounded in time."""

import os
import time

import pytest
import redis

from lab import cluster, cluster_lessons, context, failover, ports, sentinel, servers
from lab.cache import CacheAside
from lab.cache.slowdb import SlowDB
from lab.core.errors import LabError

from .conftest import lab_processes

pytestmark = pytest.mark.slow  # failovers and a six-node cluster: drills of seconds each


@pytest.fixture
def sentinels(lab):
    sentinel.up()
    yield lab
    sentinel.down()


def test_sentinels_watch_the_master(sentinels):
    rows = sentinel.status()
    assert [r["state"] for r in rows] == ["up"] * 3
    assert all(r["master"].endswith(f":{sentinels.master_port}") for r in rows)
    assert all(r["replicas"] == 1 and r["sentinels"] == 2 for r in rows)


def test_failover_promotes_the_replica_and_restore_puts_it_back(sentinels):
    row = failover.run_once(context(), use_wait=False)
    assert row["new_master_port"] == sentinels.replica_port and row["killed_role"] == "master"
    assert 0 < row["failover_s"] < 20 and row["writes_refused"] > 0 and row["writes_lost"] == 0
    topology = failover.restore(context())
    status = servers.status()
    assert [r.actual_role for r in status] == ["master", "slave"] and status[1].link_status == "up"
    assert [m.id for m in topology.marks() if m.ok] == ["06.topology"]
    assert all(r["master"].endswith(f":{sentinels.master_port}") for r in sentinel.status())


def test_wait_keeps_acknowledged_writes_through_a_failover(sentinels):
    lossy = failover.lost_writes(context(), 0.3)
    without, with_wait = lossy.rows
    assert without["writes_lost"] > 0  # acknowledged by the master, never replicated: gone
    assert with_wait["writes_lost"] == 0
    assert [m.id for m in lossy.marks() if m.ok] == ["06.wait"]
    failover.restore()


def test_cache_lookups_follow_the_new_master(sentinels):
    timeline = failover.lookups_through_failover(context(), SlowDB(delay=0.02))
    rows = timeline.rows
    assert rows[0]["cache"] == "hit" and rows[-1]["cache"] == "hit"
    assert any(r["cache"] == "unavailable" for r in rows) and timeline.marks()[0].ok
    # a writer wrote through the same crash: it is the first of `measure`'s runs, which then crashes once more
    crash = timeline.failover
    assert crash["failover_s"] > 0 and crash["writes_acknowledged"] > 0 and crash["killed_role"] == "master"
    runs = failover.measure(context(), 2, first=timeline)
    assert runs.rows[0] is crash and len(runs.rows) == 2 and runs.rows[1]["killed_role"] == "replica"
    failover.restore()


def test_sentinel_port_taken_leaves_nothing_started(lab, monkeypatch):
    import socket

    free = ports.free_ports(3, avoid=(lab.master_port, lab.replica_port))
    taken = socket.socket()
    taken.bind(("127.0.0.1", free[2]))
    taken.listen()
    monkeypatch.setenv("LAB_SENTINEL_PORTS", ",".join(map(str, free)))
    try:
        with pytest.raises(LabError, match="held by another program"):
            sentinel.up()
        assert [r["state"] for r in sentinel.status()] == ["down"] * 3
    finally:
        taken.close()


def test_a_port_taken_right_after_it_was_chosen_is_chosen_again(lab, monkeypatch):
    """Two labs choosing ports at the same moment (a classmate's, a parallel test's): a port chosen for a sentinel
    is taken by someone else's listener before its sentinel starts. Free ones are chosen again; nothing fails."""
    import socket

    from lab.state import ports as chosen

    choose, taken = chosen.free_ports, []

    def a_classmate_takes_one(count, **options):
        found = choose(count, **options)
        if not taken:
            taken.append(socket.create_server(("127.0.0.1", found[1])))
        return found

    monkeypatch.setattr(chosen, "free_ports", a_classmate_takes_one)
    monkeypatch.delenv("LAB_SENTINEL_PORTS", raising=False)
    try:
        sentinel.up()
        assert taken and taken[0].getsockname()[1] not in sentinel.ports()
        assert [r["state"] for r in sentinel.status()] == ["up"] * 3
    finally:
        sentinel.down()
        for listener in taken:
            listener.close()


def test_failover_without_sentinels_is_one_sentence(lab):
    with pytest.raises(LabError, match="--sentinel"):
        failover.run_once(context())


@pytest.fixture
def six(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    cluster.up()
    yield lab_home
    cluster.down()
    assert lab_processes(lab_home, children=True) == []


def test_cluster_forms_with_three_masters_and_three_replicas(six):
    rows = cluster.status()
    assert sorted(r["role"] for r in rows) == ["master"] * 3 + ["replica"] * 3
    assert [m.id for m in cluster_lessons.nodes(context()).marks() if m.ok] == ["07.shape"]
    assert all(r["state"] == "up" for r in rows)
    assert {r["master_port"] for r in rows if r["role"] == "replica"} == {
        r["port"] for r in rows if r["role"] == "master"
    }


def test_moved_for_a_plain_client_and_cache_aside_over_the_cluster(six):
    rc = cluster.cluster_client()
    key = "cache:test-key"
    rc.set(key, "v")
    owner = rc.get_node_from_key(key).port
    other = next(r["port"] for r in cluster.status() if r["role"] == "master" and r["port"] != owner)
    with pytest.raises(redis.exceptions.MovedError):
        cluster.connect(other).get(key)
    rc.delete(key)
    moved = cluster_lessons.moved_for_plain_client(context(), key)
    assert moved.reply.startswith("MOVED") and moved.node != owner and moved.marks()[0].ok
    placement = cluster_lessons.placement(context(), ["cache:{user:1}:name", "cache:{user:1}:email"])
    assert placement.marks()[0].ok and placement.rows[0]["master_port"] is not None
    cache = CacheAside(SlowDB(six / "db.sqlite3", delay=0.05), client=cluster.cluster_client("app"))
    lookups = cluster_lessons.ClusterLookups((cache.get("test-key"), cache.get("test-key")))
    assert [r.source for r in lookups.results] == ["slow_db", "cache"] and lookups.marks()[0].ok


def test_cluster_master_failure_is_taken_over(six):
    result = cluster_lessons.kill_master_and_time(context())
    assert result.new_master_port != result.killed_port and result.value == "after the failover"
    assert 0 < result.failover_s < 20 and [m.id for m in result.marks()] == ["07.failover"]
    rows = cluster.status()
    assert all(r["state"] == "up" for r in rows)
    assert next(r for r in rows if r["port"] == result.killed_port)["role"] == "replica"


def test_cluster_down_forgets_it(six):
    assert len(cluster.down()) == 6
    assert lab_processes(six, children=True) == []
    assert not any((six / f"cluster-{p}").exists() for p in cluster.ports())


def test_bad_cluster_ports(lab_home, monkeypatch):
    monkeypatch.setenv("LAB_CLUSTER_PORTS", "7001,7002")
    with pytest.raises(LabError, match="6 different ports"):
        cluster.up()
    monkeypatch.setenv("LAB_CLUSTER_PORTS", "60001,60002,60003,60004,60005,60006")
    with pytest.raises(LabError, match="55535"):
        cluster.up()


def test_cluster_port_taken_leaves_nothing_started(lab_home, redis_server, monkeypatch):
    import socket

    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    chosen = ports.free_ports(6, plus=10000)
    taken = socket.socket()
    taken.bind(("127.0.0.1", chosen[-1]))
    taken.listen()
    monkeypatch.setenv("LAB_CLUSTER_PORTS", ",".join(map(str, chosen)))
    try:
        with pytest.raises(LabError, match="held by another program"):
            cluster.up()
        assert lab_processes(lab_home, children=True) == []
    finally:
        taken.close()
        os.environ.pop("LAB_CLUSTER_PORTS", None)


def test_a_strangers_node_cannot_join_the_cluster(six, redis_server, tmp_path, capsys):
    """A classmate's node MEETs the cluster over its bus: with TLS (a Redis built with it) the bus refuses it;
    without (the embedded 6.2), `cluster up` said so and `cluster status` names the stranger."""
    from lab import binaries, tls

    from .stress import throwaway_redis

    protected = tls.why_not(binaries.find("redis-server", redis_server)) is None
    capsys.readouterr()
    cluster.up()  # (running: reused) it says whether the bus is protected
    assert ("the cluster's bus has no protection" in capsys.readouterr().out) is not protected
    first = cluster.ports()[0]
    with throwaway_redis(redis_server, tmp_path / "stranger", "cluster-enabled yes\n") as (port, password):
        stranger = redis.Redis(port=port, password=password, decode_responses=True)
        stranger.execute_command("CLUSTER", "MEET", "127.0.0.1", str(first), str(first + 10000))
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and len(stranger.execute_command("CLUSTER", "NODES").splitlines()) < 7:
            time.sleep(0.1)
        time.sleep(1.0)
        names = {r["port"]: r["state"] for r in cluster.status()}
    if protected:
        assert cluster.protection() is not None and port not in names and len(names) == 6
    else:
        assert names.get(port) == "stranger", names


def test_a_sentinel_port_taken_after_a_crash_hears_no_admin_password(sentinels):
    """One sentinel dies; the two others keep asking for it on its port. Whoever listens there gets the
    sentinels' own password — never the admin's, which opens the servers."""
    import socket
    import threading

    from lab import credentials, settings

    from .conftest import lab_processes  # noqa: F401

    victim = sentinel.nodes()[2]
    os.kill(int(victim.pid_file.read_text()), 9)
    time.sleep(0.3)
    heard = []
    listener = socket.create_server(("127.0.0.1", victim.port))
    listener.settimeout(0.5)

    def listen():
        end = time.monotonic() + 4
        while time.monotonic() < end:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                heard.append(conn.recv(65536))
            except OSError:
                pass
            conn.close()

    worker = threading.Thread(target=listen)
    worker.start()
    worker.join()
    listener.close()
    creds = credentials.load(settings.load().home)
    said = b"".join(heard)
    assert said, "nobody asked for the dead sentinel: the test would prove nothing"
    assert creds.admin.encode() not in said and creds.app.encode() not in said
