"""Chapter 07's experiments on the lab's cluster: which slot and master a key has, the MOVED a plain client
meets, cache-aside through `RedisCluster`, and a master killed and replaced — each a result that owns its
checks. The cluster itself (up, down, status) is `lab.servers.cluster`'s."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..cache.lookup import LookupResult
from ..core import fix
from ..core.errors import LabError
from ..core.i18n import N_, _, thousands
from ..core.marks import Mark, check
from ..servers import cluster
from ..servers.context import Lab
from ..servers.nodes import kill_pid, pid_of
from ..state.settings import conf_value
from .results import Measured, Rows


class _Rows(Rows):
    chapter = "07"


@dataclass(frozen=True)
class Nodes(_Rows):
    """The cluster's nodes (`cluster.status()` rows): role, port, slots, state."""

    def checks(self) -> list[Mark]:
        roles, served = self.column("role"), cluster.slots_served(list(self.rows))
        return [check("07.shape", _("Three masters and three replicas, all 16384 slots served"),
                      roles.count("master") == 3 and roles.count("replica") == 3 and served == 16384,
                      _("{masters} masters, {replicas} replicas, {served} slots served").format(
                          masters=roles.count("master"), replicas=roles.count("replica"), served=served),
                      "lab.cluster.down(); lab.cluster.up()")]  # fmt: skip


def nodes(lab: Lab) -> Nodes:
    """The cluster's nodes now."""
    return Nodes(tuple(cluster.status(lab.settings)))


@dataclass(frozen=True)
class Placement(_Rows):
    """For each key: its hash slot and the port of the master serving it (the last two share a hash tag)."""

    HEADERS = {"master_port": N_("master port")}

    def checks(self) -> list[Mark]:
        slots, keys = self.column("slot"), self.column("key")
        figure = _("{first} and {second} → slot {slot}").format(first=keys[-2], second=keys[-1], slot=slots[-1])
        hint = "lab.cluster_lessons.placement(ctx, ['cache:{user:1}:name', 'cache:{user:1}:email'])"
        return [check("07.hash_tag", _("A hash tag puts keys in the same slot"), slots[-1] == slots[-2], figure, hint)]


def placement(lab: Lab, keys: list[str]) -> Placement:
    """For each key: its hash slot (CLUSTER KEYSLOT, asked of any node) and the master that serves it."""
    rows = cluster.status(lab.settings)
    with cluster.connect(cluster.ports(lab.settings)[0], s=lab.settings) as c:
        slots = [c.execute_command("CLUSTER", "KEYSLOT", key) for key in keys]
    return Placement(tuple({"key": k, "slot": slot, "master_port": cluster.slot_owner(slot, rows)}
                           for k, slot in zip(keys, slots, strict=True)))  # fmt: skip


@dataclass(frozen=True)
class Moved(Measured):
    """What a master that does not serve a key answered a plain client's GET of it."""

    node: int
    key: str
    reply: str | None
    chapter = "07"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"asked": self.node, "key": self.key, "reply": self.reply}])

    def checks(self) -> list[Mark]:
        return [check("07.moved", _("A plain client meets MOVED"),
                      bool(self.reply) and self.reply.startswith("MOVED"), self.reply or _("no reply"),
                      "lab.cluster_lessons.moved_for_plain_client(ctx, 'cache:test-key')")]  # fmt: skip

    def __str__(self) -> str:
        return _("asked node {node} for {key}: {reply}").format(node=self.node, key=repr(self.key), reply=self.reply)


def moved_for_plain_client(lab: Lab, key: str) -> Moved:
    """Ask a master that does not serve `key` for it with a plain client: the MOVED reply it gives."""
    import redis

    rows = cluster.status(lab.settings)
    with cluster.connect(cluster.ports(lab.settings)[0], s=lab.settings) as c:
        owner = cluster.slot_owner(c.execute_command("CLUSTER", "KEYSLOT", key), rows)
    other = next(r["port"] for r in rows if r["role"] == "master" and r["port"] != owner)
    try:
        with cluster.connect(other, s=lab.settings) as c:
            c.get(key)
    except redis.exceptions.MovedError as error:  # redis-py's name for a MOVED reply
        return Moved(other, key, f"MOVED {error.slot_id} {error.host}:{error.port}")
    return Moved(other, key, None)


@dataclass(frozen=True)
class ClusterLookups(Measured):
    """Lookups of one key through a cache over `RedisCluster`."""

    results: tuple[LookupResult, ...]
    chapter = "07"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([r.as_dict() for r in self.results])[["key", "source", "elapsed_ms", "ttl", "cache_state"]]

    def checks(self) -> list[Mark]:
        sources = [r.source for r in self.results]
        return [check("07.cache", _("Cache-aside over the cluster: slow_db then cache"),
                      sources == ["slow_db", "cache"],
                      " → ".join(sources), "lab.cluster.cluster_client('app')")]  # fmt: skip


@dataclass(frozen=True)
class Takeover(Measured):
    """A master killed: which slot, which ports before and after, how long until a write went through."""

    slot: int
    killed_port: int
    new_master_port: int
    failover_s: float
    writes_refused: int
    value: str | None
    chapter = "07"

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame([self.__dict__])

    def checks(self) -> list[Mark]:
        node_timeout = int(conf_value("cluster.conf", "cluster-node-timeout")) / 1000
        figure = _("in {seconds} s (cluster-node-timeout {timeout} s)").format(
            seconds=thousands(f"{self.failover_s:.2f}"), timeout=thousands(f"{node_timeout:g}")
        )
        return [check("07.failover", _("A replica took over the failed master's slots, after cluster-node-timeout"),
                      self.new_master_port != self.killed_port and self.value == "after the failover"
                      and node_timeout * 0.9 <= self.failover_s <= 4 * node_timeout + 1,
                      figure, "lab.cluster.up()")]  # fmt: skip


def kill_master_and_time(lab: Lab, slot_key: str | None = None, timeout: float = 30.0) -> Takeover:
    """kill -9 the master holding `slot_key`'s slot; time until its replica serves the slot and a write
    through RedisCluster succeeds. The killed node is restarted afterwards (it rejoins as a replica)."""
    import redis

    s = lab.settings
    slot_key = slot_key or lab.keys.value("test-key")
    rc = cluster.cluster_client()
    rc.set(slot_key, "before the kill")
    slot = rc.keyslot(slot_key)
    owner = rc.get_node_from_key(slot_key)
    node = next(n for n in cluster.nodes(s) if n.port == owner.port)
    pid = pid_of(node)
    if pid is None:
        raise LabError(
            _("The cluster node on port {port} is not running; {command} restarts it.").format(
                port=owner.port, command=fix.command("cluster up")
            )
        )
    kill_pid(pid)
    killed = time.perf_counter()
    refused = 0
    while time.perf_counter() - killed < timeout:
        try:
            rc.set(slot_key, "after the failover")
            break
        except redis.exceptions.RedisError:  # connection refused, CLUSTERDOWN, TRYAGAIN... until the replica takes over
            refused += 1
            time.sleep(0.05)
    else:
        raise LabError(
            _("No replica took over slot {slot} within {timeout} s; see {logs}.").format(
                slot=slot, timeout=f"{timeout:.0f}", logs=f"{s.home}/cluster-*.log"
            )
        )
    took = time.perf_counter() - killed
    new_owner = rc.get_node_from_key(slot_key)
    value = rc.get(slot_key)
    rc.close()
    cluster.up()  # the killed node comes back and rejoins as a replica
    return Takeover(slot, owner.port, new_owner.port, round(took, 3), refused, value)
