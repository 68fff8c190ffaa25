"""What the workshop's Flask app (`web/app.py`) needs besides its routes: the key a request names, checked before
it reaches the lookup (empty, over 512 bytes, not UTF-8, holding HTML: a 400 with one sentence); the page's
words in the student's language; the JSON a `curl` reads; and serving it — on 127.0.0.1 only, threaded, Ctrl-C
stopping it cleanly, in the background for a chapter or a test.

    app = create_app()                   # web/app.py
    with Background(app) as site:        # a chapter calls it the way the curl demo does
        requests.get(f"{site.url}/api/test-key").json()
"""

from __future__ import annotations

import signal
import sys
import threading
from urllib.parse import unquote_to_bytes

from ..core.errors import LabError
from ..core.i18n import N_, _, current, thousands
from ..state import settings
from ..state.ports import port_taken
from .lookup import BadKey, LookupResult, validate_key

MAX_KEY_BYTES = 512
HTML_CHARACTERS = "<>"
# every header the page and the API answer with: nothing loads from elsewhere, no inline script runs, no frame
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
WORDS = {
    "title": N_("Cache-aside with Flask and Redis"),
    "lead": N_("Type a key: the app asks Redis first, and the slow database (about {delay} s) only on a miss."),
    "key": N_("Key"),
    "placeholder": N_("a key, e.g. test-key"),
    "look_up": N_("Look up"),
    "value": N_("Value"),
    "source": N_("Source"),
    "state": N_("Cache"),
    "ttl": N_("TTL left"),
    "not_cached": N_("not cached"),
    "expired": N_("expired: the next lookup reads the database"),
    "took": N_("Lookup time"),
    "invalidate": N_("Invalidate"),
    "invalidated": N_("{key} is no longer cached: the next lookup reads the database."),
    "not_found": N_("{key} is not in the database (this answer is cached for a few seconds too)."),
    "api": N_("The same lookup as JSON: {example}"),
    "hit": N_("hit"),
    "miss": N_("miss"),
    "miss, shared": N_("miss, shared"),
    "hit after waiting": N_("hit after waiting"),
    "unavailable": N_("unavailable"),
    "miss, not stored": N_("miss, not stored"),
    "not_cached_now": N_("{key} was not cached (or Redis did not answer): nothing to invalidate."),
}
MAX_BODY = 4096  # bytes a request may send (a form with one key): more is refused before it is read
MAX_LOOKUPS = 32  # lookups served at once; more wait their turn (each holds a database and a Redis connection)
WAIT_FOR_TURN = 30.0  # seconds a request waits for its turn, then 503
REQUEST_TIMEOUT = 30.0  # seconds a connection may take to send its request


def words() -> dict[str, str]:
    """The page's words in the student's language (`--lang`, `LAB_LANG`, the locale)."""
    return {name: _(text) for name, text in WORDS.items()}


def language() -> str:
    return current()


def number(value: float) -> str:
    """A figure for the page, one decimal, in the student's language (`2.5` or `2,5`)."""
    return thousands(f"{value:.1f}")


def key_from_bytes(raw: bytes) -> str:
    """The key a request names (its bytes, percent-decoded), or BadKey with the sentence a 400 shows."""
    if len(raw) > MAX_KEY_BYTES:
        said = _("That key is {size} bytes long; keys sent to the app are limited to {limit} bytes.")
        raise BadKey(said.format(size=len(raw), limit=MAX_KEY_BYTES))
    try:
        key = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadKey(_("That key is not UTF-8 text; send it percent-encoded from UTF-8 (curl does).")) from None
    if any(ch in key for ch in HTML_CHARACTERS):
        raise BadKey(_("Keys cannot hold HTML (the characters < and >); choose a plain name such as test-key."))
    return validate_key(key)


def _as_sent(text: str, environ: dict) -> bytes:
    """The bytes of a WSGI string (Latin-1, as WSGI says); Werkzeug's own server re-encodes what it read as UTF-8
    first, which is undone here, so that raw non-ASCII bytes reach the checks as they were sent."""
    raw = text.encode("latin-1", "replace")
    if environ.get("SERVER_SOFTWARE", "").startswith("Werkzeug"):
        try:
            return raw.decode("utf-8").encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return raw
    return raw


def key_from_path(environ: dict, prefix: str = "/api/") -> str:
    """The key in `/api/<key>`, from the path as the client sent it (percent-encoded bytes: the decoded
    PATH_INFO has already replaced bytes that are not UTF-8)."""
    from urllib.parse import urlsplit

    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = unquote_to_bytes(urlsplit(_as_sent(raw, environ)).path)
    else:
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace")
    return key_from_bytes(path[len(prefix) :] if path.startswith(prefix.encode()) else b"")


def query_of(environ: dict) -> bytes:
    """The request's query string as the client sent it."""
    return _as_sent(environ.get("QUERY_STRING", ""), environ)


def key_from_query(query: bytes, name: bytes = b"key", required: bool = False) -> str | None:
    """The `key` field of a query string or a form body (raw bytes), or None when the request has none (BadKey
    when it is `required`)."""
    for pair in query.split(b"&"):
        field, _sep, value = pair.partition(b"=")
        if unquote_to_bytes(field.replace(b"+", b" ")) == name:
            return key_from_bytes(unquote_to_bytes(value.replace(b"+", b" ")))
    return key_from_bytes(b"") if required else None


def as_json(result: LookupResult) -> dict:
    """What `GET /api/<key>` answers (the fields `./workbook fetch --json` prints, and the cache state)."""
    fields = {"key": result.key, "value": result.value, "source": result.source, "ttl": result.ttl,
              "elapsed_ms": round(result.elapsed_ms, 3), "cache_state": result.cache_state}  # fmt: skip
    return {**fields, "warning": result.warning} if result.warning else fields


def not_found(key: str) -> str:
    return _(WORDS["not_found"]).format(key=key)


def in_code(sentence: str, key: str):
    """`sentence` (with `{key}`) for the page: escaped, the key set apart in <code> (a key is data, not the app's
    words)."""
    from markupsafe import Markup, escape

    return escape(sentence).replace(escape("{key}"), Markup("<code>{}</code>").format(key))


class Busy(LabError):
    """More requests at once than the app serves: the one sentence a 503 says."""


def harden(app, page) -> None:
    """What every response of the app gets, whatever route: a body limit, its security headers, no debugger,
    only this machine's names as the Host, no form posted from another site, and one sentence for every error
    (JSON under /api/, else the app's `page` with it) — never a traceback or Flask's own error page."""
    from flask import jsonify, request
    from werkzeug.exceptions import Forbidden, HTTPException

    app.debug = False
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, TRUSTED_HOSTS=[settings.HOST, "localhost"])

    @app.before_request
    def same_site_only():
        if request.method != "GET" and request.headers.get("Sec-Fetch-Site", "same-origin") not in (
            "same-origin", "none"):  # fmt: skip
            raise Forbidden(_("This app only takes changes from its own page (this request came from another site)."))

    @app.after_request
    def headers(response):
        response.headers.update(HEADERS)
        return response

    @app.errorhandler(Exception)
    def one_sentence(error):
        if isinstance(error, Busy | BadKey):
            status, said = (503 if isinstance(error, Busy) else 400), str(error)
        elif isinstance(error, HTTPException):
            status = error.code or 500
            said = error.description if isinstance(error, Forbidden) else _(
                "The app cannot answer that request ({status} {name}); the page is at /, the API at /api/<key>."
            ).format(status=status, name=error.name)  # fmt: skip
        else:
            app.logger.exception("the lookup failed")
            status = 500
            said = _("The lookup failed ({error}); see the terminal where the app runs.").format(
                error=type(error).__name__)  # fmt: skip
        if request.path.startswith("/api/"):
            return jsonify(error=said), status
        try:
            return page(status, error=said)
        except Exception:  # noqa: BLE001 - the page itself failed: the sentence alone
            return said, status, {"Content-Type": "text/plain; charset=utf-8"}


def limited(app, limit: int = MAX_LOOKUPS):
    """The WSGI app with at most `limit` requests served at once (the others wait their turn, then 503)."""
    turns = threading.BoundedSemaphore(limit)

    def serve_in_turn(environ, start_response):
        if not turns.acquire(timeout=WAIT_FOR_TURN):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                         *HEADERS.items()])  # fmt: skip
            return [_("The app is busy with {count} lookups; try again in a moment.").format(count=limit).encode()]
        try:
            return list(app(environ, start_response))
        finally:
            turns.release()

    return serve_in_turn


def _server(app, port: int):
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        timeout = REQUEST_TIMEOUT  # a connection that sends nothing does not hold a thread forever

    return make_server(settings.HOST, port, limited(app), threaded=True, request_handler=Handler)


def without_flask() -> str:
    """What `python app.py` says when the Python that runs it has no Flask."""
    said = _("❌ This Python ({python}) has no Flask: run ./workbook web from the workbook's folder, or the "
             "workbook's own Python here: ../.venv/bin/python app.py")  # fmt: skip
    return said.format(python=sys.executable)


def workshop_app():
    """The workshop's app module, `web/app.py` of this clone (it is a script beside its templates, not a package)."""
    import importlib.util

    path = settings.REPO_ROOT / "web" / "app.py"
    spec = importlib.util.spec_from_file_location("workshop_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["workshop_app"] = module  # (its functions' source can be shown, as the chapters do)
    return module


class Background:
    """The app served by a thread of this process on a free loopback port (a chapter, a test); `url`, `stop()`."""

    def __init__(self, app, port: int | None = None):
        from ..state.ports import free_ports

        self.port = port or free_ports(1)[0]
        self._server = _server(app, self.port)
        self.url = f"http://{settings.HOST}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(create_app, port: int | None = None) -> int:
    """`./workbook web` and `python app.py`: the lab up, then the app on 127.0.0.1 until Ctrl-C (exit status 0)."""
    from ..servers.pair import up

    s = settings.load()
    port = port or s.web_port
    if port_taken(port):
        said = _("Port {port} for the web app is taken (another program, or this app already running); choose "
                 "another with LAB_WEB_PORT={next} or --port {next}.")  # fmt: skip
        raise LabError(said.format(port=port, next=port + 1))
    for note in up().notes:
        print(note)
    server = _server(create_app(), port)
    print(_("The workshop's Flask app: {url}   (Ctrl+C stops it)").format(url=f"http://{settings.HOST}:{port}"),
          flush=True)  # fmt: skip
    if threading.current_thread() is threading.main_thread():  # Ctrl-C stops it, even started in the background
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server.serve_forever()  # (werkzeug's returns quietly on Ctrl-C)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print(_("stopped: the web app no longer listens on port {port}.").format(port=port), flush=True)
    return 0


def main(create_app, argv: list[str]) -> int:
    """`python app.py [--port N]`, as the workshop ran it: one sentence, never a traceback, for what can go wrong."""
    import argparse

    parser = argparse.ArgumentParser(prog="python app.py", description=_("the workshop's Flask app"))
    parser.add_argument("--port", default=None, help=_("default LAB_WEB_PORT (5000)"))
    args = parser.parse_args(argv)
    try:
        return serve(create_app, settings.parse_port(args.port, "--port") if args.port else None)
    except LabError as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return exc.exit_code
