"""Evidence a teacher can trust: the form says what is true, hints that name code run, failed checkpoints
show their figure and their fix, `./workbook lab` starts where students run it."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import threading
import time

import nbformat
import pytest

import lab
from lab import clients, credentials, ports, report, report_page
from lab.cache import CacheAside
from lab.cache.slowdb import SlowDB
from lab.cli import main as cli

from .conftest import REPO, one_shared_pair

CALL = re.compile(r"\blab(?:\.\w+)+\([^()]*(?:\([^()]*\)[^()]*)*\)")


def _checkpoint_calls():
    """(chapter, id, hint, has figure) for every checkpoint: `checkpoint(...)` in a chapter's cells (IPython's
    `!` lines understood) and `check(...)` in `lab/lessons/`, where each result owns its checks."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager()
    order = ("id", "title", "ok", "figure", "hint")
    for path in report.find_chapters():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "checkpoint(" in cell.source:
                for node in ast.walk(ast.parse(python.transform_cell(cell.source))):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "checkpoint":
                        yield _parts(node, order)
    for module in sorted((REPO / "lab" / "lessons").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check":
                yield _parts(node, order)


def _parts(node: ast.Call, order: tuple[str, ...]) -> tuple[str, str, object, bool]:
    given = dict(zip(order, node.args)) | {kw.arg: kw.value for kw in node.keywords}
    hint, figure, mark = given.get("hint"), given.get("figure"), given["id"]
    has_figure = figure is not None and not (isinstance(figure, ast.Constant) and figure.value == "")
    mark_id = mark.value if isinstance(mark, ast.Constant) else ast.unparse(mark)
    return mark_id[:2], mark_id, hint.value if isinstance(hint, ast.Constant) else hint, has_figure


def _hints() -> list[tuple[str, str]]:
    """(chapter, hint) for every checkpoint of every chapter."""
    return [(chapter, hint) for chapter, _, hint, _ in _checkpoint_calls() if isinstance(hint, str)]


def test_every_checkpoint_has_a_stable_id_a_hint_and_a_measured_figure():
    calls = list(_checkpoint_calls())
    assert len(calls) >= 35
    ids = [mark_id for _, mark_id, _, _ in calls]
    assert len(ids) == len(set(ids)), "two checkpoints share an id"
    for chapter, mark_id, hint, has_figure in calls:
        assert re.fullmatch(r"0\d\.[a-z0-9_]+", mark_id) or mark_id.startswith("f"), mark_id
        assert hint is not None and hint != "", mark_id  # (a hint may be computed: an install command)
        if chapter >= "02":  # the measuring chapters print what each checkpoint saw
            assert has_figure, mark_id


def test_checkpoint_hints_are_python_calls_or_workbook_commands():
    """A checkpoint is read in its notebook: its fix is a Python call there (`lab.up()`); a terminal command is
    written `./workbook VERB`, never `python -m lab` (a fresh terminal has no venv on its PATH)."""
    hints = _hints()
    assert hints and not [h for _, h in hints if "python -m" in h]
    parts = [part.strip() for _, hint in hints for part in re.split(r"&&|;", hint)]
    for command in (part for part in parts if part.startswith("./workbook")):
        cli.parser().parse_args(shlex.split(command)[1:])  # exits (fails the test) if the lab would not
    assert sum(bool(CALL.findall(h)) for _, h in hints) >= 30


def test_hints_that_name_code_run(lab_home):
    calls = [(chapter, call) for chapter, hint in _hints() for call in CALL.findall(hint)]
    assert len(calls) >= 10, calls
    lab.up()
    calls = list(dict.fromkeys(calls))  # (a call two hints name runs once)
    for chapter, call in calls:
        if call.startswith("lab.cluster") and "up()" not in call:
            lab.cluster.up()
        try:
            eval(call, {"lab": lab, "ctx": lab.context()})  # noqa: S307 - our own hints; `ctx` as the chapters have it
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{chapter}: the hint {call!r} raised {type(exc).__name__}: {exc}")


def test_a_failed_checkpoint_shows_its_figure_and_its_hint():
    from lab.core.marks import check

    bad = check("04.hit_vs_get", "A hit is faster", False, "hit 900 µs, raw GET 80 µs", "lab.up()")
    assert "hit 900 µs" in bad.line() and "fix: lab.up()" in bad.line() and bad.line().startswith("❌ fail")
    html = bad._repr_mimebundle_()["text/html"]
    assert "hit 900 µs" in html and "lab.up()" in html and "fail" in html
    cell = report_page.detail(bad)
    assert "hit 900 µs" in cell and "lab.up()" in cell
    assert check("04.hit_vs_get", "fine", True, "12 µs").line().startswith("✅ pass")


@one_shared_pair
def test_new_client_factory_reads_nothing_per_call(pair, monkeypatch):
    make = clients.factory("master", "app")

    def no_reading(*args, **kwargs):
        raise AssertionError("settings or passwords were read inside the timed request")

    with monkeypatch.context() as m:
        m.setattr(credentials, "load", no_reading)
        m.setattr(clients.settings, "load", no_reading)
        for _ in range(3):
            with make() as c:
                assert c.ping()


# -- the form ------------------------------------------------------------------------------------------


@pytest.fixture
def slow_cache(pair):
    return CacheAside(SlowDB(pair.path("form.sqlite3"), delay=0.8), ttl=60)


@one_shared_pair
def test_form_says_looking_up_for_the_whole_lookup(slow_cache):
    from lab.cache.widgets import CacheForm

    form = CacheForm(slow_cache)
    slow_cache.get("test-key")
    form.lookup("test-key")  # a cached card, with its countdown ticking
    seen, at = [], []  # the card, and when it was read (since the lookup started)
    worker = threading.Thread(target=form.lookup, args=("sku-0007",))
    started = time.monotonic()
    worker.start()
    time.sleep(0.05)
    while worker.is_alive():
        seen.append(form.card.value)
        at.append(time.monotonic() - started)
        time.sleep(0.1)
    worker.join()
    # read at least twice, and once late in the 0.8 s database read (however few reads a busy machine allows)
    assert len(seen) >= 2 and max(at[:-1] or [0]) >= 0.5, at
    assert all("looking up" in card and "sku-0007" in card for card in seen[:-1]), seen
    assert "sku-0007" in form.card.value and "slow_db" in form.card.value
    form.close()


@one_shared_pair
def test_form_error_names_the_button_and_stays(slow_cache):
    from lab.cache.widgets import CacheForm

    form = CacheForm(slow_cache)
    form.lookup("test-key")
    form.invalidate("")
    assert "Invalidate" in form.card.value and "cannot be invalidated" in form.card.value
    time.sleep(1.2)  # two ticks of the countdown: the error is still what the card says
    assert "Invalidate" in form.card.value and "lab-error" in form.card.value
    form.lookup("")
    assert "Look up" in form.card.value and "cannot be looked up" in form.card.value
    form.close()


@one_shared_pair
def test_countdown_stops_at_expiry_and_when_the_form_closes(pair):
    from lab.cache.widgets import CacheForm

    form = CacheForm(CacheAside(SlowDB(pair.path("form.sqlite3"), delay=0), ttl=1))
    form.cache.invalidate("test-key")
    form.lookup("test-key")
    time.sleep(2.2)
    assert "expired" in form.card.value and not form._ticker.is_alive()
    form.cache.ttl = 60
    form.cache.invalidate("test-key")
    form.lookup("test-key")
    assert form._ticker.is_alive()
    form.close()
    time.sleep(0.7)
    assert not form._ticker.is_alive()


# -- ./workbook lab ------------------------------------------------------------------------------------


@one_shared_pair
def test_lab_starts_jupyter_as_root_on_a_chosen_port_without_alarming_warnings(pair):
    port = ports.free_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "lab", "--no-browser", "--port", str(port)], cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if f"http://127.0.0.1:{port}/lab?token=" in line:
                break
    finally:
        proc.terminate()
        proc.wait(30)
    text = "".join(lines)
    assert f"http://127.0.0.1:{port}/lab?token=" in text, text
    for alarming in ("Warning", "Running as root", "without encryption", "deprecated", "Traceback"):
        assert alarming not in text, text


@one_shared_pair
def test_lab_on_a_taken_port_is_one_sentence(pair):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "lab", "lab", "--no-browser", "--port", str(port)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and f"Port {port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
