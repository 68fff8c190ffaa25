"""The workshop's Flask app (`web/app.py`) over real HTTP against real servers: the page, the JSON API, bad input,
50 concurrent cold requests, Redis going away, `./workbook web` (port taken, Ctrl-C), `python app.py`, the demo."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from lab import ports, servers
from lab.cache import CacheAside, SlowDB
from lab.cache.web import Background

from .conftest import REPO, need, one_binary, one_shared_pair, run_lab

WEB = REPO / "web"


def _workshop_app():
    spec = importlib.util.spec_from_file_location("workshop_app_under_test", WEB / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


APP = _workshop_app()


@pytest.fixture
def site(pair):
    """The app over the shared pair (this test's key prefix), a 0.3 s database, served by a thread of this process."""
    cache = CacheAside(SlowDB(pair.path("web.sqlite3"), delay=0.3), ttl=60)
    with Background(APP.create_app(cache)) as served:
        served.cache = cache
        yield served


def _shown(page: str, element: str) -> str:
    """The text of the page's element with that id (the template gives source, state, ttl and took one)."""
    start = page.index(f'id="{element}"')
    return page[page.index(">", start) + 1 : page.index("<", start)]


@one_shared_pair
def test_the_page_goes_slow_db_then_cache_and_invalidates(site):
    first = requests.get(site.url + "/", params={"key": "test-key"})
    assert first.status_code == 200 and '<html lang="en">' in first.text
    assert (_shown(first.text, "source"), _shown(first.text, "state")) == ("slow_db", "miss")
    assert "default-src 'none'" in first.headers["Content-Security-Policy"]
    again = requests.get(site.url + "/", params={"key": "test-key"})
    assert (_shown(again.text, "source"), _shown(again.text, "state")) == ("cache", "hit")
    assert 0 < float(_shown(again.text, "ttl").split()[0]) <= 60
    posted = requests.post(site.url + "/invalidate", data={"key": "test-key"}, allow_redirects=False)
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/?invalidated=test-key")
    after = requests.get(site.url + posted.headers["Location"])
    assert "<code>test-key</code> is no longer cached" in after.text
    again = requests.post(site.url + "/invalidate", data={"key": "test-key"}, allow_redirects=False)
    assert again.headers["Location"].endswith("/?not_cached_now=test-key")  # nothing left to invalidate: it says so
    assert _shown(requests.get(site.url + "/", params={"key": "test-key"}).text, "source") == "slow_db"
    missing = requests.get(site.url + "/", params={"key": "no-such-product"})
    assert missing.status_code == 404 and "<code>no-such-product</code> is not in the database" in missing.text
    assert site.cache.db.reads == 3


@one_shared_pair
def test_the_json_api_answers_curl(site):
    first = requests.get(site.url + "/api/test-key").json()
    assert set(first) == {"key", "value", "source", "ttl", "elapsed_ms", "cache_state"}
    assert first["source"] == "slow_db" and first["ttl"] == 60 and first["elapsed_ms"] >= 300
    second = requests.get(site.url + "/api/test-key").json()
    assert second["source"] == "cache" and second["value"] == first["value"] and 0 < second["ttl"] <= 60
    assert second["elapsed_ms"] < first["elapsed_ms"]  # (the same run: a hit against the database read it skipped)
    assert requests.delete(site.url + "/api/test-key").json() == {"key": "test-key", "invalidated": True}
    assert requests.delete(site.url + "/api/test-key").json()["invalidated"] is False
    assert requests.get(site.url + "/api/test-key").json()["source"] == "slow_db"
    missing = requests.get(site.url + "/api/no-such-product")
    assert missing.status_code == 404 and missing.json()["key"] == "no-such-product" and missing.json()["error"]
    accented = requests.get(site.url + "/api/caf%C3%A9")  # UTF-8 is fine: a key the database lacks
    assert accented.status_code == 404 and accented.json()["key"] == "café"


BAD = {
    "empty": ("/api/", "Type a key first"),
    "blank": ("/api/%20%20", "Type a key first"),
    "over 512 bytes": ("/api/" + "é" * 257, "514 bytes long"),
    "not UTF-8": ("/api/caf%E9", "not UTF-8"),
    "HTML": ("/api/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "cannot hold HTML"),
    "page, empty": ("/?key=", "Type a key first"),
    "page, not UTF-8": ("/?key=%FF%FE", "not UTF-8"),
    "page, HTML": ("/?key=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "cannot hold HTML"),
    "invalidate, HTML": ("POST /invalidate key=%3Cb%3Ebold%3C%2Fb%3E", "cannot hold HTML"),
}


@one_shared_pair
@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_key_gets_a_400_with_one_sentence_never_reflected(site, case):
    path, said = BAD[case]
    if path.startswith("POST "):
        where, body = path[5:].split(" ")
        answer = requests.post(
            site.url + where, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    else:
        answer = requests.get(site.url + path)
    assert answer.status_code == 400 and said in answer.text, answer.text[:300]
    if path.startswith("/api/"):
        sentence = answer.json()["error"]
        assert sentence.endswith(".") and sentence.count(". ") <= 1
    for raw in ("<script>", "<img", "<b>"):
        assert raw not in answer.text  # escaped, never HTML of the student's making
    assert site.cache.db.reads == 0 and "Traceback" not in answer.text


@one_shared_pair
def test_what_the_app_refuses_is_one_sentence_and_nothing_else(site):
    """A body over 4 KB (refused before it is read), a form posted from another site, a Host that is not this
    machine (DNS rebinding), a method or a path the app has not: one sentence each, its security headers on."""
    answers = {
        413: requests.post(site.url + "/invalidate", data="key=" + "a" * 5000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}),
        403: requests.post(site.url + "/invalidate", data={"key": "test-key"}, headers={"Sec-Fetch-Site": "cross-site"}),
        400: requests.get(site.url + "/api/test-key", headers={"Host": "rebind.example:80"}),
        405: requests.put(site.url + "/api/test-key"),
        404: requests.get(site.url + "/no-such-page"),
    }  # fmt: skip
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text[:200])
        assert "Traceback" not in answer.text and "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "another site" in answers[403].text and "<!doctype html>" in answers[404].text
    assert site.cache.db.reads == 0


def test_a_full_app_says_busy_in_one_sentence(monkeypatch):
    """Past its limit of lookups at once, a request waits its turn; past the wait, 503 and one sentence."""
    from lab.cache import web

    monkeypatch.setattr(web, "WAIT_FOR_TURN", 0.2)
    release = threading.Event()

    def slow(environ, start_response):
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    with Background(web.limited(slow, limit=1)) as served:
        first = threading.Thread(target=requests.get, args=(served.url + "/",))
        first.start()
        time.sleep(0.1)
        busy = requests.get(served.url + "/", timeout=10)
        release.set()
        first.join()
    assert busy.status_code == 503 and "busy with 1 lookups" in busy.text


@one_shared_pair
def test_fifty_concurrent_cold_requests_read_the_database_once(site):
    start, answers = threading.Barrier(50), []

    def one():
        start.wait()
        answers.append(requests.get(site.url + "/api/sku-0042", timeout=30))

    workers = [threading.Thread(target=one) for _ in range(50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [a.status_code for a in answers] == [200] * 50
    assert len({a.json()["value"] for a in answers}) == 1
    assert site.cache.db.reads == 1, f"{site.cache.db.reads} database reads for one cold key"


@one_binary
def test_redis_down_answers_from_the_database_and_says_unavailable(lab):
    with Background(APP.create_app(CacheAside(SlowDB(delay=0.05)))) as served:
        assert requests.get(served.url + "/api/test-key").json()["source"] == "slow_db"
        servers.down()
        answer = requests.get(served.url + "/api/test-key", timeout=30)
        page = requests.get(served.url + "/", params={"key": "test-key"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["cache_state"] == "unavailable"
    assert answer.json()["source"] == "slow_db" and answer.json()["value"] and answer.json()["warning"]
    assert _shown(page.text, "state") == "unavailable" and "⚠️" in page.text


def test_a_taken_port_is_one_sentence_naming_lab_web_port(lab_home):
    port = ports.free_ports(1)[0]
    with socket.create_server(("127.0.0.1", port)):
        by_flag = run_lab("web", "--port", str(port))
        by_variable = run_lab("web", env={"LAB_WEB_PORT": str(port)})
    for done in (by_flag, by_variable):
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"Port {port} for the web app is taken" in done.stderr and "LAB_WEB_PORT" in done.stderr
    assert not list(lab_home.glob("*.pid")), "nothing was started for a port it could not use"


def _served(command: list[str], port: int, cwd, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not ports.port_taken(port):
        time.sleep(0.1)
    assert ports.port_taken(port), proc.communicate(timeout=10)
    return proc


@one_binary
@pytest.mark.parametrize("how", ["./workbook web", "python app.py"])
def test_it_serves_then_ctrl_c_stops_it_cleanly(lab_home, redis_server, monkeypatch, how):
    """`./workbook web` and, as the workshop ran it, `python app.py` from its folder: the lab is started if needed,
    the app answers, Ctrl-C stops it with one line and frees the port."""
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    port = ports.free_ports(1)[0]
    env = {**os.environ, "LAB_SLOW_DB_DELAY": "0.1"}
    if how == "python app.py":
        env.pop("PYTHONPATH", None)  # it finds its clone's `lab` by itself
        proc = _served([sys.executable, "app.py", "--port", str(port)], port, WEB, env)
    else:
        proc = _served([sys.executable, "-m", "lab", "web", "--port", str(port)], port, REPO,
                       {**env, "PYTHONPATH": str(REPO)})  # fmt: skip
    try:
        assert requests.get(f"http://127.0.0.1:{port}/api/test-key", timeout=30).json()["source"] == "slow_db"
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=30).text == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert f"http://127.0.0.1:{port}" in out and f"no longer listens on port {port}" in out
    assert not ports.port_taken(port)


@one_shared_pair
def test_the_page_and_the_api_speak_french(pair, monkeypatch):
    monkeypatch.setenv("LAB_LANG", "fr")
    cache = CacheAside(SlowDB(pair.path("web-fr.sqlite3"), delay=0.05), ttl=60)
    with Background(APP.create_app(cache)) as served:
        page = requests.get(served.url + "/", params={"key": "test-key"}).text
        missing = requests.get(served.url + "/api/aucune-cle").json()
        bad = requests.get(served.url + "/api/%3Cb%3E").json()
    assert '<html lang="fr">' in page and "Clé" in page and "Invalider" in page
    assert "n'est pas dans la base" in missing["error"] and "HTML" in bad["error"] and "Keys" not in bad["error"]


@one_binary
def test_the_curl_demo_shows_slow_db_then_cache_then_the_ttl(lab):
    need(shutil.which("curl") is not None, "curl (apt-get install curl)")
    with Background(APP.create_app(CacheAside(SlowDB(delay=0.2)))) as served:
        done = subprocess.run(["bash", str(WEB / "demo_script.sh")], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "LAB_WEB_PORT": str(served.port)})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.index('"source":"slow_db"') < out.index('"source":"cache"') and '"ttl":' in out, out
    assert '"invalidated":true' in out


def test_python_app_py_without_flask_is_one_sentence():
    """`python3 app.py` with the system's Python (no Flask: the workbook's packages are in its .venv)."""
    system = "/usr/bin/python3"
    lacks = os.path.exists(system) and subprocess.run([system, "-c", "import flask"], capture_output=True).returncode
    need(bool(lacks), "a system python3 without Flask")
    done = subprocess.run([system, "app.py"], cwd=WEB, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "has no Flask" in done.stderr and "./workbook web" in done.stderr
