"""The source of truth: a real SQLite database in the state directory, made slow on purpose.

The workshop simulates its database with `time.sleep(2)`. Here the sleep sits in front of a real
table of a few hundred records (a small shop's catalogue, seeded deterministically, plus the workshop's
own keys `test-key` and `projet`), so reads and updates behave like a real source of truth.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

from . import settings
from .errors import LabError

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
        s = settings.load()
        self.path = Path(path) if path else s.path(FILE)
        self.delay = s.slow_db_delay if delay is None else float(delay)
        self.jitter = float(jitter)
        if self.delay < 0 or self.jitter < 0:
            raise LabError(
                f"The database delay ({self.delay}) and jitter ({self.jitter}) cannot be negative; use 0 or more."
            )
        self.reads = 0  # how many reads reached the database (the stampede lesson counts them)
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._rng = random.Random()
        self._create()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10)
            self._local.conn = conn
        return conn

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connection()
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated REAL)")
            if conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0:
                now = time.time()
                conn.executemany(
                    "INSERT OR IGNORE INTO records VALUES (?, ?, ?)", [(k, v, now) for k, v in catalogue().items()]
                )

    def _wait(self) -> None:
        pause = self.delay + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)
        if pause:
            time.sleep(pause)

    def read(self, key: str) -> str | None:
        """The record's value after the artificial delay, or None if there is no such key."""
        with self._count_lock:
            self.reads += 1
        self._wait()
        row = self._connection().execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def update(self, key: str, value: str) -> None:
        """Write a record (insert or replace). Writes are not slowed: the lesson is about reads."""
        conn = self._connection()
        with conn:
            conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (key, value, time.time()))

    def delete(self, key: str) -> None:
        conn = self._connection()
        with conn:
            conn.execute("DELETE FROM records WHERE key = ?", (key,))

    def keys(self, limit: int = 10) -> list[str]:
        """A few keys to try in the form."""
        rows = self._connection().execute("SELECT key FROM records ORDER BY key LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM records").fetchone()[0]
