"""The standalone app (`./workbook app`, Voilà) driven in a real headless chromium, as a student uses it."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from lab import ports, settings

from .conftest import REPO, need, one_shared_pair

CHROMIUM = settings.load().chromium
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.browser


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited: {proc.stdout.read()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("the app did not start listening")


@pytest.fixture(params=["en"])
def app(lab, request):
    port = ports.free_port_pair()[0]
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAB_SLOW_DB_DELAY": "0.4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "app", "--port", str(port), "--lang", request.param],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def browser():
    need(os.path.exists(CHROMIUM), f"chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package (requirements.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_form_goes_slow_db_then_cache(app, browser):
    page = browser.new_page()
    page.goto(app, timeout=90_000)
    box = page.get_by_placeholder("a key, e.g. test-key")
    box.wait_for(timeout=90_000)
    assert page.title() == "Redis cache-aside — the workshop's form"  # the browser tab says what it is
    box.fill("test-key")
    box.press("Enter")
    badge = page.locator(".lab-source")
    badge.wait_for(timeout=30_000)
    assert badge.inner_text() == "slow_db"
    page.get_by_role("button", name="Look up").click()
    page.wait_for_function("document.querySelector('.lab-ratio').innerText.includes('1 hit,')", timeout=30_000)
    assert badge.inner_text() == "cache"
    assert "Hello from the slow database" in page.locator(".lab-card").inner_text()

    box.fill("")
    page.get_by_role("button", name="Look up").click()
    page.locator(".lab-error").wait_for(timeout=30_000)
    assert "empty or blank key" in page.locator(".lab-error").inner_text()


@pytest.mark.parametrize("app", ["fr"], indirect=True)
def test_the_french_form_speaks_french(app, browser):
    """`./workbook app --lang fr`: the French app notebook, French labels and cards; what Redis and the lookup
    name (slow_db, cache) stays as they print it."""
    page = browser.new_page()
    page.goto(app, timeout=90_000)
    box = page.get_by_placeholder("une clé, par ex. test-key")
    box.wait_for(timeout=90_000)
    assert page.title() == "Cache-aside avec Redis — le formulaire de l'atelier"
    box.fill("test-key")
    page.get_by_role("button", name="Lire").click()
    badge = page.locator(".lab-source")
    badge.wait_for(timeout=30_000)
    assert badge.inner_text() == "slow_db"
    assert "Hello from the slow database" in page.locator(".lab-card").inner_text()  # (the database's data)
    page.get_by_role("button", name="Lire").click()
    page.wait_for_function("document.querySelector('.lab-ratio').innerText.includes('taux de hits')", timeout=30_000)
    assert badge.inner_text() == "cache"
    page.get_by_role("button", name="Invalider").click()
    page.wait_for_function("document.querySelector('.lab-card').innerText.length > 0", timeout=30_000)
    box.fill("")
    page.get_by_role("button", name="Lire").click()
    page.locator(".lab-error").wait_for(timeout=30_000)
    assert "Saisissez d'abord une clé" in page.locator(".lab-error").inner_text()


@one_shared_pair
def test_a_chapter_opened_in_jupyterlab_is_not_modified(pair, browser):
    """JupyterLab writes the kernel's language_info into a notebook it opens: `./workbook lab` gives the chapters
    this kernel's first, so that a chapter does not show as modified (●) the moment it is opened."""
    port = ports.free_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "lab", "--no-browser", "--port", str(port)], cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        url = None
        for line in proc.stdout:
            found = re.search(rf"(http://127\.0\.0\.1:{port}/lab\?token=\w+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "JupyterLab printed no link"
        page = browser.new_page()
        page.goto(url.replace("/lab?", "/lab/tree/03_cache_aside.ipynb?"), timeout=90_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
        page.wait_for_timeout(3000)  # the kernel's info has arrived and been applied by now
        assert page.locator(".lm-TabBar-tab.jp-mod-dirty").count() == 0
        assert page.locator("text=get notified about official Jupyter news").count() == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@one_shared_pair
def test_the_flask_page_goes_slow_db_then_cache_and_counts_down(pair, browser):
    """The workshop's Flask app (`./workbook web`) in a real browser: type test-key and submit — slow_db; again —
    cache, its TTL counting down by the page's own script (allowed by the page's CSP: no console error)."""
    from playwright.sync_api import expect

    from lab.cache import CacheAside, SlowDB
    from lab.cache.web import Background

    from .test_web import APP

    cache = CacheAside(SlowDB(pair.path("browser-web.sqlite3"), delay=0.3), ttl=60)
    with Background(APP.create_app(cache)) as site:
        page = browser.new_page()
        refused = []
        page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
        page.goto(site.url + "/", timeout=60_000)
        assert page.title() == "Cache-aside with Flask and Redis"
        page.get_by_placeholder("a key, e.g. test-key").fill("test-key")
        page.get_by_role("button", name="Look up").click()
        assert page.locator("#source").inner_text(timeout=30_000) == "slow_db"
        page.get_by_role("button", name="Look up").click()
        expect(page.locator("#source")).to_have_text("cache", timeout=30_000)  # (the CSP forbids eval: no JS here)
        first = float(page.locator("#ttl").inner_text().split()[0])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and float(page.locator("#ttl").inner_text().split()[0]) >= first:
            time.sleep(0.1)
        assert float(page.locator("#ttl").inner_text().split()[0]) < first, "the TTL did not count down"
        page.get_by_role("button", name="Invalidate").click()
        page.get_by_text("test-key is no longer cached").wait_for(timeout=30_000)
        page.set_viewport_size({"width": 360, "height": 740})  # a phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert refused == [], refused
