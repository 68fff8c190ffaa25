"""The workshop's Flask app: the cache-aside lookup in a request handler, an HTML form and a JSON API for curl.

./workbook web          (or, from this folder, with the workbook's Python: python app.py)
http://127.0.0.1:5000   LAB_WEB_PORT or --port to change it; Ctrl+C stops it
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this clone's `lab`, when run as `python app.py`

from lab.cache import CacheAside, web  # noqa: E402

try:
    from flask import Flask, jsonify, redirect, render_template, request, url_for
except ImportError:  # a Python without the workbook's packages (the system's, not the workbook's .venv)
    sys.exit(web.without_flask())


def create_app(cache: CacheAside | None = None) -> Flask:
    app = Flask(__name__, root_path=str(Path(__file__).resolve().parent))  # its templates/ and static/ beside it
    cache = cache or CacheAside()  # Redis as the `app` user, the slow database, TTL 60 s

    def page(status: int = 200, **shown):
        texts = web.words()
        texts["lead"] = texts["lead"].format(delay=web.number(cache.db.delay))
        example = f"curl http://127.0.0.1:{request.environ.get('SERVER_PORT', 5000)}/api/test-key"
        return render_template("index.html", t=texts, lang=web.language(), number=web.number, example=example,
                               in_code=web.in_code, **shown), status  # fmt: skip

    @app.get("/")
    def index():
        key = web.key_from_query(web.query_of(request.environ))
        if key is None:
            noted = {name: web.key_from_query(web.query_of(request.environ), name.encode())
                     for name in ("invalidated", "not_cached_now")}  # fmt: skip
            return page(**noted)
        result = cache.get(key)  # Redis first; on a miss the slow database, then SET with the TTL
        return page(200 if result.found else 404, result=result)

    @app.post("/invalidate")
    def invalidate():
        key = web.key_from_query(request.get_data(), required=True)  # the form's body: key=...
        said = "invalidated" if cache.invalidate(key) else "not_cached_now"
        return redirect(url_for("index", **{said: key}), 303)  # post/redirect/get: a refresh does not post again

    @app.get("/api/<path:key>")
    def api_get(key):
        result = cache.get(web.key_from_path(request.environ))
        if not result.found:
            return jsonify(key=result.key, error=web.not_found(result.key)), 404
        return jsonify(web.as_json(result))

    @app.delete("/api/<path:key>")
    def api_delete(key):
        key = web.key_from_path(request.environ)
        return jsonify(key=key, invalidated=cache.invalidate(key))

    @app.route("/api/", methods=["GET", "DELETE"])
    def api_without_key():
        web.key_from_bytes(b"")  # an empty key: BadKey, one sentence (web.harden answers every error)

    @app.get("/health")
    def health():  # an empty route: what Flask and HTTP cost without the cache (chapter 04 times it)
        return "ok"

    web.harden(app, page)  # a body limit, security headers, only this machine's names, one sentence per error
    return app


if __name__ == "__main__":
    sys.exit(web.main(create_app, sys.argv[1:]))
