"""The workshop's Flask app: the cache-aside lookup in a request handler, an HTML form and a JSON API for curl.

./workbook web          (or, from this folder, with the workbook's Python: python app.py)
http://127.0.0.1:5000   LAB_WEB_PORT or --port to change it; Ctrl+C stops it
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this clone's `lab`, when run as `python app.py`

from lab.cache import BadKey, CacheAside, web  # noqa: E402

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
        return render_template("index.html", t=texts, lang=web.language(), number=web.number, **shown), status

    @app.get("/")
    def index():
        key = web.key_from_query(request.query_string)
        if key is None:
            return page(invalidated=web.key_from_query(request.query_string, b"invalidated"))
        result = cache.get(key)  # Redis first; on a miss the slow database, then SET with the TTL
        return page(200 if result.found else 404, result=result, not_found=web.not_found(key))

    @app.post("/invalidate")
    def invalidate():
        key = web.key_from_query(request.get_data(), required=True)  # the form's body: key=...
        cache.invalidate(key)
        return redirect(url_for("index", invalidated=key), 303)  # post/redirect/get: a refresh does not post again

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
        web.key_from_bytes(b"")  # an empty key: BadKey, answered by the handler below

    @app.get("/health")
    def health():  # an empty route: what Flask and HTTP cost without the cache (chapter 04 times it)
        return "ok"

    @app.errorhandler(BadKey)
    def api_error(error):
        if request.path.startswith("/api/"):
            return jsonify(error=str(error)), 400
        return page(400, error=str(error))  # (the template escapes it: never reflected as HTML)

    @app.after_request
    def headers(response):
        response.headers.update(web.HEADERS)
        return response

    return app


if __name__ == "__main__":
    sys.exit(web.main(create_app, sys.argv[1:]))
