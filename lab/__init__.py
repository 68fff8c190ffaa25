"""Redis Cache Workbook helpers: everything the notebooks call, importable and tested without Jupyter.

    import lab
    lab.up()          # master and replica, linked (reuses running servers)
    lab.status()      # both servers as rows
    lab.client()      # a redis-py client for the master, as the admin
    lab.down()        # stop them

The package is cut into layers, each a folder, each importing only the ones below it (a test walks every import):

    cli      the command line, the doctor, JupyterLab and Voila, a hub's shared environment
    report   running and exporting the chapters, the hand-in, the class view
    grading  checkpoints and exercises: every verdict the workbook gives
    lessons  what the chapters measure and plot
    cache    the cache-aside lookup, the slow database, the key schema, the form
    servers  the master and its replica, sentinels, a cluster, clients, health
    state    settings, passwords, ports, private files, this lab's processes
    core     one-sentence errors, words for counts, fixes, marks

The short names chapters and students use stay short: `lab.replication`, `lab.exercises`, `lab.cluster`, `from
lab.cache import CacheAside`. Heavy libraries (redis-py, pandas, matplotlib) load only when a function needs them.
"""

from __future__ import annotations

from .core.errors import LabError, install_notebook_handler

__all__ = ["LabError", "up", "down", "status", "client", "export_env"]

_CALLS = {
    "up": ("servers.pair", "up"),
    "down": ("servers.pair", "down"),
    "status": ("servers.pair", "status"),
    "is_up": ("servers.pair", "is_up"),
    "client": ("servers.clients", "client"),
    "context": ("servers.context", "context"),
    "checkpoint": ("grading.checkpoints", "checkpoint"),
    "export_env": ("cli.shell", "export_env"),
    "require_local_lab": ("state.endpoint", "require_local_lab"),
    "is_external": ("state.endpoint", "is_external"),
}
# `lab.<name>`: every module by its short name (the hints chapters show, `lab.replication.restart_replica()`)
MODULES = {
    "bench": "lessons.bench",
    "binaries": "state.binaries",
    "bundles": "report.bundles",
    "cache": "cache",
    "cache_lessons": "lessons.cache_lessons",
    "checkpoints": "grading.checkpoints",
    "classview": "report.classview",
    "clients": "servers.clients",
    "cluster": "servers.cluster",
    "credentials": "state.credentials",
    "doctor": "cli.doctor",
    "drift": "servers.drift",
    "endpoint": "state.endpoint",
    "errors": "core.errors",
    "exercise_checks": "grading.exercise_checks",
    "exercise_places": "grading.exercise_places",
    "exercise_runner": "grading.exercise_runner",
    "exercises": "grading.exercises",
    "failover": "lessons.failover",
    "fix": "core.fix",
    "handin": "report.handin",
    "health": "servers.health",
    "hub": "cli.hub",
    "jupyter": "cli.jupyter",
    "kernels": "report.kernels",
    "keys": "state.keys",
    "listeners": "state.listeners",
    "lookup": "cache.lookup",
    "main": "cli.main",
    "marks": "core.marks",
    "nodes": "servers.nodes",
    "notebook": "lessons.notebook",
    "pair": "servers.pair",
    "platform": "state.platform",
    "plots": "lessons.plots",
    "ports": "state.ports",
    "private": "state.private",
    "processes": "state.processes",
    "progress": "lessons.progress",
    "eviction": "lessons.eviction",
    "replica_limits": "lessons.replica_limits",
    "replication": "lessons.replication",
    "resync": "lessons.replica_limits",  # (chapter 02's resync lessons live beside its other limits)
    "results": "lessons.results",
    "cluster_lessons": "lessons.cluster_lessons",
    "report": "report",
    "report_page": "report.report_page",
    "run": "report.run",
    "runtime_conf": "servers.runtime_conf",
    "sandbox": "grading.sandbox",
    "sanitize": "report.sanitize",
    "sentinel": "servers.sentinel",
    "servers": "servers",
    "settings": "state.settings",
    "shell": "cli.shell",
    "slowdb": "cache.slowdb",
    "text": "core.text",
    "tls": "servers.tls",
    "ttl": "lessons.ttl",
    "urls": "state.urls",
    "widgets": "cache.widgets",
}


def __getattr__(name: str):
    import importlib

    if name in _CALLS:
        module, attr = _CALLS[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    if name in MODULES:
        return importlib.import_module(f".{MODULES[name]}", __name__)
    raise AttributeError(f"module 'lab' has no attribute {name!r}")


install_notebook_handler()
