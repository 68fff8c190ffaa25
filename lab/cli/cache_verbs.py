"""The command line's verbs about the cache itself: `fetch` (one lookup, the workshop's curl demo in a terminal),
`bench` (hits, misses, raw GET and the rest side by side) and `web` (the workshop's Flask app on port 5000)."""

from __future__ import annotations

import json
import sys

from ..core.errors import LabError, UsageError
from ..core.i18n import _, thousands


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
        value = _printable(result.value) if result.found else _("(not found in the database)")
        ttl = _("TTL {seconds} s").format(seconds=thousands(f"{result.ttl:.0f}")) if result.ttl else _("not cached")
        ms = thousands(f"{result.elapsed_ms:.1f}")
        line = _("source {source} · {ms} ms · {ttl} · cache {state}").format(
            source=result.source, ms=ms, ttl=ttl, state=result.cache_state)  # fmt: skip
        print(f"{result.key} = {value}\n  {line}")
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
    n = {k: thousands(str(v)) for k, v in summary.items() if k not in ("redis_version", "redis_binary", "samples")}
    n["miss_db_delay_ms"] = thousands(f"{summary['miss_db_delay_ms']:.0f}")
    print(_("Redis {version} ({binary}), {wall_s} s").format(
        version=summary["redis_version"], binary=summary["redis_binary"], **n))  # fmt: skip
    for line in (
        _("cache hit p50 {hit_p50_us} µs (p99 {hit_p99_us})  raw GET p50 {raw_get_p50_us} µs  → ratio "
          "{hit_over_raw_get}"),
        _("miss p50 {miss_p50_ms} ms with a {miss_db_delay_ms} ms database; with no database delay "
          "{miss_without_db_delay_p50_us} µs = {miss_without_db_delay_over_hit}× a hit"),
        _("hit on master {hit_on_master_p50_us} µs, on replica {hit_on_replica_p50_us} µs"),
        _("reused client {reused_client_p50_us} µs, new client per request {new_client_p50_us} µs "
          "({new_over_reused}×)"),
        _("pipelined GET+PTTL {pipelined_p50_us} µs, sequential {sequential_p50_us} µs"),
        _("through the Flask app: a cached request {app_request_p50_us} µs, an empty route {empty_route_p50_us} µs, "
          "the bare hit {bare_hit_p50_us} µs ({app_request_over_bare_hit}× a hit)"),
        _("stampede: {stampede_db_reads_unprotected} database reads unprotected, {stampede_db_reads_single_flight} "
          "with single-flight, {stampede_db_reads_lock} with the lock"),
    ):  # fmt: skip
        print(line.format(**n))
    return 0


def cmd_web(args) -> int:
    """`./workbook web`: the workshop's Flask app (web/app.py) on 127.0.0.1, the lab started if needed."""
    from ..cache.web import serve, workshop_app
    from ..state import settings

    return serve(workshop_app().create_app, settings.parse_port(args.port, "--port") if args.port else None)
