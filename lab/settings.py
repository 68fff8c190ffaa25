"""Every tunable of the workbook in one place, each overridable by an environment variable.

| variable            | default              | what                                            |
|---------------------|----------------------|-------------------------------------------------|
| LAB_HOME            | <repo>/.lab          | state directory: secrets, pid files, logs, data |
| LAB_MASTER_PORT     | 6380                 | the master's port (or the pair from `up --ports auto`) |
| LAB_REPLICA_PORT    | 6381                 | the replica's port                              |
| LAB_REDIS_SERVER    | (discovered)         | a redis-server binary to use                    |
| LAB_REDIS_CLI       | (discovered)         | a redis-cli binary to use                       |
| LAB_SLOW_DB_DELAY   | 2.0                  | seconds the slow database takes per read        |
| LAB_CACHE_TTL       | 60                   | seconds a cached value lives                    |
| LAB_APP_PORT        | 8866                 | the port of the standalone form app (Voilà)     |
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import LabError
from .private import private_dir, write_private

REPO_ROOT = Path(__file__).resolve().parent.parent
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
    host: str = HOST

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
        raise LabError(
            f"The state directory {home} is not writable ({exc.strerror}); "
            "set LAB_HOME to a folder you own, e.g. `export LAB_HOME=$HOME/.redis-lab`."
        ) from None
    return home


def conf_value(conf: str, directive: str) -> str:
    """The value a file in `conf/` gives a directive (its last word): e.g. `conf_value("cluster.conf",
    "cluster-node-timeout")` → "1000". The chapters compare what they measure with these settings."""
    for line in (CONF_DIR / conf).read_text().splitlines():
        if line.strip().startswith(directive + " "):
            return line.split()[-1]
    raise LabError(f"conf/{conf} sets no {directive}; add it back (see the comments in that file).")


def parse_port(text: str, name: str) -> int:
    """A TCP port number from text, or a LabError naming the variable."""
    try:
        port = int(str(text).strip())
    except ValueError:
        raise LabError(f"{name}={text!r} is not a port number; use a whole number from 1024 to 65535.") from None
    if not 1024 <= port <= 65535:
        raise LabError(f"{name}={port} is out of range; use a port from 1024 to 65535.")
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
        raise LabError(
            f"{name}={value!r} is not allowed: give a number of seconds from {_plain(low)} to {_plain(high)}."
        )
    return number


def _plain(x: float) -> str:
    return f"{x:.0f}" if x == int(x) else f"{x:g}"


def _number(name: str, default: float, low: float, high: float, whole: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = check_seconds(name, raw.strip(), low, high)
    if whole and value != int(value):
        raise LabError(
            f"{name}={raw!r} is not allowed: give a whole number of seconds from {_plain(low)} to {_plain(high)}."
        )
    return value


def _remembered_ports(home: Path) -> tuple[int, int] | None:
    path = home / PORTS_FILE
    try:
        data = json.loads(path.read_text())
    except OSError:
        return None  # none remembered (or the state directory is unusable: `ensure_home` explains that)
    except ValueError:
        data = None
    fix = "run `python -m lab up --ports default` (or `--ports auto`) to choose again"
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("master", "replica")):
        raise LabError(f"{path} is damaged; {fix}.")
    master, replica = data["master"], data["replica"]
    if not (1024 <= master <= 65535 and 1024 <= replica <= 65535) or master == replica:
        raise LabError(
            f"{path} names ports {master} and {replica}: two different ports from 1024 to 65535 are needed; {fix}."
        )
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
        raise LabError(f"The master and the replica cannot share port {master}; give them two different ports.")
    return Settings(
        home=home,
        master_port=master,
        replica_port=replica,
        redis_server=os.environ.get("LAB_REDIS_SERVER") or None,
        redis_cli=os.environ.get("LAB_REDIS_CLI") or None,
        slow_db_delay=_number("LAB_SLOW_DB_DELAY", 2.0, *DELAY_RANGE),
        cache_ttl=int(_number("LAB_CACHE_TTL", 60, 1, TTL_RANGE[1], whole=True)),
        app_port=parse_port(os.environ.get("LAB_APP_PORT") or "8866", "LAB_APP_PORT"),
    )
