"""Every tunable of the workbook in one place, each overridable by an environment variable: `VARIABLES` lists
them all (the README's settings table is checked against it), `load()` reads them — with the state directory's
remembered choices (ports, an endpoint) — into one `Settings` snapshot. No other module reads a `LAB_` variable.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _
from .private import private_dir, write_private

# name: (its default as the README shows it, what it is for)
VARIABLES: dict[str, tuple[str, str]] = {
    "LAB_HOME": ("`.lab/` in the repository", "state directory: passwords, pid files, logs, data"),
    "LAB_MASTER_PORT": ("6380", "the master's port"),
    "LAB_REPLICA_PORT": ("6381", "the replica's port"),
    "LAB_REDIS_SERVER": ("discovered", "a `redis-server` binary to use"),
    "LAB_REDIS_CLI": ("discovered", "a `redis-cli` binary to use"),
    "LAB_SLOW_DB_DELAY": ("2.0", "seconds the slow database takes per read (0 to 60)"),
    "LAB_CACHE_TTL": ("60", "seconds a cached value lives (whole seconds, 1 to a year)"),
    "LAB_APP_PORT": ("8866", "the standalone form app's port"),
    "LAB_WEB_PORT": ("5000", "the workshop's Flask app's port (`./workbook web`)"),
    "LAB_AUTHOR": ("`$USER`", "the name on the report (or `--author`)"),
    "LAB_SENTINEL_PORTS": ("three free ports, remembered", "the sentinels' ports, e.g. `26380,26381,26382`"),
    "LAB_CLUSTER_PORTS": (
        "six free ports, remembered",
        "the cluster nodes' ports (≤ 55535: each also uses port + 10000)",
    ),
    "LAB_REDIS_URL": ("none", "an external Redis to use instead of the lab's servers (`redis://` or `rediss://`)"),
    "LAB_REDIS_REPLICA_URL": ("`LAB_REDIS_URL`", "an external replica to read from"),
    "LAB_KEY_PREFIX": ("none", "a prefix inside every key the lab writes (tests give each test its own)"),
    "LAB_CHROMIUM": ("`/usr/bin/chromium`", "the browser the app test drives"),
    "LAB_LANG": ("the locale", "the workbook's language, `en` or `fr` (or `--lang`); `fr_*` locales give French"),
    "LAB_REPORT": ("unset", "set by `./workbook report` for the kernels it runs: progress prints one line"),
}
ENDPOINT_FILE = "endpoint.url"

REPO_ROOT = Path(__file__).resolve().parents[2]  # lab/state/settings.py → the clone
CONF_DIR = REPO_ROOT / "conf"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
APP_NOTEBOOK = NOTEBOOKS_DIR / "app" / "cache_form.ipynb"
HOST = "127.0.0.1"
DEFAULT_MASTER_PORT = 6380
DEFAULT_REPLICA_PORT = 6381
PORTS_FILE = "ports.json"


@dataclass(frozen=True)
class Settings:
    """A snapshot of the lab's settings, read from the environment and the state directory."""

    home: Path
    master_port: int
    replica_port: int
    redis_server: str | None
    redis_cli: str | None
    slow_db_delay: float
    cache_ttl: int
    app_port: int
    web_port: int
    author: str = "student"
    redis_url: str | None = None  # an external endpoint (LAB_REDIS_URL, or `endpoint set`), else None
    replica_url: str | None = None
    sentinel_ports: tuple[int, ...] | None = None  # given by the environment, else chosen and remembered
    cluster_ports: tuple[int, ...] | None = None
    key_prefix: str = ""
    chromium: str = "/usr/bin/chromium"
    in_report: bool = False
    host: str = HOST
    ports_from_environment: bool = False  # LAB_MASTER_PORT / LAB_REPLICA_PORT given: the lab never moves them
    app_port_from_environment: bool = False

    @property
    def is_external(self) -> bool:
        """Whether the lab uses a Redis it did not start."""
        return self.redis_url is not None

    def endpoint(self, role: str = "master") -> str | None:
        """The external endpoint's URL for `role` (the replica's defaults to the master's)."""
        return self.replica_url if role == "replica" else self.redis_url

    def path(self, *parts: str) -> Path:
        """A path inside the state directory."""
        return self.home.joinpath(*parts)

    def ensure_home(self) -> Path:
        """Create the state directory (0700: private to this user) or explain why it cannot be."""
        return ensure_home_dir(self.home)


def home_dir() -> Path:
    """The state directory (`LAB_HOME`, else `.lab/` in the repository), whether or not it exists."""
    return Path(os.environ.get("LAB_HOME") or REPO_ROOT / ".lab").expanduser().resolve()


def ensure_home_dir(home: Path | None = None) -> Path:
    """Create the state directory as 0700 — whichever command comes first — or explain why it cannot be."""
    home = home or home_dir()
    try:
        private_dir(home)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        said = _("The state directory {home} is not writable ({error}); set LAB_HOME to a folder you own, e.g. "
                 "`export LAB_HOME=$HOME/.redis-lab`.")  # fmt: skip
        raise LabError(said.format(home=home, error=exc.strerror)) from None
    return home


def conf_value(conf: str, directive: str) -> str:
    """The value a file in `conf/` gives a directive (its last word): e.g. `conf_value("cluster.conf",
    "cluster-node-timeout")` → "1000". The chapters compare what they measure with these settings."""
    for line in (CONF_DIR / conf).read_text().splitlines():
        if line.strip().startswith(directive + " "):
            return line.split()[-1]
    said = _("conf/{conf} sets no {directive}; add it back (see the comments in that file).")
    raise LabError(said.format(conf=conf, directive=directive))


def parse_port(text: str, name: str) -> int:
    """A TCP port number from text, or a LabError naming the variable."""
    try:
        port = int(str(text).strip())
    except ValueError:
        said = _("{name}={value} is not a port number; use a whole number from 1024 to 65535.")
        raise LabError(said.format(name=name, value=repr(text))) from None
    if not 1024 <= port <= 65535:
        raise LabError(_("{name}={port} is out of range; use a port from 1024 to 65535.").format(name=name, port=port))
    return port


TTL_RANGE = (0.01, 365 * 86400.0)  # seconds a cached answer may live: 10 ms (Redis counts in ms) to a year
DELAY_RANGE = (0.0, 60.0)  # seconds the slow database may take per read


def check_seconds(name: str, value: object, low: float, high: float) -> float:
    """`value` as a number of seconds within [low, high], or one sentence naming the allowed range (NaN, inf,
    1e300 and text included)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        said = _("{name}={value} is not allowed: give a number of seconds from {low} to {high}.")
        raise LabError(said.format(name=name, value=repr(value), low=_plain(low), high=_plain(high)))
    return number


def _plain(x: float) -> str:
    return f"{x:.0f}" if x == int(x) else f"{x:g}"


def _number(name: str, default: float, low: float, high: float, whole: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = check_seconds(name, raw.strip(), low, high)
    if whole and value != int(value):
        said = _("{name}={value} is not allowed: give a whole number of seconds from {low} to {high}.")
        raise LabError(said.format(name=name, value=repr(raw), low=_plain(low), high=_plain(high)))
    return value


def _remembered_ports(home: Path) -> tuple[int, int] | None:
    path = home / PORTS_FILE
    try:
        data = json.loads(path.read_text())
    except OSError:
        return None  # none remembered (or the state directory is unusable: `ensure_home` explains that)
    except ValueError:
        data = None
    from ..core.fix import command  # (fix reads REPO_ROOT from here)

    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("master", "replica")):
        said = _("{path} is damaged; run {choose} to choose again.")
        raise LabError(said.format(path=path, choose=command("up --ports default")))
    master, replica = data["master"], data["replica"]
    if not (1024 <= master <= 65535 and 1024 <= replica <= 65535) or master == replica:
        said = _("{path} names ports {master} and {replica}: two different ports from 1024 to 65535 are needed; run "
                 "{choose} to choose again.")  # fmt: skip
        raise LabError(said.format(path=path, master=master, replica=replica, choose=command("up --ports default")))
    return master, replica


def remember_ports(home: Path, master: int, replica: int) -> None:
    """Keep a chosen port pair in the state directory, so that every later command uses it."""
    write_private(home / PORTS_FILE, json.dumps({"master": master, "replica": replica}) + "\n")


def forget_ports(home: Path) -> None:
    """Go back to the default ports (or the environment's)."""
    (home / PORTS_FILE).unlink(missing_ok=True)


def load() -> Settings:
    """Read the settings now (environment first, then the state directory, then defaults)."""
    home = home_dir()
    master, replica = _remembered_ports(home) or (DEFAULT_MASTER_PORT, DEFAULT_REPLICA_PORT)
    if os.environ.get("LAB_MASTER_PORT"):
        master = parse_port(os.environ["LAB_MASTER_PORT"], "LAB_MASTER_PORT")
    if os.environ.get("LAB_REPLICA_PORT"):
        replica = parse_port(os.environ["LAB_REPLICA_PORT"], "LAB_REPLICA_PORT")
    if master == replica:
        said = _("The master and the replica cannot share port {port}; give them two different ports.")
        raise LabError(said.format(port=master))
    env = os.environ.get
    url = _endpoint_url(env("LAB_REDIS_URL"), "LAB_REDIS_URL") or _endpoint_url(
        _read_line(home / ENDPOINT_FILE), str(home / ENDPOINT_FILE)
    )
    return Settings(
        home=home,
        master_port=master,
        replica_port=replica,
        redis_server=env("LAB_REDIS_SERVER") or None,
        redis_cli=env("LAB_REDIS_CLI") or None,
        slow_db_delay=_number("LAB_SLOW_DB_DELAY", 2.0, *DELAY_RANGE),
        cache_ttl=int(_number("LAB_CACHE_TTL", 60, 1, TTL_RANGE[1], whole=True)),
        app_port=parse_port(env("LAB_APP_PORT") or "8866", "LAB_APP_PORT"),
        web_port=parse_port(env("LAB_WEB_PORT") or "5000", "LAB_WEB_PORT"),
        author=env("LAB_AUTHOR") or env("USER") or "student",
        redis_url=url,
        replica_url=(_endpoint_url(env("LAB_REDIS_REPLICA_URL"), "LAB_REDIS_REPLICA_URL") or url) if url else None,
        sentinel_ports=_port_list("LAB_SENTINEL_PORTS", 3, "26380,26381,26382"),
        cluster_ports=_port_list("LAB_CLUSTER_PORTS", 6, "7001,7002,7003,7004,7005,7006", highest=55535),
        key_prefix=key_prefix(),
        chromium=env("LAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
        in_report=bool(env("LAB_REPORT")),
        ports_from_environment=bool(env("LAB_MASTER_PORT") or env("LAB_REPLICA_PORT")),
        app_port_from_environment=bool(env("LAB_APP_PORT")),
    )


def _endpoint_url(url: str | None, where: str, fix: str | None = None) -> str | None:
    """`url` if it is a Redis URL redis-py can use, else one sentence naming where it came from and the fix."""
    from urllib.parse import parse_qs, urlsplit

    if not url:
        return None
    problem = None
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            problem = _("it must start with redis://, rediss:// or unix://")
        elif parts.scheme != "unix":
            parts.port  # noqa: B018 - raises ValueError when out of range
            if not parts.hostname:
                problem = _("it names no host")
            database = parts.path.strip("/") or "0"
            queried = parse_qs(parts.query).get("db", [database])[-1]
            if not (database.isdigit() and queried.isdigit()):
                problem = _("its database must be a number, e.g. /0")
    except ValueError as exc:
        problem = str(exc).lower().rstrip(".")
    if problem is None:
        try:  # the options redis-py reads from the query (?socket_timeout=…): what it would refuse, it refuses now
            from redis.connection import parse_url

            parse_url(url)
        except ValueError as exc:
            problem = str(exc).lower().rstrip(".")
        except ImportError:
            pass
    if problem is None:
        return url
    from .urls import redact

    if not fix:
        fix = (_("unset {variable}").format(variable=where) if where.startswith("LAB_")
               else _("run `./workbook endpoint clear` (or `set` another)"))  # fmt: skip
    said = _("{where} holds {url}, which is not a Redis URL ({problem}); use redis://[user:password@]host:port/0 "
             "(rediss:// for TLS), or {fix}.")  # fmt: skip
    raise LabError(said.format(where=where, url=repr(redact(url)), problem=problem, fix=fix))


def check_endpoint_url(url: str) -> str:
    """A Redis URL checked before it is saved (one sentence if redis-py could not use it)."""
    return _endpoint_url(url, _("The URL"), fix=_("give another")) or url


def _read_line(path: Path) -> str | None:
    """The first line of a small state file, or None (a file that is not a regular one — a pipe — is none)."""
    import stat

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(4096).strip() or None
    except OSError:
        return None


def _port_list(name: str, count: int, example: str, highest: int = 65535) -> tuple[int, ...] | None:
    """Ports for a group of nodes from the environment, or None (then the lab chooses and remembers them)."""
    raw = os.environ.get(name)
    if not raw:
        return None
    found = tuple(parse_port(p, name) for p in raw.split(",") if p.strip())
    if len(found) != count or len(set(found)) != count:
        said = _("{name}={value}: give {count} different ports, e.g. {example}.")
        raise LabError(said.format(name=name, value=repr(raw), count=count, example=example))
    if max(found) > highest:
        said = _("{name}: these ports must be {highest} or less (each node also uses its port + 10000).")
        raise LabError(said.format(name=name, highest=highest))
    return found


def key_prefix() -> str:
    """LAB_KEY_PREFIX alone, without reading the state directory: key names are made inside timed loops."""
    return os.environ.get("LAB_KEY_PREFIX") or ""


def in_report() -> bool:
    """Whether this process is a kernel that `./workbook report` runs (LAB_REPORT)."""
    return bool(os.environ.get("LAB_REPORT"))
