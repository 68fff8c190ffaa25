"""Every Redis key the lab writes, named in one place (RU102PY's `KeySchema`).

`KeySchema(prefix)` puts a prefix inside each name, right after its namespace (`cache:<prefix><key>`): the
`app` user's `~cache:*` still covers the cache's keys, and a test gives each test its own prefix and deletes
them after. The default prefix is `LAB_KEY_PREFIX` (none). The workshop's own key, `projet`, is typed by
students with redis-cli exactly as the workshop shows it: it is named here but never prefixed.
"""

from __future__ import annotations

from . import settings

WORKSHOP_KEY = "projet"  # the workshop's `set projet "redis cool"`
NAMESPACES = ("cache", "ttl", "repl", "failover")


class KeySchema:
    """The keys of the lab: cache values and locks, the TTL, replication and failover experiments."""

    def __init__(self, prefix: str | None = None):
        self.prefix = settings.key_prefix() if prefix is None else prefix

    def value(self, key: str) -> str:
        """Where the cache keeps `key`'s value."""
        return f"cache:{self.prefix}{key}"

    def lock(self, key: str) -> str:
        """The stampede lock of `key`: keys may not contain control characters, so no key collides with it."""
        return f"cache:{self.prefix}\x1flock:{key}"

    def ttl_demo(self) -> str:
        return f"ttl:{self.prefix}demo"

    def ttl_population(self, i: int) -> str:
        return f"ttl:{self.prefix}pop:{i}"

    def ttl_lazy(self, i: int) -> str:
        return f"ttl:{self.prefix}lazy:{i}"

    def repl_probe(self) -> str:
        return f"repl:{self.prefix}probe"

    def repl_fill(self, i: int) -> str:
        return f"repl:{self.prefix}fill:{i}"

    def repl_aof(self, i: int) -> str:
        return f"repl:{self.prefix}aof:{i}"

    def repl_promoted_write(self) -> str:
        return f"repl:{self.prefix}written-while-promoted"

    def failover_write(self, n: int | str) -> str:
        return f"failover:{self.prefix}{n}"

    def patterns(self) -> list[str]:
        """SCAN patterns that match every key this schema names (to delete them after a test)."""
        return [f"{namespace}:{self.prefix}*" for namespace in NAMESPACES]
