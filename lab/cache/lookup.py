"""The cache-aside lookup: try Redis first, fall back to the slow database, keep the answer for a TTL.

    cache = CacheAside()            # Redis as the restricted `app` user, the SlowDB, TTL 60 s
    result = cache.get("test-key")  # source "slow_db" (about 2 s), then "cache" (well under 1 ms)

The hit path is one round trip (GET and PTTL in one pipeline). The miss path adds the database read and
one write. Stampede protection: by default concurrent misses on one key in this process share one
database read (single-flight, no extra round trip); `stampede_protection="lock"` does the same across
processes with a short Redis lock (`SET NX PX`, released only by its owner's token). If Redis is down, lookups
answer from the database ("unavailable") and use Redis again once it is back; if it is full and may not evict,
they answer from the database too ("miss, not stored").
"""

from __future__ import annotations

import random
import time
import unicodedata
import uuid
from dataclasses import asdict, dataclass, replace

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _
from ..servers.context import Lab, context
from ..state import settings
from ..state.keys import KeySchema
from ..state.listeners import is_stranger
from .single_flight import SingleFlight
from .slowdb import SlowDB

MAX_KEY_LENGTH = 200  # characters; a cache key is a name, not a document
NEGATIVE_TTL = 5.0  # seconds a "not found" answer is cached
NOT_FOUND = "\x00not-found"  # the cached "not found" marker: no database value holds a NUL character
SLOW_ANSWER = N_("{cause}: this answer came from the database (slow). The cache is used again by itself as soon as "
                 "Redis answers ({command}).")  # fmt: skip
FULL = N_("Redis is full and may not evict (maxmemory-policy noeviction): this answer came from the database and "
          "was not cached. It is cached again once memory frees up (keys expire or are deleted), or with a larger "
          "maxmemory or an evicting policy.")  # fmt: skip


def _why_unavailable(cause: Exception) -> str:
    """The cause of a cache failure, in a few words a student can act on."""
    import redis

    if isinstance(cause, redis.TimeoutError):
        return _("Redis does not answer (hung or busy: stopped, or running a long script)")
    if isinstance(cause, UnicodeDecodeError):
        return _("the cached value is not UTF-8 text (written by something other than this lookup)")
    if isinstance(cause, redis.ConnectionError) and not isinstance(cause, redis.BusyLoadingError):
        return str(cause) if is_stranger(cause) else _("Redis is unreachable (not running?)")
    first = str(cause).split("\n")[0][:120]
    return _("Redis refused the cache's command ({error})").format(error=f"{type(cause).__name__}: {first}")


class NotStored(Exception):
    """The database answered; Redis, full and not allowed to evict (`noeviction`), refused to store it."""


class BadKey(LabError):
    """A key the lookup refuses (empty, too long, control characters)."""

    exit_code = 2


def validate_key(key: object, action: str = N_("looked up")) -> str:
    """The key itself, or BadKey with the sentence to show. Any printable Unicode is fine; * ? [ are plain.
    `action` ("looked up", "updated", "invalidated") is marked `N_()` by the caller, translated here."""
    if not isinstance(key, str) or key.strip() == "":
        empty = _("Type a key first: an empty or blank key cannot be {action} (try test-key).")
        raise BadKey(empty.format(action=_(action)))
    if len(key) > MAX_KEY_LENGTH:
        long = _("That key is {length} characters long; keys are limited to {limit} characters.")
        raise BadKey(long.format(length=len(key), limit=MAX_KEY_LENGTH))
    bad = [ch for ch in key if unicodedata.category(ch) in ("Cc", "Cs")]
    if bad:
        control = _("Keys cannot contain control characters (found {character}); remove it and try again.")
        raise BadKey(control.format(character=repr(bad[0])))
    return key


@dataclass(frozen=True)
class LookupResult:
    """What one lookup did: where the value came from, how long it took, how long it stays cached."""

    key: str
    value: str | None
    source: str  # "cache" or "slow_db"
    ttl: float | None  # seconds the cached entry still lives (None: not cached)
    elapsed_ms: float
    cache_state: str  # "hit", "miss", "unavailable", "miss, not stored"...
    found: bool = True
    warning: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


READ_PATHS = ("packed", "pipeline")
STAMPEDE_MODES = ("single-flight", "lock", None)
READ_CHOICES, STAMPEDE_CHOICES = (", ".join(map(repr, choices)) for choices in (READ_PATHS, STAMPEDE_MODES))
USE_ONE_OF = N_("{option}={value}: use one of {choices}.")


class CacheAside:
    """The cache-aside lookup over Redis (as the `app` user) and a SlowDB."""

    def __init__(
        self,
        db: SlowDB | None = None,
        client=None,
        ttl: float | None = None,
        negative_ttl: float = NEGATIVE_TTL,
        ttl_jitter: float = 0.0,
        stampede_protection: str | None = "single-flight",
        invalidate_on_write: bool = True,
        cache_not_found: bool = True,
        keys: KeySchema | None = None,
        read_path: str = "packed",
        lab: Lab | None = None,
    ):
        """Every argument is checked before anything is read or connected. Given `client` and `keys` (and a
        `ttl`), the lookup reads no settings at all; else they come from `lab` (a `lab.context()`), made now
        if not given."""
        if read_path not in READ_PATHS:
            raise LabError(_(USE_ONE_OF).format(option="read_path", value=repr(read_path), choices=READ_CHOICES))
        if stampede_protection not in STAMPEDE_MODES:
            said = repr(stampede_protection)
            raise LabError(_(USE_ONE_OF).format(option="stampede_protection", value=said, choices=STAMPEDE_CHOICES))
        if ttl is not None:
            ttl = settings.check_seconds("ttl", ttl, *settings.TTL_RANGE)
        self.negative_ttl = settings.check_seconds("negative_ttl", negative_ttl, *settings.TTL_RANGE)
        self.ttl_jitter = settings.check_seconds("ttl_jitter", ttl_jitter, 0.0, 1.0)
        if client is None or keys is None or ttl is None:
            lab = lab or context()
        self.keys = keys or lab.keys
        self.ttl = (
            ttl if ttl is not None else settings.check_seconds("ttl", lab.settings.cache_ttl, *settings.TTL_RANGE)
        )
        self._read = self.read_packed if read_path == "packed" else self.read_pipelined
        self.db = db or SlowDB()
        self.redis = client or lab.client("master", "app", socket_timeout=2.0)
        self.stampede_protection = stampede_protection
        self._flights = SingleFlight()
        self.invalidate_on_write = invalidate_on_write
        self.cache_not_found = cache_not_found
        self.hits = self.misses = self.unavailable = 0
        self._rng = random.Random()

    # -- the lookup -------------------------------------------------------------------------------

    def get(self, key: str) -> LookupResult:
        """Look `key` up: Redis first, then the database (and remember the answer for the TTL)."""
        import redis

        validate_key(key)
        start = time.perf_counter()
        try:
            value, pttl = self._read(self.keys.value(key))
            if (value is not None and not isinstance(value, str)) or not isinstance(pttl, int):
                raise redis.ResponseError(_("it answered something that is not a cached value"))
        except redis.AuthenticationError:
            raise  # a refused login is the lab's set-up, not a passing fault: the caller explains it
        except (redis.RedisError, UnicodeDecodeError) as exc:  # down, hung, busy, out of memory, not UTF-8...
            return self._without_redis(key, start, exc)
        if value is not None:
            self.hits += 1
            return self._result(key, value, "cache", pttl, start, "hit")
        self.misses += 1
        try:
            return self._load(key, start)
        except redis.AuthenticationError:
            raise
        except NotStored as full:  # out of memory (noeviction): the database's answer, not cached, said so
            result = self._result(key, full.args[0], "slow_db", None, start, "miss, not stored")
            return replace(result, warning=_(FULL))
        except redis.RedisError as exc:
            return self._without_redis(key, start, exc)

    def read_pipelined(self, rkey: str) -> tuple[str | None, int]:
        """GET and PTTL in one round trip, the redis-py way: a pipeline without MULTI/EXEC. The idiom to copy
        into your own app (`read_path="pipeline"`); it also routes a RedisCluster's commands to one node."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(rkey)
        pipe.pttl(rkey)
        value, pttl = pipe.execute()
        return value, pttl

    def read_packed(self, rkey: str) -> tuple[str | None, int]:
        """GET and PTTL in one round trip, by hand: both commands sent in one write, both replies read — what
        the pipeline does, without its bookkeeping (chapter 04 measures the difference; the default path)."""
        pool = getattr(self.redis, "connection_pool", None)
        if pool is None:  # a RedisCluster: it routes by key, so its pipeline (one node, one round trip)
            return self.read_pipelined(rkey)
        conn = pool.get_connection()
        try:
            conn.send_packed_command(conn.pack_commands([("GET", rkey), ("PTTL", rkey)]))
            value = conn.read_response()
            pttl = conn.read_response()
        except BaseException:
            conn.disconnect()  # a reply may be left unread: never hand this connection out again
            raise
        finally:
            pool.release(conn)
        return value, pttl

    def _load(self, key: str, start: float) -> LookupResult:
        """A miss: read the database and store the answer, with the chosen stampede protection."""
        if self.stampede_protection == "single-flight":
            (stored, ttl_ms), leader = self._flights.do(key, lambda: self.read_and_store(key), started=start)
            return self._result(key, stored, "slow_db", ttl_ms, start, "miss" if leader else "miss, shared")
        if self.stampede_protection == "lock":
            return self._load_with_lock(key, start)
        stored, ttl_ms = self.read_and_store(key)
        return self._result(key, stored, "slow_db", ttl_ms, start, "miss")

    def read_and_store(self, key: str, token: str | None = None) -> tuple[str, int]:
        """Read the database, then one write: the value (or the not-found marker) with its TTL."""
        import redis

        value = self.db.read(key)
        stored = value if value is not None else NOT_FOUND
        if value is None and not self.cache_not_found:
            if token:
                self._store_and_unlock(key, None, 0, token)
            return stored, 0
        ttl_ms = max(1, int(self._ttl_for(value) * 1000))
        if token:
            self._store_and_unlock(key, stored, ttl_ms, token)
        else:
            try:
                self.redis.set(self.keys.value(key), stored, px=ttl_ms)
            except redis.OutOfMemoryError:
                raise NotStored(stored) from None
        return stored, ttl_ms

    def _store_and_unlock(self, key: str, stored: str | None, ttl_ms: int, token: str) -> None:
        """Store the value and release our lock — only if it is still ours: another lookup may hold it since
        ours expired. WATCH the lock, check it, then MULTI/EXEC: EXEC fails if the lock changed meanwhile."""
        import redis

        lock = self.keys.lock(key)
        with self.redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(lock)
                ours = pipe.get(lock) == token
                pipe.multi()
                if stored is not None:
                    pipe.set(self.keys.value(key), stored, px=ttl_ms)
                if ours:
                    pipe.delete(lock)
                pipe.execute()
            except redis.WatchError:  # the lock changed hands between GET and EXEC: not ours to release
                if stored is not None:
                    self.redis.set(self.keys.value(key), stored, px=ttl_ms)

    def _load_with_lock(self, key: str, start: float) -> LookupResult:
        """Across processes: the first miss takes a short lock (SET NX PX); the others wait for its answer."""
        token = uuid.uuid4().hex
        lock_ms = int(max(1.0, 3 * self.db.delay) * 1000)
        pipe = self.redis.pipeline(transaction=False)  # take the lock and look again, in one round trip:
        pipe.set(self.keys.lock(key), token, nx=True, px=lock_ms)  # the previous holder may have just
        pipe.get(self.keys.value(key))  # stored the value and released the lock since our first read
        pipe.pttl(self.keys.value(key))
        locked, value, pttl = pipe.execute()
        if value is not None:
            if locked:
                self._store_and_unlock(key, None, 0, token)
            return self._result(key, value, "cache", pttl, start, "hit after waiting")
        if not locked:
            waited = self._wait_for_other(key, start, lock_ms / 1000)
            if waited:
                return waited
            token = None  # the lock holder did not finish in time: read the database ourselves
        stored, ttl_ms = self.read_and_store(key, token)
        return self._result(key, stored, "slow_db", ttl_ms, start, "miss")

    def _wait_for_other(self, key: str, start: float, limit: float) -> LookupResult | None:
        """Another lookup holds the lock and is reading the database: wait for its answer in Redis."""
        deadline = time.perf_counter() + limit
        rkey = self.keys.value(key)
        while time.perf_counter() < deadline:
            time.sleep(0.005)
            value, pttl = self._read(rkey)
            if value is not None:
                return self._result(key, value, "cache", pttl, start, "hit after waiting")
        return None

    def _ttl_for(self, value: str | None) -> float:
        if value is None:
            return self.negative_ttl
        if self.ttl_jitter:
            return self.ttl * (1 + self._rng.uniform(0, self.ttl_jitter))
        return self.ttl

    def _without_redis(self, key: str, start: float, cause: Exception) -> LookupResult:
        self.unavailable += 1
        value = self.db.read(key)
        return LookupResult(
            key,
            value,
            "slow_db",
            None,
            (time.perf_counter() - start) * 1000,
            "unavailable",
            found=value is not None,
            warning=_(SLOW_ANSWER).format(cause=_why_unavailable(cause), command=fix.command("up")),
        )

    @staticmethod
    def _result(key: str, stored: str, source: str, pttl: int, start: float, state: str) -> LookupResult:
        found = stored != NOT_FOUND
        return LookupResult(
            key=key,
            value=stored if found else None,
            source=source,
            ttl=pttl / 1000 if pttl and pttl > 0 else None,
            elapsed_ms=(time.perf_counter() - start) * 1000,
            cache_state=state,
            found=found,
        )

    # -- writes and counters ----------------------------------------------------------------------

    def update(self, key: str, value: str) -> None:
        """Change a record in the database; with invalidation on, its cached copy is removed at once."""
        validate_key(key, N_("updated"))
        self.db.update(key, value)
        if self.invalidate_on_write:
            self.invalidate(key)

    def invalidate(self, key: str) -> bool:
        """Remove a key's cached copy; True if there was one."""
        import redis

        validate_key(key, N_("invalidated"))
        try:
            return bool(self.redis.delete(self.keys.value(key)))
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    @property
    def hit_ratio(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def counters(self) -> dict[str, float]:
        return {"hits": self.hits, "misses": self.misses, "unavailable": self.unavailable, "hit_ratio": self.hit_ratio}
