"""Redis Cache Workbook helpers: everything the notebooks call, importable and tested without Jupyter.

    import lab
    lab.up()          # master and replica, linked (reuses running servers)
    lab.status()      # both servers as rows
    lab.client()      # a redis-py client for the master, as the admin
    lab.down()        # stop them

Heavy libraries (redis-py, pandas, matplotlib) load only when a function needs them.
"""

from __future__ import annotations

from .errors import LabError, install_notebook_handler

__all__ = ["LabError", "up", "down", "status", "client", "settings", "export_env"]

_LAZY = {
    "up": ("servers", "up"),
    "down": ("servers", "down"),
    "status": ("servers", "status"),
    "is_up": ("servers", "is_up"),
    "client": ("clients", "client"),
    "export_env": ("shell", "export_env"),
    "require_local_lab": ("endpoint", "require_local_lab"),
    "is_external": ("endpoint", "is_external"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    if not name.startswith("_"):
        import importlib

        try:
            return importlib.import_module(f".{name}", __name__)  # lab.settings, lab.cache, ...
        except ModuleNotFoundError:
            pass
    raise AttributeError(f"module 'lab' has no attribute {name!r}")


install_notebook_handler()
