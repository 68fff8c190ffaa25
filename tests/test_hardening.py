"""Thirty students on one host, hung and failed-over servers, damaged state: nothing leaks, nothing is
orphaned, no traceback. Each test drives the case on real processes."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
import redis

from lab import clients, endpoint, ports, private, report, sentinel, servers, settings
from lab.cache import CacheAside
from lab.cache.slowdb import SlowDB
from lab.core.errors import LabError

from .conftest import REPO, lab_processes, need, one_binary, one_shared_pair, run_lab


def _sentinel_failover(timeout: float = 20) -> bool:
    """Start the sentinels, ask them to fail over, wait until the lab's replica is the master; whether it is."""
    sentinel.up()
    sentinel.connect(sentinel.ports()[0]).execute_command("SENTINEL", "FAILOVER", sentinel.MASTER_NAME)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # the promotion closes the replica's clients (CLIENT KILL): a poll may meet that, then retries
            if clients.client("replica").info("replication")["role"] == "master":
                return True
        except redis.ConnectionError:
            pass
        time.sleep(0.1)
    return False


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- 1. secrets unreadable by other users -------------------------------------------------------------


@pytest.mark.slow
@one_binary
def test_every_file_is_private_after_sentinels_and_a_failover(lab):
    _sentinel_failover()  # the sentinels rewrite their confs, Redis its own
    assert private.too_open(lab.home) == [], private.too_open(lab.home)
    assert _mode(lab.home) == 0o700


def test_the_state_directory_is_0700_whoever_creates_it(lab_home):
    result = run_lab("fetch", "test-key", "--json")  # fetch first: it makes the database, then asks for `up`
    assert "Traceback" not in result.stderr and lab_home.is_dir()
    assert _mode(lab_home) == 0o700 and private.too_open(lab_home) == []


@one_binary
def test_up_repairs_modes_and_doctor_reports_them(lab):
    (lab.home / credentials_file()).chmod(0o644)
    lab.home.chmod(0o755)
    doctor = run_lab("doctor")
    assert (
        doctor.returncode == 1 and "State directory private" in doctor.stdout and "readable by other" in doctor.stdout
    )
    rows = servers.up()
    assert any("private again" in note for note in rows.notes)
    assert private.too_open(lab.home) == [] and _mode(lab.home / credentials_file()) == 0o600


def credentials_file() -> str:
    from lab import credentials

    return credentials.FILE


# -- 2. endpoint passwords are never printed ----------------------------------------------------------

SECRET = "S3cr-et:with@signs"
URL_FORMS = [
    f"redis://student:{SECRET}@127.0.0.1:{{port}}/0",
    f"rediss://student:{SECRET}@127.0.0.1:{{port}}/0",
    f"redis://127.0.0.1:{{port}}/0?password={SECRET}",
    f"redis://:{SECRET}@127.0.0.1:{{port}}",
]


@pytest.mark.parametrize("form", URL_FORMS)
def test_endpoint_passwords_are_never_printed(lab_home, monkeypatch, form):
    url = form.format(port=ports.free_ports(1)[0])  # nothing listens: the error sentences are shown too
    assert SECRET not in endpoint.redact(url) and "***" in endpoint.redact(url)
    assert SECRET in endpoint.passwords(url)
    shown = run_lab("endpoint", "set", url)
    assert shown.returncode == 0 and SECRET not in shown.stdout + shown.stderr
    for args in (("endpoint", "show"), ("status",), ("status", "--json"), ("up",), ("doctor",), ("fetch", "x")):
        done = run_lab(*args)
        assert SECRET not in done.stdout + done.stderr, args
        assert "Traceback" not in done.stderr, (args, done.stderr)
    monkeypatch.setenv("LAB_REDIS_URL", url)
    assert report.run._redact(f"see {url}", report.run._secrets()).count(SECRET) == 0


# -- 3. one lab, one pair -------------------------------------------------------------------------------


@one_binary
def test_up_on_new_ports_moves_the_lab_with_its_data(lab, monkeypatch):
    clients.client("master").set("moved", "with me")
    monkeypatch.delenv("LAB_MASTER_PORT")
    monkeypatch.delenv("LAB_REPLICA_PORT")
    new_master, new_replica = ports.free_port_pair()
    result = run_lab("up", "--ports", f"{new_master},{new_replica}")
    assert result.returncode == 0, result.stderr
    assert "moved" in result.stdout
    assert len(lab_processes(lab.home)) == 2, "two servers share one data folder"
    rows = servers.status()
    assert [r.port for r in rows] == [new_master, new_replica] and servers.is_up()
    assert clients.client("master").get("moved") == "with me"
    assert clients.client("replica").get("moved") == "with me"


@one_shared_pair
def test_endpoint_set_is_refused_while_the_lab_runs(pair):
    result = run_lab("endpoint", "set", "redis://:pw@127.0.0.1:1/0")
    assert result.returncode == 1 and "./workbook down" in result.stderr
    assert not (pair.home / endpoint.FILE).exists()


@one_binary
def test_down_finds_servers_without_pid_files_and_spares_strangers(lab):
    for pid_file in lab.home.glob("*.pid"):
        pid_file.unlink()
    conf = lab.home / "master.runtime.conf"
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(conf)])
    try:
        (lab.home / "master.pid").write_text(str(stranger.pid))
        assert sorted(servers.down()) == ["master", "replica"]
        assert lab_processes(lab.home) == [stranger.pid]  # (it names the state directory too)
        assert stranger.poll() is None, "down killed a process that merely named the lab's conf"
    finally:
        stranger.kill()
        stranger.wait()


# -- 4. after a Sentinel failover, one master that takes writes ----------------------------------------


@pytest.mark.slow
@one_binary
def test_up_after_a_sentinel_failover_leaves_one_writable_master(lab):
    assert _sentinel_failover(), "the sentinels did not fail over"
    rows = servers.up()
    assert any("sentinels were stopped" in note for note in rows.notes), rows.notes
    master = clients.client("master")
    end = time.monotonic() + 4  # longer than the sentinels' down-after and a failover: nothing undoes it
    while time.monotonic() < end:
        master.set("still-writable", "yes")
        assert servers.is_up()
        time.sleep(0.2)


@one_binary
def test_status_and_doctor_name_two_masters_and_no_master(lab):
    clients.client("replica").execute_command("REPLICAOF", "NO", "ONE")
    status = run_lab("status")
    assert "Two masters" in status.stdout and not servers.is_up()
    doctor = run_lab("doctor")
    assert doctor.returncode == 1 and "Two masters" in doctor.stdout
    s = settings.load()
    clients.client("replica").execute_command("REPLICAOF", s.host, s.master_port)
    clients.client("master").execute_command("REPLICAOF", s.host, s.replica_port)
    assert "No master" in run_lab("status").stdout
    servers.up()
    assert servers.is_up()


# -- 5. a hung server is named as such ---------------------------------------------------------------


@one_binary
def test_a_stopped_master_is_called_hung_everywhere(lab):
    pid = servers.status()[0].pid
    os.kill(pid, signal.SIGSTOP)
    try:

        def timed(args):
            start = time.monotonic()
            return args, run_lab(*args, timeout=60), time.monotonic() - start

        with concurrent.futures.ThreadPoolExecutor(4) as pool:  # four classmates' commands at once: none waits long
            runs = list(pool.map(timed, (("status",), ("doctor",), ("up",), ("fetch", "test-key"))))
        for args, done, took in runs:
            text = done.stdout + done.stderr
            assert "does not answer" in text, (args, text)
            assert "held by another program" not in text and "Traceback" not in text, (args, text)
            assert took < 15, (args, took)
        assert f"kill -CONT {pid}" in run_lab("up").stderr
    finally:
        os.kill(pid, signal.SIGCONT)


@one_binary
def test_down_stops_a_stopped_server(lab):
    os.kill(servers.status()[0].pid, signal.SIGSTOP)
    servers.down()
    assert lab_processes(lab.home) == []


# -- 7. the lookup degrades, never crashes -----------------------------------------------------------


@one_shared_pair
def test_redis_errors_on_the_cache_path_answer_from_the_database(pair):
    db = SlowDB(pair.path("degrade.sqlite3"), delay=0)
    on_replica = CacheAside(db, client=clients.client("replica", "app"))
    result = on_replica.get("sku-0003")  # a miss: the SET is refused (READONLY)
    assert result.cache_state == "unavailable" and result.value and "ReadOnlyError" in result.warning
    admin = clients.client("master")
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")
    try:
        reads = db.reads
        result = CacheAside(db).get("sku-0004")  # OOM: the database's answer, not stored, said so, read once
        assert result.cache_state == "miss, not stored" and result.value and "noeviction" in result.warning
        assert db.reads == reads + 1 and result.source == "slow_db" and result.ttl is None
    finally:
        admin.config_set("maxmemory", "64mb")
        admin.config_set("maxmemory-policy", "allkeys-lru")


@one_binary
def test_a_busy_server_degrades_the_lookup(lab):
    admin = clients.client("master", socket_timeout=30)
    admin.config_set("lua-time-limit", 500)
    busy = threading.Thread(target=lambda: _ignore(admin.eval, "local t = redis.call('TIME') "
                                                   "while true do end", 0), daemon=True)  # fmt: skip
    busy.start()
    time.sleep(0.8)
    try:
        result = CacheAside(SlowDB(lab.path("busy.sqlite3"), delay=0)).get("test-key")
        assert result.cache_state == "unavailable" and result.value
        assert "BUSY" in result.warning or "does not answer" in result.warning
    finally:
        clients.client("master").execute_command("SCRIPT", "KILL")
        busy.join(10)


def _ignore(fn, *args):
    try:
        fn(*args)
    except redis.RedisError:
        pass


@one_binary
def test_a_damaged_database_is_one_sentence(lab, tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LabError, match="cannot be read.*delete it"):
        SlowDB(damaged)
    (lab.home / "slowdb.sqlite3").write_bytes(b"garbage" * 1000)
    result = run_lab("fetch", "test-key")
    assert result.returncode == 1 and "delete it" in result.stderr and "Traceback" not in result.stderr


@one_binary
def test_killing_the_master_during_bench_is_one_sentence(lab):
    proc = subprocess.Popen([sys.executable, "-m", "lab", "bench", "--hit-samples", "200000"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(2.0)
    servers.kill("master")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("❌") and "./workbook up" in err.strip().splitlines()[-1]


# -- 8. numbers are checked where they enter -----------------------------------------------------------


@pytest.mark.parametrize("ttl", ["nan", "inf", "1e300", "0.0001", "-3"])
def test_fetch_ttl_out_of_range_is_one_sentence(lab_home, ttl):
    result = run_lab("fetch", "test-key", "--ttl", ttl)
    assert result.returncode == 2 and "from 0.01 to" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "variable, value",
    [("LAB_CACHE_TTL", "nan"), ("LAB_CACHE_TTL", "inf"), ("LAB_CACHE_TTL", "0.5"), ("LAB_SLOW_DB_DELAY", "nan"),
     ("LAB_SLOW_DB_DELAY", "inf"), ("LAB_SLOW_DB_DELAY", "1e6"), ("LAB_SLOW_DB_DELAY", "-1")],
)  # fmt: skip
def test_settings_out_of_range_are_one_sentence(lab_home, variable, value):
    result = run_lab("fetch", "test-key", env={variable: value}, timeout=30)
    assert result.returncode == 1 and variable in result.stderr and " to " in result.stderr
    assert "Traceback" not in result.stderr


def test_cache_refuses_absurd_arguments_before_reading_anything(monkeypatch, tmp_path):
    """No lab, no server, no settings: a bad argument is refused first; given its client, keys, ttl and database,
    the lookup reads no settings at all."""
    from lab.cache import KeySchema, SlowDB
    from lab.state import settings

    def no_reading():
        raise AssertionError("settings were read")

    db = SlowDB(tmp_path / "db.sqlite3", delay=0)
    monkeypatch.setattr(settings, "load", no_reading)
    for bad in (float("nan"), float("inf"), 1e300, 0):
        with pytest.raises(LabError, match="seconds from"):
            CacheAside(ttl=bad)
    with pytest.raises(LabError, match="stampede_protection"):
        CacheAside(stampede_protection="magic")
    with pytest.raises(LabError, match="read_path"):
        CacheAside(read_path="telepathy")
    client = object()  # (never used: nothing is looked up)
    cache = CacheAside(db, client=client, ttl=5, keys=KeySchema("t:"))
    assert cache.redis is client and cache.keys.value("k") == "cache:t:k"


# -- 9. interrupted and half-broken states heal --------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@one_binary
def test_an_interrupted_up_leaves_no_lone_master(lab_home, redis_server, sig):
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAB_REDIS_SERVER": redis_server}
    proc = subprocess.Popen([sys.executable, "-m", "lab", "up"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not lab_processes(lab_home) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.002)  # the master has just started: interrupt before the pair is complete
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    if proc.returncode != 0:
        assert lab_processes(lab_home) == [], "an interrupted up left a server running"


@one_binary
def test_damaged_credentials_are_refused_not_replaced(lab):
    from lab import credentials

    path = lab.home / credentials.FILE
    data = json.loads(path.read_text())
    data["app"] = 12345
    path.write_text(json.dumps(data))
    result = run_lab("up")
    assert result.returncode == 1 and "damaged" in result.stderr and "./workbook down" in result.stderr
    assert json.loads(path.read_text())["app"] == 12345, "the file was replaced"
    assert sorted(servers.down()) == ["master", "replica"]


@pytest.mark.parametrize("content", [{"master": 99999, "replica": 7001}, {"master": 7001, "replica": 7001}, "x"])
@one_binary
def test_a_bad_ports_file_is_reported_and_default_recovers(lab_home, redis_server, monkeypatch, content):
    monkeypatch.delenv("LAB_MASTER_PORT")
    monkeypatch.delenv("LAB_REPLICA_PORT")
    lab_home.mkdir(parents=True)
    (lab_home / settings.PORTS_FILE).write_text(json.dumps(content) if isinstance(content, dict) else content)
    status = run_lab("status")
    assert status.returncode == 1 and "--ports default" in status.stderr and "Traceback" not in status.stderr
    chosen = ports.free_port_pair()
    monkeypatch.setenv("LAB_MASTER_PORT", str(chosen[0]))  # never the student's 6380/6381, even here
    monkeypatch.setenv("LAB_REPLICA_PORT", str(chosen[1]))
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    result = run_lab("up", "--ports", "default")
    assert result.returncode == 0, result.stderr
    assert not (lab_home / settings.PORTS_FILE).exists()


@one_binary
def test_down_on_a_read_only_state_directory_stops_every_server(lab):
    mounted = subprocess.run(["mount", "--bind", str(lab.home), str(lab.home)], capture_output=True)
    need(mounted.returncode == 0, "a bind mount (root) to make the state directory read-only")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(lab.home)], capture_output=True)
        need(ro.returncode == 0, "a read-only remount (root)")
        result = run_lab("down")
        assert result.returncode == 0 and "stopped: " in result.stdout, result.stderr
        assert "could not be removed" in result.stderr and "Traceback" not in result.stderr
        assert lab_processes(lab.home) == []
    finally:
        subprocess.run(["umount", str(lab.home)])


# -- 10. small ones ---------------------------------------------------------------------------------


def test_read_only_commands_write_nothing(lab_home):
    for args in (("cluster", "status"), ("status",), ("status", "--json")):
        assert run_lab(*args).returncode == 0
    assert not any(lab_home.glob("*ports.json")) if lab_home.exists() else True
    assert sentinel.down() == []
    assert not any(lab_home.glob("*ports.json")) if lab_home.exists() else True


@pytest.mark.slow
@one_binary
def test_down_while_a_chapter_runs_fails_it_with_a_sentence(lab, tmp_path):
    out = tmp_path / "report"
    admin = clients.client("master")

    def lookups() -> int:
        stats = admin.info("stats")
        return stats["keyspace_misses"] + stats["keyspace_hits"]

    before = lookups()
    # class mode: the workshop's two lookups at 2 s each come right after lab.up(), so the servers go away
    # while the chapter still needs them (in quick mode, 04 is done with the lab within about a second)
    proc = subprocess.Popen([sys.executable, "-m", "lab", "report", "--chapter", "04", "--out", str(out)],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.read(5) == "[1/1]"  # the chapter has started...
    deadline = time.monotonic() + 60
    while lookups() == before:  # ...and looks keys up
        assert time.monotonic() < deadline, "the chapter never reached the lab"
        time.sleep(0.05)
    admin.close()
    servers.down()  # during the workshop's first lookups (2 s each): the chapter still needs the lab
    out_text, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err + out_text
    assert "went away" in out_text or "not running" in out_text, out_text
    index = (out / "index.html").read_text()
    assert "TypeError" not in index and ("went away" in index or "not running" in index)
