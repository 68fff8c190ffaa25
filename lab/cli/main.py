"""The command line: `./workbook VERB` (the bootstrap hands over to `python -m lab VERB` in its environment).
`./workbook help` lists the verbs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

from ..core import fix
from ..core.errors import LabError, UsageError, redis_sentence
from ..core.text import plural


def _print_status(rows) -> None:
    for r in rows:
        if r.state != "up":
            print(f"{r.role:8} port {r.port:<5}  {r.state}")
            continue
        link = f"link {r.link_status}" if r.actual_role == "slave" else f"replicas {r.connected_replicas}"
        offset = r.slave_repl_offset if r.actual_role == "slave" else r.master_repl_offset
        print(
            f"{r.role:8} port {r.port:<5}  up  pid {r.pid}  Redis {r.version} ({r.binary})  "
            f"role {r.actual_role}  {link}  offset {offset}"
        )


def _print_notes(rows) -> None:
    for note in getattr(rows, "notes", []):
        print(note)


def cmd_up(args) -> int:
    from ..servers import pair as servers

    rows = servers.up(args.ports)
    _print_status(rows)
    _print_notes(rows)
    if args.sentinel:
        from ..servers import sentinel

        _print_sentinels(sentinel.up())
    return 0


def _print_sentinels(rows) -> None:
    for r in rows:
        if r["state"] != "up":
            print(f"{r['sentinel']:10} port {r['port']:<5}  down")
            continue
        print(
            f"{r['sentinel']:10} port {r['port']:<5}  up  watching {r['master']}  "
            f"knows {plural(r['replicas'], 'replica')}, {plural(r['sentinels'], 'other sentinel')}"
        )


def cmd_down(args) -> int:
    from ..servers import pair as servers

    stopped = servers.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    for problem in stopped.problems:
        print(f"⚠️ {problem}", file=sys.stderr)
    return 0


def cmd_status(args) -> int:
    from ..servers import pair as servers
    from ..servers import sentinel
    from ..state import binaries, settings

    rows = servers.status()
    sentinels = sentinel.status() if sentinel.started_once() else []
    if args.json:
        print(json.dumps([r.as_dict() for r in rows] + sentinels, indent=2))
        return 0
    try:
        print(f"binary   {binaries.server(settings.load().redis_server).describe()}")
    except LabError as exc:
        print(f"binary   ❌ {exc}")
    _print_status(rows)
    _print_notes(rows)
    if sentinels:
        _print_sentinels(sentinels)
    return 0


def cmd_env(args) -> int:
    from .shell import shell_script

    print(shell_script())
    return 0


def cmd_doctor(args) -> int:
    from .doctor import run

    checks = run()
    for check in checks:
        print(check.line())
    return 0 if all(c.ok or c.advice for c in checks) else 1


def cmd_report(args) -> int:
    from ..report.run import build

    return build(quick=args.quick, out=args.out, author=args.author, chapters=args.chapter, solutions=args.solutions,
                 pdf=args.pdf, core=args.core)  # fmt: skip


def cmd_lab(args) -> int:
    from .jupyter import lab

    return lab(args.port, args.no_browser)


def cmd_app(args) -> int:
    from .jupyter import app

    return app(args.port, args.base_url)


def cmd_fetch(args) -> int:
    from ..cache.lookup import CacheAside, validate_key
    from ..state import settings

    validate_key(args.key)  # bad keys fail before anything connects
    if args.ttl is not None:
        try:
            settings.check_seconds("--ttl", args.ttl, *settings.TTL_RANGE)
        except LabError as exc:
            raise UsageError(str(exc)) from None
    result = CacheAside(ttl=args.ttl).get(args.key)
    if result.warning:
        print(f"⚠️ {result.warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        value = _printable(result.value) if result.found else "(not found in the database)"
        ttl = f"TTL {result.ttl:.0f} s" if result.ttl else "not cached"
        print(
            f"{result.key} = {value}\n  source {result.source} · {result.elapsed_ms:.1f} ms · {ttl} · cache {result.cache_state}"
        )
    return 0


def _printable(text: str) -> str:
    """A value for the terminal: its control characters shown, not obeyed (an escape sequence in a cached value
    would retitle or clear the student's terminal)."""
    import unicodedata

    return "".join(repr(ch)[1:-1] if unicodedata.category(ch) == "Cc" else ch for ch in text)


def cmd_bench(args) -> int:
    from ..lessons.bench import BenchConfig, run

    config = BenchConfig(
        hit_samples=args.hit_samples, miss_samples=args.miss_samples, new_client_samples=args.new_client_samples
    )
    summary = run(config)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"Redis {summary['redis_version']} ({summary['redis_binary']}), {summary['wall_s']} s")
    print(
        f"cache hit p50 {summary['hit_p50_us']} µs (p99 {summary['hit_p99_us']})  raw GET p50 {summary['raw_get_p50_us']} µs"
        f"  → ratio {summary['hit_over_raw_get']}"
    )
    print(
        f"miss p50 {summary['miss_p50_ms']} ms with a {summary['miss_db_delay_ms']:.0f} ms database;"
        f" with no database delay {summary['miss_without_db_delay_p50_us']} µs = {summary['miss_without_db_delay_over_hit']}× a hit"
    )
    print(f"hit on master {summary['hit_on_master_p50_us']} µs, on replica {summary['hit_on_replica_p50_us']} µs")
    print(
        f"reused client {summary['reused_client_p50_us']} µs, new client per request {summary['new_client_p50_us']} µs"
        f" ({summary['new_over_reused']}×)"
    )
    print(f"pipelined GET+PTTL {summary['pipelined_p50_us']} µs, sequential {summary['sequential_p50_us']} µs")
    print(
        f"stampede: {summary['stampede_db_reads_unprotected']} database reads unprotected, "
        f"{summary['stampede_db_reads_single_flight']} with single-flight, {summary['stampede_db_reads_lock']} with the lock"
    )
    return 0


def cmd_cluster(args) -> int:
    from ..servers import cluster

    if args.action == "down":
        stopped = cluster.down()
        print(
            f"stopped: {plural(len(stopped), 'cluster node')}; the cluster is forgotten"
            if stopped
            else "no cluster node was running"
        )
        return 0
    rows = cluster.up() if args.action == "up" else cluster.status()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no cluster yet: {fix.command('cluster up')} starts one")
    for r in rows:
        follows = f"replica of {r['master_port']}" if r["role"] == "replica" else f"slots {r['slots']}"
        print(f"node {r['port']:<5}  {r['state']:4}  {r['role'] or '':8} {follows if r['role'] else ''}")
    strangers = [str(r["port"]) for r in rows if r["state"] == "stranger"]
    if strangers:
        print(f"❌ node(s) {', '.join(strangers)} joined this cluster but are not this lab's (a classmate's, over "
              f"the cluster bus): {fix.command('cluster down && cluster up')} makes it anew.")  # fmt: skip
    return 0


def cmd_endpoint(args) -> int:
    from ..state import endpoint

    if args.action == "set":
        if not args.url:
            raise UsageError("endpoint set needs a URL, e.g. rediss://user:password@host:6380/0")
        print(f"saved in {endpoint.save(args.url)}: the lab now uses {endpoint.redact(args.url)}")
    elif args.action == "clear":
        print("the lab uses its own servers again" if endpoint.clear() else "no endpoint was set")
    else:
        address = endpoint.url()
        print(endpoint.redact(address) if address else "none: the lab runs its own servers")
    return 0


def cmd_class(args) -> int:
    from ..report.classview import build

    folder = build(args.paths, args.out)
    print(f"class view: {folder / 'index.html'} and {folder / 'class.csv'}")
    return 0


def cmd_test(args) -> int:
    from ..state.settings import REPO_ROOT

    given = args.pytest_args
    # two workers: most tests wait on servers, not on the CPU (a module's shared fixture stays on one worker);
    # `-n 0` or `-p no:xdist` runs them in this process
    chosen = any(a.startswith(("-n", "--numprocesses")) or a in ("no:xdist", "-pno:xdist") for a in given)
    workers = [] if chosen else ["-n", "2", "--dist", "loadgroup"]
    cmd = [sys.executable, "-m", "pytest", *workers, *given]
    return subprocess.call(cmd, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def cmd_setup(args) -> int:
    from ..state import binaries, settings

    if args.hub:  # the admin, once, for a shared environment: no state directory of their own is needed
        from .hub import install

        for path in install():
            print(f"wrote {path}")
        print(f"✅ the shared environment {sys.prefix} is ready for a hub: kernels find each student's clone, the "
              "cache form is served at /user/<name>/cache-form/ (see the README's JupyterHub section)")  # fmt: skip
        return 0
    s = settings.load()
    s.ensure_home()
    print(f"✅ ready: {binaries.server(s.redis_server).describe()}; state directory {s.home}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="./workbook", description="Redis Cache Workbook: the lab's command line.")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True

    up = sub.add_parser("up", help="start the master and the replica (reuses running ones)")
    up.add_argument(
        "--ports", metavar="auto|default|M,R", help="pick a free pair (auto), or give two ports; remembered"
    )
    up.add_argument("--sentinel", action="store_true", help="also start three sentinels (LAB_SENTINEL_PORTS)")
    up.set_defaults(run=cmd_up)
    sub.add_parser("down", help="stop the lab's servers").set_defaults(run=cmd_down)
    st = sub.add_parser("status", help="each server: role, pid, port, version, binary, link, offsets")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(run=cmd_status)
    sub.add_parser("env", help='shell exports: eval "$(./workbook env)"').set_defaults(run=cmd_env)
    sub.add_parser("doctor", help="check everything, with the fix for each problem").set_defaults(run=cmd_doctor)
    setup = sub.add_parser("setup", help="check the set-up only (--hub: prepare a shared JupyterHub environment)")
    setup.add_argument("--hub", action="store_true", help="the admin, once: kernels find each student's clone")
    setup.set_defaults(run=cmd_setup)
    rep = sub.add_parser("report", help="execute every chapter and write the HTML report")
    rep.add_argument("--quick", action="store_true", help="short delays, TTLs and samples (under a minute)")
    rep.add_argument("--core", action="store_true", help="only the 3-hour core path (00, 01, 03, 04, 05)")
    rep.add_argument("--out", default=None, help="output folder (default: report/)")
    rep.add_argument("--author", default=None, help="the name on the report")
    rep.add_argument("--chapter", action="append", help="only this chapter (repeatable), e.g. 01_master_and_replica")
    rep.add_argument("--solutions", action="store_true", help="fill every exercise with its solution (a preview)")
    rep.add_argument("--pdf", action="store_true", help="also print report/handin.pdf with the system's chromium")
    rep.set_defaults(run=cmd_report)
    fetch = sub.add_parser("fetch", help="look a key up through the cache (the workshop's curl demo)")
    fetch.add_argument("key")
    fetch.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    fetch.add_argument("--ttl", type=float, default=None, help="seconds to keep it cached (default LAB_CACHE_TTL)")
    fetch.set_defaults(run=cmd_fetch)
    bench = sub.add_parser("bench", help="measure hits, misses, raw GET, replica, new clients (side by side)")
    bench.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    bench.add_argument("--hit-samples", type=int, default=3000)
    bench.add_argument("--miss-samples", type=int, default=40)
    bench.add_argument("--new-client-samples", type=int, default=300)
    bench.set_defaults(run=cmd_bench)
    app = sub.add_parser("app", help="serve the cache form as a standalone app (Voilà) on 127.0.0.1")
    app.add_argument("--port", default=None, help="default LAB_APP_PORT (8866)")
    app.add_argument("--base-url", default="/", help="the path it is served under (behind a hub's proxy)")
    app.set_defaults(run=cmd_app)
    cl = sub.add_parser("cluster", help="a six-node Redis Cluster: up, down (forgets it), status")
    cl.add_argument("action", choices=["up", "down", "status"])
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(run=cmd_cluster)
    ep = sub.add_parser("endpoint", help="use a Redis you did not start (managed, remote): set URL, show, clear")
    ep.add_argument("action", choices=["set", "show", "clear"])
    ep.add_argument("url", nargs="?")
    ep.set_defaults(run=cmd_endpoint)
    lab = sub.add_parser("lab", help="start Redis and open JupyterLab on notebooks/")
    lab.add_argument("--no-browser", action="store_true")
    lab.add_argument("--port", default=None, help="JupyterLab's port (default 8888)")
    lab.set_defaults(run=cmd_lab)
    cl_view = sub.add_parser("class", help="the instructor's view: many hand-ins → class.csv and index.html")
    cl_view.add_argument("paths", nargs="+", metavar="PATH", help="report folders, summary.json or handin.html files")
    cl_view.add_argument("--out", default="class", help="output folder (default: class/)")
    cl_view.set_defaults(run=cmd_class)
    test = sub.add_parser("test", help="run the test suite (arguments go to pytest)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(run=cmd_test)
    return p


def _interrupted(signum, frame) -> None:  # noqa: ARG001 - signal's signature
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: nothing half-started is left running


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:  # everything after `test` is pytest's, flags included (`test -q -m "not slow"`)
        return cmd_test(argparse.Namespace(pytest_args=argv[1:]))
    p = parser()
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        return args.run(args)
    except UsageError as exc:
        p.print_usage(sys.stderr)
        print(f"workbook: {exc}", file=sys.stderr)
        return exc.exit_code
    except LabError as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: stopped cleanly (nothing half-started is left running)", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a file the lab cannot write: the cause and the file, in one sentence
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"❌ {exc.strerror or exc}{where}: free some space or fix the file's permissions, then run the command "
              "again.", file=sys.stderr)  # fmt: skip
        return 1
    except Exception as exc:
        sentence = redis_sentence(exc)
        if sentence is None:
            raise
        print(f"❌ {sentence}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
