"""One lab, read once: its settings, its passwords, its key schema and the clients to its servers — made once per
kernel, per command, per test (`lab.context()`), then passed to what needs it, the way RU102PY's DAOs take their
client and key schema. Nothing below it reads the environment or the state directory again."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..state import credentials, settings
from ..state.keys import KeySchema
from . import clients


@dataclass(frozen=True)
class Lab:
    """The lab as this process sees it now."""

    settings: settings.Settings
    keys: KeySchema = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.keys is None:
            object.__setattr__(self, "keys", KeySchema(self.settings.key_prefix))

    @cached_property
    def credentials(self) -> credentials.Credentials:
        return credentials.load(self.settings.home)

    def client(self, role: str = "master", user: str = "admin", **options):
        """A redis-py client for the lab's master or replica, as its admin or the `app` user."""
        return clients.client(role, user, s=self.settings, **options)

    def factory(self, role: str = "master", user: str = "admin", **options):
        """A function that makes a new client per call (what an app does per request), settings read now."""
        return clients.factory(role, user, s=self.settings, **options)

    @property
    def is_external(self) -> bool:
        return self.settings.is_external


def context() -> Lab:
    """The lab now: settings read once (after `lab.up()` moved it to other ports, make a new one)."""
    return Lab(settings.load())
