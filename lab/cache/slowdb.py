"""The source of truth: a real SQLite database in the state directory, made slow on purpose.

The workshop simulates its database with `time.sleep(2)`. Here the sleep sits in front of a real
table of a few hundred records (a small shop's catalogue, seeded deterministically, plus the workshop's
own keys `test-key` and `projet`), so reads and updates behave like a real source of truth.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _
from ..state import settings

FILE = "slowdb.sqlite3"
WORKSHOP_RECORDS = {
    "test-key": "Hello from the slow database! (the workshop's test-key)",
    "projet": "redis cool",
}
_ADJECTIVES = ["blue", "green", "red", "oak", "steel", "linen", "wool", "glass", "clay", "cotton", "walnut", "copper"]
_ITEMS = ["mug", "lamp", "chair", "scarf", "notebook", "teapot", "backpack", "bowl", "candle", "umbrella", "clock"]


def catalogue(count: int = 300) -> dict[str, str]:
    """The seed records: the workshop's keys and `count` products, the same on every machine."""
    rng = random.Random(6380)
    records = dict(WORKSHOP_RECORDS)
    for number in range(1, count + 1):
        item = f"{rng.choice(_ADJECTIVES)} {rng.choice(_ITEMS)}"
        records[f"sku-{number:04d}"] = (
            f"{item.capitalize()} — {rng.randrange(300, 9900) / 100:.2f} € — {rng.randrange(0, 80)} in stock"
        )
    return records


class SlowDB:
    """A key → value table behind an artificial latency (`delay` seconds per read, `LAB_SLOW_DB_DELAY`)."""

    def __init__(self, path: Path | None = None, delay: float | None = None, jitter: float = 0.0):
        if delay is not None:
            delay = settings.check_seconds("delay", delay, *settings.DELAY_RANGE)
        self.jitter = settings.check_seconds("jitter", jitter, *settings.DELAY_RANGE)
        s = settings.load() if path is None or delay is None else None  # (given both, no settings are read)
        self.path = Path(path) if path else s.path(FILE)
        self.delay = (
            delay if delay is not None else settings.check_seconds("delay", s.slow_db_delay, *settings.DELAY_RANGE)
        )
        self.reads = 0  # how many reads reached the database (the stampede lesson counts them)
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._rng = random.Random()
        self._create()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=10)
            except sqlite3.Error as exc:  # a folder in its place, an unreadable file
                raise self._damaged(exc) from None
            self._local.conn = conn
        return conn

    def _damaged(self, exc: Exception) -> LabError:
        damaged = _("The slow database {path} cannot be read ({error}); delete it (`rm -r {path}`): the lab creates "
                    "it again, with its seed records, at the next lookup.")  # fmt: skip
        return LabError(damaged.format(path=self.path, error=exc))

    def _execute(self, sql: str, args: tuple = (), write: bool = False) -> sqlite3.Cursor:
        """One statement; a damaged or unreadable file is one sentence with the fix, never a traceback."""
        conn = self._connection()
        try:
            if write:
                with conn:
                    return conn.execute(sql, args)
            return conn.execute(sql, args)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database or disk is full"...
            raise self._failed(exc) from None

    def _failed(self, exc: sqlite3.Error) -> LabError:
        """The sentence for an SQLite error: a full or failing disk, or a damaged file (delete it)."""
        if isinstance(exc, sqlite3.OperationalError) and ("disk" in str(exc) or "full" in str(exc)):
            full = _("The slow database {path} cannot be written ({error}): the disk is full or failing; free some "
                     "space, then run the cell (or the command) again.")  # fmt: skip
            return LabError(full.format(path=self.path, error=exc))
        return self._damaged(exc)

    def _create(self) -> None:
        if self.path.parent == settings.home_dir():
            settings.ensure_home_dir(self.path.parent)  # the state directory: 0700 whoever creates it first
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # created 0600 (SQLite would use the umask: 0644)
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                refused = _("The slow database {path} cannot be created ({error}); free some space or set LAB_HOME "
                            "to a folder you own.")  # fmt: skip
                raise LabError(refused.format(path=self.path, error=exc.strerror)) from None
        self._execute("SELECT COUNT(*) FROM sqlite_master")  # reads the file: a damaged one says so here
        conn = self._connection()
        try:
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                             "updated REAL)")  # fmt: skip
                if conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0:
                    now = time.time()
                    seeds = [(k, v, now) for k, v in catalogue().items()]
                    conn.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?)", seeds)
        except sqlite3.DatabaseError as exc:
            raise self._failed(exc) from None

    def _wait(self) -> None:
        pause = self.delay + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)
        if pause:
            time.sleep(pause)

    def read(self, key: str) -> str | None:
        """The record's value after the artificial delay, or None if there is no such key."""
        with self._count_lock:
            self.reads += 1
        self._wait()
        row = self._execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def peek(self, key: str) -> str | None:
        """What the database holds now, without the delay and without counting a read (to show a lesson)."""
        row = self._execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def update(self, key: str, value: str) -> None:
        """Write a record (insert or replace). Writes are not slowed: the lesson is about reads."""
        self._execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (key, value, time.time()), write=True)

    def delete(self, key: str) -> None:
        self._execute("DELETE FROM records WHERE key = ?", (key,), write=True)

    def keys(self, limit: int = 10) -> list[str]:
        """A few keys to try in the form."""
        return [r[0] for r in self._execute("SELECT key FROM records ORDER BY key LIMIT ?", (limit,)).fetchall()]

    def __len__(self) -> int:
        return self._execute("SELECT COUNT(*) FROM records").fetchone()[0]
