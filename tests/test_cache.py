"""The cache-aside lookup and its database, against real Redis servers."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import redis

from lab import cache_lessons, clients, context, servers
from lab.cache.lookup import MAX_KEY_LENGTH, NOT_FOUND, BadKey, CacheAside, KeySchema
from lab.cache.slowdb import SlowDB, catalogue

from .conftest import run_lab

DELAY = 0.3


@pytest.fixture
def db(pair, tmp_path):
    return SlowDB(tmp_path / "test.sqlite3", delay=DELAY)


@pytest.fixture
def cache(db):
    return CacheAside(db, ttl=60)


def test_catalogue_is_deterministic_and_has_the_workshop_keys():
    first, second = catalogue(), catalogue()
    assert first == second and len(first) >= 300
    assert "test-key" in first and first["projet"] == "redis cool"


def test_database_reads_updates_and_is_slow(db):
    start = time.perf_counter()
    assert db.read("test-key").startswith("Hello")
    assert time.perf_counter() - start >= DELAY
    db.update("test-key", "changed")
    assert db.read("test-key") == "changed" and db.read("missing") is None and db.reads == 3


def test_miss_then_hit(cache, pair):
    first = cache.get("test-key")
    second = cache.get("test-key")
    assert (first.source, first.cache_state) == ("slow_db", "miss") and first.elapsed_ms >= DELAY * 1000
    assert (second.source, second.cache_state) == ("cache", "hit") and second.value == first.value
    assert 55 < second.ttl <= 60
    assert cache.counters() == {"hits": 1, "misses": 1, "unavailable": 0, "hit_ratio": 0.5}
    admin = clients.client("master")
    assert (
        admin.get(KeySchema().value("test-key")) == first.value and 0 < admin.ttl(KeySchema().value("test-key")) <= 60
    )


@contextmanager
def round_trips(cache):
    """Record every write of commands to Redis by this cache's connections (one write = one round trip)."""
    conn_class = cache.redis.connection_pool.connection_class
    sent = []
    original = conn_class.send_packed_command

    def recording(self, command, *args, **kwargs):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return original(self, command, *args, **kwargs)

    conn_class.send_packed_command = recording
    try:
        yield sent
    finally:
        conn_class.send_packed_command = original


def test_hit_is_one_round_trip_of_get_and_pttl(cache, pair):
    cache.get("test-key")
    with round_trips(cache) as sent:
        assert cache.get("test-key").source == "cache"
    assert len(sent) == 1
    assert b"GET" in sent[0] and b"PTTL" in sent[0] and sent[0].count(b"*2\r\n") == 2


def test_miss_reads_the_database_once_and_writes_once(cache, db, pair):
    before = db.reads
    cache.redis.ping()  # connected and logged in before we count
    with round_trips(cache) as sent:
        cache.get("sku-0007")
    assert db.reads == before + 1
    # read (GET+PTTL), then one write (SET ... PX): single-flight costs no round trip
    assert len(sent) == 2 and b"SET" in sent[1] and b"PX" in sent[1]


def test_miss_with_the_lock_takes_it_and_releases_it_with_the_write(db, pair):
    cache = CacheAside(db, stampede_protection="lock")
    cache.redis.ping()
    with round_trips(cache) as sent:
        cache.get("sku-0009")
    # read; lock + look again (one pipeline); WATCH the lock, GET it, then MULTI SET DEL EXEC (no script)
    assert b"NX" in sent[1] and b"WATCH" in sent[2] and b"GET" in sent[3], sent
    assert b"MULTI" in sent[4] and b"DEL" in sent[4] and b"EXEC" in sent[4] and len(sent) == 5
    assert not any(b"EVAL" in s for s in sent)
    assert clients.client("master").exists(KeySchema().lock("sku-0009")) == 0


def test_miss_without_stampede_protection_is_read_then_one_write(db, pair):
    cache = CacheAside(db, stampede_protection=None)
    cache.redis.ping()
    with round_trips(cache) as sent:
        cache.get("sku-0008")
    assert len(sent) == 2 and b"SET" in sent[1] and b"PX" in sent[1]


def test_the_replica_serves_the_cached_value(cache, pair):
    value = cache.get("test-key").value
    replica = clients.client("replica")
    deadline = time.monotonic() + 5
    while replica.get(KeySchema().value("test-key")) != value and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replica.get(KeySchema().value("test-key")) == value


def test_invalidation_on_write_and_stale_read_without_it(db, pair):
    result = cache_lessons.invalidation(context(), db, "sku-0001", 60)
    rows = result.rows
    assert rows[0]["answered"] == rows[2]["answered"] == rows[0]["database_holds"]  # the same start
    assert rows[1]["answered"] == rows[1]["database_holds"] and rows[1]["source"] == "slow_db"
    assert not rows[1]["stale"] and "updated, invalidation on" in rows[1]["database_holds"]
    assert rows[3]["answered"] == rows[2]["answered"] and rows[3]["source"] == "cache"  # stale:
    assert rows[3]["database_holds"] != rows[3]["answered"] and rows[3]["stale"]  # the db moved on
    assert [m.status for m in result.marks()] == ["pass"]
    assert db.read("sku-0001") == catalogue()["sku-0001"]  # restored


def test_negative_caching(db, pair):
    result = cache_lessons.negative_caching(context(), db, "no-such-key", 60)
    rows = result.rows
    assert result.marks()[0].ok
    assert [r["source"] for r in rows] == ["slow_db"] * 3 + ["slow_db", "cache", "cache"]
    assert all(r["value"] == "(not found)" for r in rows)
    assert rows[-1]["ttl_s"] <= 5


def test_stampede_protection_reads_the_database_once(db, pair):
    result = cache_lessons.stampede(context(), db, "sku-0042", clients=50)
    unprotected, *protected = rows = result.rows
    # without protection every lookup that missed read the database (on a loaded machine, one that started after
    # another had stored the value hits it instead): many reads; with either protection, exactly one
    assert unprotected["database_reads"] + unprotected["from_cache"] == 50
    assert unprotected["database_reads"] >= 25, unprotected
    assert [r["database_reads"] for r in protected] == [1, 1]
    assert rows[2]["from_cache"] == 49  # the lock's waiters read the value from Redis
    assert result.marks()[0].ok and "database reads" in result.table().columns


def test_the_lock_protects_across_separate_clients(db, pair):
    """Two caches with their own connections and no shared memory: as two processes would be."""
    caches = [CacheAside(db, stampede_protection="lock") for _ in range(2)]
    caches[0].invalidate("sku-0050")
    before = db.reads
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda i: caches[i % 2].get("sku-0050"), range(40)))
    assert db.reads == before + 1
    assert len({r.value for r in results}) == 1


def test_lock_is_released_only_by_its_owner(cache, pair):
    admin = clients.client("master")
    admin.set(KeySchema().lock("test-key"), "someone-else", px=10_000)
    cache._store_and_unlock("test-key", "stored anyway", 10_000, "my-token")
    assert admin.get(KeySchema().lock("test-key")) == "someone-else"
    assert admin.get(KeySchema().value("test-key")) == "stored anyway"
    cache._store_and_unlock("test-key", "mine", 10_000, "someone-else")
    assert admin.exists(KeySchema().lock("test-key")) == 0 and admin.get(KeySchema().value("test-key")) == "mine"


@pytest.mark.parametrize(
    "command",
    [("EVAL", "while true do end", 0), ("EVALSHA", "0" * 40, 0), ("SCRIPT", "LOAD", "return 1"),
     ("FUNCTION", "LIST"), ("FLUSHALL",), ("CONFIG", "GET", "maxmemory"), ("KEYS", "*"), ("DEBUG", "SLEEP", 0)],
)  # fmt: skip
def test_the_app_user_runs_no_code_and_no_admin_command(cache, pair, command):
    import redis

    with pytest.raises(redis.ResponseError, match="NOPERM|no permissions|unknown command"):
        cache.redis.execute_command(*command)


def test_the_servers_have_a_memory_cap_for_a_cache(pair):
    config = clients.client("master").config_get("maxmemory*")
    assert int(config["maxmemory"]) == 64 * 1024 * 1024 and config["maxmemory-policy"] == "allkeys-lru"


def test_ttl_jitter_spreads_expiries(db, pair):
    plain, jittered = cache_lessons.jitter(context(), db, db.keys(15), ttl=60, spread=0.2).rows
    assert plain["spread_s"] < 0.5
    assert jittered["spread_s"] > 1 and jittered["last_s"] <= 72.5


def test_redis_unavailable_then_recovered(db, pair):
    outage = cache_lessons.redis_unavailable(context(), db, "test-key", 60)
    rows = outage.rows
    assert outage.marks()[0].ok
    assert rows[0]["cache"] in ("hit", "miss")
    assert [r["cache"] for r in rows[1:3]] == ["unavailable", "unavailable"]
    assert all(r["value"].startswith("Hello") for r in rows)
    assert rows[-1]["source"] == "cache"
    assert servers.status()[1].link_status == "up"


def test_unavailable_result_carries_a_warning(db, pair):
    cache = CacheAside(db)
    servers.stop("master")
    result = cache.get("test-key")
    assert result.cache_state == "unavailable" and "Redis is unreachable" in result.warning
    servers.up()


@pytest.mark.parametrize("key", ["", "   ", "x" * (MAX_KEY_LENGTH + 1), "a\nb", "tab\there", "nul\x00"])
def test_bad_keys_write_nothing(cache, db, pair, key):
    admin = clients.client("master")
    keys_before, reads_before = admin.dbsize(), db.reads
    with pytest.raises(BadKey):
        cache.get(key)
    assert admin.dbsize() == keys_before and db.reads == reads_before


@pytest.mark.parametrize("key", ["café crème", "🙂 emoji", "with space", "*", "?", "[abc]", "x" * MAX_KEY_LENGTH])
def test_any_printable_unicode_key_works_and_globs_are_plain(cache, db, pair, key):
    db.update(key, f"value of {key}")
    cache.get("other")  # a cached neighbour a pattern would match
    first, second = cache.get(key), cache.get(key)
    assert first.value == second.value == f"value of {key}" and second.source == "cache"
    assert clients.client("master").get(KeySchema().value(key)) == f"value of {key}"


def test_stored_not_found_marker_is_not_a_value(cache, pair):
    cache.get("nothing-here")
    assert clients.client("master").get(KeySchema().value("nothing-here")) == NOT_FOUND
    assert cache.get("nothing-here").value is None


def test_cache_runs_as_the_restricted_user(cache, pair):
    with pytest.raises(redis.exceptions.NoPermissionError):
        cache.redis.set("projet", "x")


def test_fetch_json_prints_only_json(pair):
    result = run_lab("fetch", "test-key", "--json", "--ttl", "30", env={"LAB_SLOW_DB_DELAY": "0.05"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"key", "value", "source", "ttl", "elapsed_ms", "cache_state"} <= set(data)
    assert data["source"] == "slow_db" and data["ttl"] == 30
    again = json.loads(run_lab("fetch", "test-key", "--json").stdout)
    assert again["source"] == "cache"


@pytest.mark.parametrize("key", ["", "a\tb"])
def test_fetch_bad_key_exits_2_on_stderr(pair, key):
    result = run_lab("fetch", key, "--json")
    assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith("❌")
    assert "Traceback" not in result.stderr


def test_fetch_bad_ttl(pair):
    result = run_lab("fetch", "test-key", "--ttl", "-3")
    assert result.returncode == 2 and "--ttl" in result.stderr


def test_form_shows_source_history_and_errors(cache, pair):
    from lab.cache.widgets import CacheForm

    form = CacheForm(cache)
    form.lookup("test-key")
    assert "slow_db" in form.card.value and "miss" in form.card.value
    form.key.value = "test-key"
    form.lookup_button.click()
    assert "cache" in form.card.value and "hit ratio <b>50%</b>" in form.ratio.value
    assert form.table.value.count("<tr>") == 3
    form.lookup("")
    assert "❌" in form.card.value and "empty or blank key" in form.card.value
    form.invalidate_button.click()
    assert "removed from the cache" in form.card.value
    assert "test-key" in form.snapshot().data
    form.close()


def test_concurrent_forms_do_not_share_counters(db, pair):
    caches = [CacheAside(db) for _ in range(2)]
    threads = [threading.Thread(target=c.get, args=("test-key",)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [c.hits + c.misses for c in caches] == [1, 1]


def test_single_flight_shares_with_a_caller_that_missed_before_it_finished():
    """A thread scheduled late (a busy machine) saw the miss while the flight ran, but reaches it just after it
    landed: it shares that answer instead of reading the database again."""
    from lab.cache.single_flight import SingleFlight

    flights, reads = SingleFlight(), []
    missed_while_it_ran = time.perf_counter()
    assert flights.do("k", lambda: reads.append(1) or "v") == ("v", True)
    assert flights.do("k", lambda: reads.append(1) or "w", started=missed_while_it_ran) == ("v", False)
    assert flights.do("k", lambda: reads.append(1) or "w", started=time.perf_counter()) == ("w", True)
    assert len(reads) == 2
