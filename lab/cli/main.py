"""The command line: `./workbook VERB` (the bootstrap hands over to `python -m lab VERB` in its environment).
`./workbook help` lists the verbs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

from ..core import fix, i18n
from ..core.errors import LabError, UsageError, redis_sentence
from ..core.i18n import LANGUAGES, N_, NAMES, _, current, ngettext, where_from
from .cache_verbs import cmd_bench, cmd_fetch, cmd_web

ROLES = {"master": N_("master"), "replica": N_("replica")}  # the lab's names of its servers, as shown: _(ROLES[…])


def _print_status(rows) -> None:
    for r in rows:
        role, port = f"{_(ROLES.get(r.role, r.role)):8}", f"{r.port:<5}"
        if r.state != "up":
            print(_("{role} port {port}  {state}").format(role=role, port=port, state=r.state))
            continue
        slave = r.actual_role == "slave"
        link = (_("link {status}").format(status=r.link_status) if slave
                else _("replicas {count}").format(count=r.connected_replicas))  # fmt: skip
        print(_("{role} port {port}  up  pid {pid}  Redis {version} ({binary})  role {actual_role}  {link}  offset "
                "{offset}").format(role=role, port=port, pid=r.pid, version=r.version, binary=r.binary, link=link,
              actual_role=r.actual_role, offset=r.slave_repl_offset if slave else r.master_repl_offset))  # fmt: skip


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
        name, port = f"{r['sentinel']:10}", f"{r['port']:<5}"
        if r["state"] != "up":
            print(_("{sentinel} port {port}  down").format(sentinel=name, port=port))
            continue
        replicas = ngettext("{count} replica", "{count} replicas", r["replicas"]).format(count=r["replicas"])
        others = ngettext("{count} other sentinel", "{count} other sentinels", r["sentinels"])
        print(_("{sentinel} port {port}  up  watching {master}  knows {replicas}, {sentinels}").format(sentinel=name,
              port=port, master=r["master"], replicas=replicas,
              sentinels=others.format(count=r["sentinels"])))  # fmt: skip


def cmd_down(args) -> int:
    from ..servers import pair as servers

    stopped = servers.down()
    names = ", ".join(_(name) for name in stopped)  # (the roles, as the reader's language names them)
    print(_("stopped: {servers}").format(servers=names) if stopped else _("nothing was running"))
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
    print(_("language {name} ({code}, from {source}; --lang or LAB_LANG changes it)").format(
        name=NAMES[current()], code=current(), source=_(where_from())))  # fmt: skip
    binary = _("binary")
    try:
        print(f"{binary:8} {binaries.server(settings.load().redis_server).describe()}")
    except LabError as exc:
        print(f"{binary:8} ❌ {exc}")
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
                 pdf=args.pdf, core=args.core, language=current())  # fmt: skip


def cmd_lab(args) -> int:
    from .jupyter import lab

    return lab(args.port, args.no_browser)


def cmd_app(args) -> int:
    from .jupyter import app

    return app(args.port, args.base_url)


def cmd_cluster(args) -> int:
    from ..servers import cluster

    if args.action == "down":
        stopped = cluster.down()
        print(ngettext("stopped: {count} cluster node; the cluster is forgotten", "stopped: {count} cluster nodes; "
                       "the cluster is forgotten", len(stopped)).format(count=len(stopped)) if stopped
              else _("no cluster node was running"))  # fmt: skip
        return 0
    rows = cluster.up() if args.action == "up" else cluster.status()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(_("no cluster yet: {command} starts one").format(command=fix.command("cluster up")))
    for r in rows:
        follows = (_("replica of {port}").format(port=r["master_port"]) if r["role"] == "replica"
                   else _("slots {slots}").format(slots=r["slots"]))  # fmt: skip
        print(_("node {port}  {state}  {role} {follows}").format(port=f"{r['port']:<5}", state=f"{r['state']:4}",
              role=f"{_(ROLES.get(r['role'], r['role'] or '')):8}", follows=follows if r["role"] else ""))  # fmt: skip
    strangers = [str(r["port"]) for r in rows if r["state"] == "stranger"]
    if strangers:
        print(_("❌ node(s) {ports} joined this cluster but are not this lab's (a classmate's, over the cluster bus): "
                "{command} makes it anew.").format(ports=", ".join(strangers),
                                                   command=fix.command("cluster down && cluster up")))  # fmt: skip
    return 0


def cmd_endpoint(args) -> int:
    from ..state import endpoint

    if args.action == "set":
        if not args.url:
            raise UsageError(_("endpoint set needs a URL, e.g. {example}").format(
                example="rediss://user:password@host:6380/0"))  # fmt: skip
        print(_("saved in {path}: the lab now uses {url}").format(path=endpoint.save(args.url),
                                                                   url=endpoint.redact(args.url)))  # fmt: skip
    elif args.action == "clear":
        print(_("the lab uses its own servers again") if endpoint.clear() else _("no endpoint was set"))
    else:
        address = endpoint.url()
        print(endpoint.redact(address) if address else _("none: the lab runs its own servers"))
    return 0


def cmd_class(args) -> int:
    from ..report.classview import build

    folder = build(args.paths, args.out)
    print(_("class view: {page} and {table}").format(page=folder / "index.html", table=folder / "class.csv"))
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
            print(_("wrote {path}").format(path=path))
        print(_("✅ the shared environment {prefix} is ready for a hub: kernels find each student's clone, the cache "
                "form is served at {url} (see the README's JupyterHub section)").format(
                    prefix=sys.prefix, url="/user/<name>/cache-form/"))  # fmt: skip
        return 0
    s = settings.load()
    s.ensure_home()
    i18n.translations("fr")  # the French catalogue compiled now (locale/fr/LC_MESSAGES/lab.mo), not in a kernel
    print(_("✅ ready: {binary}; state directory {home}").format(
        binary=binaries.server(s.redis_server).describe(), home=s.home))  # fmt: skip
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="./workbook", description=_("Redis Cache Workbook: the lab's command line."))
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True

    up = sub.add_parser("up", help=_("start the master and the replica (reuses running ones)"))
    up.add_argument("--ports", metavar="auto|default|M,R",
                    help=_("pick a free pair (auto), or give two ports; remembered"))  # fmt: skip
    up.add_argument("--sentinel", action="store_true", help=_("also start three sentinels (LAB_SENTINEL_PORTS)"))
    up.set_defaults(run=cmd_up)
    sub.add_parser("down", help=_("stop the lab's servers")).set_defaults(run=cmd_down)
    st = sub.add_parser("status", help=_("each server: role, pid, port, version, binary, link, offsets"))
    st.add_argument("--json", action="store_true", help=_("print JSON"))
    st.set_defaults(run=cmd_status)
    sub.add_parser("env", help=_('shell exports: eval "$(./workbook env)"')).set_defaults(run=cmd_env)
    sub.add_parser("doctor", help=_("check everything, with the fix for each problem")).set_defaults(run=cmd_doctor)
    setup = sub.add_parser("setup", help=_("check the set-up only (--hub: prepare a shared JupyterHub environment)"))
    setup.add_argument("--hub", action="store_true", help=_("the admin, once: kernels find each student's clone"))
    setup.set_defaults(run=cmd_setup)
    rep = sub.add_parser("report", help=_("execute every chapter and write the HTML report"))
    rep.add_argument("--quick", action="store_true", help=_("short delays, TTLs and samples (under a minute)"))
    rep.add_argument("--core", action="store_true", help=_("only the 3-hour core path (00, 01, 03, 04, 05)"))
    rep.add_argument("--out", default=None, help=_("output folder (default: report/)"))
    rep.add_argument("--author", default=None, help=_("the name on the report"))
    rep.add_argument("--chapter", action="append", help=_("only this chapter (repeatable), e.g. 01_master_and_replica"))
    rep.add_argument("--solutions", action="store_true", help=_("fill every exercise with its solution (a preview)"))
    rep.add_argument("--pdf", action="store_true", help=_("also print report/handin.pdf with the system's chromium"))
    rep.set_defaults(run=cmd_report)
    fetch = sub.add_parser("fetch", help=_("look a key up through the cache (the workshop's curl demo)"))
    fetch.add_argument("key")
    fetch.add_argument("--json", action="store_true", help=_("print one JSON object and nothing else"))
    fetch.add_argument("--ttl", type=float, default=None, help=_("seconds to keep it cached (default LAB_CACHE_TTL)"))
    fetch.set_defaults(run=cmd_fetch)
    bench = sub.add_parser("bench", help=_("measure hits, misses, raw GET, replica, new clients (side by side)"))
    bench.add_argument("--json", action="store_true", help=_("print one JSON object and nothing else"))
    bench.add_argument("--hit-samples", type=int, default=3000)
    bench.add_argument("--miss-samples", type=int, default=40)
    bench.add_argument("--new-client-samples", type=int, default=300)
    bench.set_defaults(run=cmd_bench)
    app = sub.add_parser("app", help=_("serve the cache form as a standalone app (Voilà) on 127.0.0.1"))
    app.add_argument("--port", default=None, help=_("default LAB_APP_PORT (8866)"))
    app.add_argument("--base-url", default="/", help=_("the path it is served under (behind a hub's proxy)"))
    app.set_defaults(run=cmd_app)
    web = sub.add_parser("web", help=_("serve the workshop's Flask app (form and JSON API) on 127.0.0.1:5000"))
    web.add_argument("--port", default=None, help=_("default LAB_WEB_PORT (5000)"))
    web.set_defaults(run=cmd_web)
    cl = sub.add_parser("cluster", help=_("a six-node Redis Cluster: up, down (forgets it), status"))
    cl.add_argument("action", choices=["up", "down", "status"])
    cl.add_argument("--json", action="store_true")
    cl.set_defaults(run=cmd_cluster)
    ep = sub.add_parser("endpoint", help=_("use a Redis you did not start (managed, remote): set URL, show, clear"))
    ep.add_argument("action", choices=["set", "show", "clear"])
    ep.add_argument("url", nargs="?")
    ep.set_defaults(run=cmd_endpoint)
    lab = sub.add_parser("lab", help=_("start Redis and open JupyterLab on notebooks/"))
    lab.add_argument("--no-browser", action="store_true")
    lab.add_argument("--port", default=None, help=_("JupyterLab's port (default 8888)"))
    lab.set_defaults(run=cmd_lab)
    cl_view = sub.add_parser("class", help=_("the instructor's view: many hand-ins → class.csv and index.html"))
    cl_view.add_argument("paths", nargs="+", metavar="PATH",
                         help=_("report folders, summary.json or handin.html files"))  # fmt: skip
    cl_view.add_argument("--out", default="class", help=_("output folder (default: class/)"))
    cl_view.set_defaults(run=cmd_class)
    for verb in sub.choices.values():  # every verb speaks the language asked for (and all it starts does)
        verb.add_argument("--lang", choices=LANGUAGES, default=None,
                          help=_("the language: en or fr (default: LAB_LANG, else the locale)"))  # fmt: skip
    test = sub.add_parser("test", help=_("run the test suite (arguments go to pytest)"))
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(run=cmd_test)
    return p


def _interrupted(signum, frame) -> None:  # noqa: ARG001 - signal's signature
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: nothing half-started is left running


def _early_language(argv: list[str]) -> None:
    """`--lang fr` (or `--lang=fr`) anywhere in the command: set LAB_LANG before any sentence is written — the
    help included — so that every process the command starts (kernels, JupyterLab, Voilà) speaks it too."""
    for i, word in enumerate(argv):
        said = word.split("=", 1)[1] if word.startswith("--lang=") else (argv[i + 1] if word == "--lang" and
                                                                          i + 1 < len(argv) else None)  # fmt: skip
        if said in LANGUAGES:
            os.environ["LAB_LANG"] = said


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:  # everything after `test` is pytest's, flags included (`test -q -m "not slow"`)
        return cmd_test(argparse.Namespace(pytest_args=argv[1:]))
    _early_language(argv)
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
        print(_("interrupted: stopped cleanly (nothing half-started is left running)"), file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a file the lab cannot write: the cause and the file, in one sentence
        where = f" ({exc.filename})" if exc.filename else ""
        print(_("❌ {cause}{where}: free some space or fix the file's permissions, then run the command again.")
              .format(cause=exc.strerror or exc, where=where), file=sys.stderr)  # fmt: skip
        return 1
    except Exception as exc:
        sentence = redis_sentence(exc)
        if sentence is None:
            raise
        print(f"❌ {sentence}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
