"""redis-py clients for the lab's servers, logged in as the admin or the cache's `app` user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _
from ..state import credentials, settings
from ..state.listeners import Guard

if TYPE_CHECKING:
    import redis

ROLES = ("master", "replica")
USERS = ("admin", "app")


def port_of(role: str, s: settings.Settings) -> int:
    """The port of the lab's `role` server."""
    if role not in ROLES:
        raise LabError(_("Unknown server {role}; use 'master' or 'replica'.").format(role=repr(role)))
    return s.master_port if role == "master" else s.replica_port


def client(
    role: str = "master",
    user: str = "admin",
    s: settings.Settings | None = None,
    **options,
) -> redis.Redis:
    """A client for the lab's master or replica, as `admin` or as the restricted `app` user."""
    import redis

    s = s or settings.load()
    port = port_of(role, s)  # an unknown role is one sentence, endpoint or not
    if s.is_external:  # a Redis the lab did not start: its URL says who to log in as
        return redis.Redis.from_url(s.endpoint(role), **_url_options(options))
    return client_at(port, user, s, **options)


def factory(role: str = "master", user: str = "admin", s: settings.Settings | None = None, **options):
    """A function that builds a new client each call, with settings, passwords and URL read once, now: what an
    app does per request is then only construct, connect, authenticate, (command), close."""
    import redis

    s = s or settings.load()
    if s.is_external:
        address, extra = s.endpoint(role), _url_options(options)
        return lambda: redis.Redis.from_url(address, **extra)
    kwargs = _options(user, s, options)
    host, port = s.host, port_of(role, s)
    return lambda: redis.Redis(host=host, port=port, **kwargs)


def _options(user: str, s: settings.Settings, options: dict) -> dict:
    if user not in USERS:
        raise LabError(_("Unknown user {user}; use 'admin' or 'app'.").format(user=repr(user)))

    options = {**options, **auth(user, s)}
    options.setdefault("redis_connect_func", Guard(s.home))  # a password only to the lab's own servers
    options.setdefault("socket_connect_timeout", 1.0)
    options.setdefault("socket_timeout", 10.0)
    options.setdefault("decode_responses", True)
    options.setdefault("retry", no_retry())  # redis-py retries 3 times with 1-10 s back-off by default: fail fast
    return {**lean_handshake(), **options}


def _url_options(given: dict) -> dict:
    """Options for an external endpoint (a longer connect timeout: it is a network hop away; on loopback, its
    listener must be this user's before the URL's password is sent)."""
    given = dict(given)
    given.setdefault("redis_connect_func", Guard(None))
    given.setdefault("socket_connect_timeout", 3.0)
    given.setdefault("socket_timeout", 10.0)
    given.setdefault("decode_responses", True)
    given.setdefault("retry", no_retry())
    return {**lean_handshake(), **given}


def client_as(username: str, password: str, role: str = "master", s: settings.Settings | None = None, **options):
    """A client for the lab's master (or the endpoint's) logged in as another user: an exercise's own."""
    from urllib.parse import urlsplit, urlunsplit

    import redis

    s = s or settings.load()
    port = port_of(role, s)
    if s.is_external:  # the endpoint's address and TLS, without the URL's own user (its options would win)
        parts = urlsplit(s.endpoint(role))
        bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        return redis.Redis.from_url(bare, username=username, password=password, **_url_options(options))
    options = {"socket_connect_timeout": 1.0, "socket_timeout": 10.0, "decode_responses": True, "retry": no_retry(),
               "redis_connect_func": Guard(s.home), **options}  # fmt: skip
    return redis.Redis(host=s.host, port=port, username=username, password=password, **lean_handshake(), **options)


def sentinel_at(port: int, s: settings.Settings | None = None, **options) -> redis.Redis:
    """A client for one sentinel (they require the sentinels' own password)."""
    import redis

    s = s or settings.load()
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 2.0, "decode_responses": True,
               "redis_connect_func": Guard(s.home), **options}  # fmt: skip
    return redis.Redis(host=s.host, port=port, password=credentials.load(s.home).sentinels, retry=no_retry(),
                       **lean_handshake(), **options)  # fmt: skip


def through_sentinels(sentinel_ports: list[int], master_name: str, user: str = "admin", **options):
    """redis-py's idiom for Sentinel: `Sentinel([...]).master_for(name)` — a client that asks the sentinels
    where the master is, and follows it through a failover. Returns (the Sentinel, the master client)."""
    from redis.sentinel import Sentinel

    s = settings.load()
    sentinel = Sentinel(
        [(s.host, p) for p in sentinel_ports],
        sentinel_kwargs={"password": credentials.load(s.home).sentinels, "socket_timeout": 0.5,
                         "socket_connect_timeout": 0.5, "redis_connect_func": Guard(s.home)},
        socket_timeout=options.pop("socket_timeout", 0.5),
        socket_connect_timeout=options.pop("socket_connect_timeout", 0.5),
        decode_responses=True,
    )  # fmt: skip
    # the master they name is checked before AUTH too
    return sentinel, sentinel.master_for(master_name, retry=no_retry(), redis_connect_func=Guard(s.home),
                                         **auth(user, s), **options)  # fmt: skip


def cluster(node_ports: list[int], user: str = "admin", **options):
    """redis-py's RedisCluster: it learns which node holds which slots and follows MOVED redirections."""
    from redis.cluster import ClusterNode

    s = settings.load()
    options.setdefault("socket_timeout", 1.0)
    options.setdefault("socket_connect_timeout", 0.5)
    return _guarded_cluster(s.home)(startup_nodes=[ClusterNode(s.host, p) for p in node_ports], decode_responses=True,
                        **auth(user, s), **options)  # fmt: skip


def _guarded_cluster(home):
    """RedisCluster whose node connections check who listens before they log in (its own `on_connect` sends
    AUTH before any `redis_connect_func` of ours would run)."""
    from redis.cluster import RedisCluster

    guard = Guard(home)

    class GuardedCluster(RedisCluster):
        def on_connect(self, connection):
            guard.check(connection)
            super().on_connect(connection)

    return GuardedCluster


def client_at(port: int, user: str = "admin", s: settings.Settings | None = None, **options) -> redis.Redis:
    """A client for any of the lab's servers (master, replica, a sentinel, a cluster node) by its port."""
    import redis

    s = s or settings.load()
    return redis.Redis(host=s.host, port=port, **_options(user, s, options))


def auth(user: str, s: settings.Settings | None = None) -> dict[str, str]:
    """redis-py's `username`/`password` options for the lab's `admin` or `app` user."""
    creds = credentials.load((s or settings.load()).home)
    return {"password": creds.admin} if user == "admin" else {"username": credentials.APP_USER, "password": creds.app}


def anonymous(role: str = "master", s: settings.Settings | None = None) -> redis.Redis:
    """A client without any password, to show that the lab refuses it."""
    import redis

    s = s or settings.load()
    return redis.Redis(
        host=s.host,
        port=port_of(role, s),
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=no_retry(),
        **lean_handshake(),
    )


def lean_handshake() -> dict:
    """Options that keep a connection's handshake to HELLO/AUTH: no CLIENT SETINFO (Redis < 7.2 and the `app`
    user refuse it anyway) and no maintenance-notification request (for managed clusters, not a lab)."""
    options: dict = {}
    try:
        from redis.driver_info import DriverInfo

        options["driver_info"] = DriverInfo(name=None, lib_version=None)
    except ImportError:  # redis-py < 7.1
        options.update(lib_name=None, lib_version=None)
    try:
        from redis.maint_notifications import MaintNotificationsConfig

        options["maint_notifications_config"] = MaintNotificationsConfig(enabled=False)
    except ImportError:  # redis-py < 7
        pass
    return options


def no_retry():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def down_sentence(role: str, s: settings.Settings | None = None) -> str:
    """The sentence a student reads when a lab server does not answer."""
    try:
        port = port_of(role, s or settings.load())
    except LabError:
        port = "?"
    return _("The lab's {role} (port {port}) is not running; start it with {up}.").format(
        role=_(role), port=port, up=fix.command("up")
    )


@contextmanager
def explained(role: str = "master") -> Iterator[None]:
    """Turn 'server down' errors from redis-py into the one sentence a student needs."""
    import redis

    try:
        yield
    except redis.AuthenticationError:
        said = _("The {role} refused the lab's password: another program holds its port, or the state directory "
                 "changed; run {doctor}.")  # fmt: skip
        raise LabError(said.format(role=_(role), doctor=fix.command("doctor"))) from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        if isinstance(exc, redis.BusyLoadingError):
            raise LabError(
                _("The {role} is still loading its data; try again in a moment.").format(role=_(role))
            ) from None
        raise LabError(down_sentence(role)) from None
