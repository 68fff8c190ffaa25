"""Every chapter executed end to end through the report, which must be offline, secret-free and honest."""

import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from lab import exercises, report
from lab.core.errors import LabError

from .conftest import REPO, run_lab


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_every_chapter_passes(quick_report):
    result, out, _ = quick_report
    assert result.returncode == 0, result.stdout + result.stderr
    index = (out / "index.html").read_text()
    for chapter in report.find_chapters():
        assert (out / f"{chapter.stem}.html").exists()
        assert re.search(
            rf'<a href="{chapter.stem}.html">{chapter.stem}</a></td><td>[^<]+</td><td><span [^>]+>pass<', index
        ), chapter.stem
    assert ">fail</span>" not in index and "Test Student" in index
    summary = json.loads((out / "summary.json").read_text())
    assert summary["author"] == "Test Student" and summary["version"] == 2 and summary["language"] == "en"
    marks = summary["marks"]
    assert len(marks) >= 35 and {m["status"] for m in marks} == {"pass"}
    ids = [m["id"] for m in marks]
    assert len(ids) == len(set(ids)) and {"04.hit_vs_get", "03.first_lookup", "02.stale_read"} <= set(ids)
    checkpoints = [m for m in marks if m["kind"] == "checkpoint"]
    assert all(m["figure"] for m in checkpoints if m["id"] >= "02"), "a measured figure is missing"
    done = {m["id"] for m in marks if m["kind"] == "exercise"}
    assert done == set(exercises.EXERCISES), "with --solutions, every exercise is done"
    assert summary["mode"] == "quick with the solutions"


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_report_is_offline(quick_report):
    _, out, _ = quick_report
    for page in out.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", text), page.name
        assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text), page.name
        assert "@import url(http" not in text


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_report_holds_no_secret(quick_report):
    _, out, secrets = quick_report
    for page in out.iterdir():
        if page.is_file():
            text = page.read_text(errors="replace")
            assert not any(secret in text for secret in secrets), page.name
            assert "REDISCLI_AUTH=" not in text or "REDISCLI_AUTH=***" in text


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_report_shows_the_workshop_commands(quick_report):
    _, out, _ = quick_report
    chapter = (out / "01_master_and_replica.html").read_text()
    assert "redis cool" in chapter and "redis-cli" in chapter


def test_parameters_are_injected_after_the_parameters_cell():
    nb = nbformat.read(REPO / "notebooks/01_master_and_replica.ipynb", as_version=4)
    used = report.inject_parameters(nb, {"test_value": "injected", "not_a_parameter": 1})
    assert used == {"test_value": "injected"}
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[at + 1] and "test_value = 'injected'" in nb.cells[at + 1].source


def test_notebooks_are_committed_without_outputs():
    for path in report.find_chapters():
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"), path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


def test_unknown_chapter_is_one_sentence():
    with pytest.raises(LabError, match="Unknown chapter"):
        report.find_chapters(["99_nope"])


def test_out_that_is_a_file_is_refused(tmp_path, lab_home):
    target = tmp_path / "a-file"
    target.write_text("mine")
    result = run_lab("report", "--quick", "--out", str(target))
    assert result.returncode == 1 and "is a file" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "mine"


def test_out_with_other_files_is_never_overwritten(tmp_path, lab_home):
    (tmp_path / "thesis.tex").write_text("precious")
    result = run_lab("report", "--quick", "--out", str(tmp_path))
    assert result.returncode == 1 and "other files" in result.stderr
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_a_failing_chapter_is_reported_and_exits_non_zero(tmp_path, lab_home, monkeypatch):
    broken = tmp_path / "notebooks"
    broken.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from lab.grading.checkpoints import checkpoint\ncheckpoint('00.fine', 'fine', True)\n"
            "checkpoint('00.fast', 'fast enough', False, 'measured 912 µs', 'lab.up()')"
        ),
        nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"),
    ]
    nbformat.write(nb, broken / "00_broken.ipynb")
    monkeypatch.setattr(report.run.settings, "NOTEBOOKS_DIR", Path(broken))
    out = tmp_path / "out"
    assert report.build(quick=True, out=str(out)) == 1
    index = (out / "index.html").read_text()
    assert "broken on purpose" in index and ">fail</span>" in index
    assert "measured 912 µs" in index and "fix: <code>lab.up()</code>" in index


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_report_embeds_the_plots(quick_report):
    _, out, _ = quick_report
    for chapter in ("02_replication", "03_cache_aside", "04_latency", "05_ttl_decay"):
        text = (out / f"{chapter}.html").read_text()
        assert text.count('src="data:image/png;base64,') >= 1, chapter


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_index_names_the_environment(quick_report):
    _, out, _ = quick_report
    index = (out / "index.html").read_text()
    for label in ("Platform", "Python", "Redis", "Ports"):
        assert f"<th>{label}</th>" in index
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", index)


def test_out_in_an_unwritable_place_is_one_sentence(lab_home):
    result = run_lab("report", "--quick", "--out", "/proc/lab-report")
    assert result.returncode == 1 and "Cannot write the report" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("after", [0.0, 2.5])  # before the first cell, and while a chapter's cells run
def test_an_interrupted_run_leaves_no_half_report(tmp_path, lab_home, after):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "report", "--quick", "--out", str(out)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    first = proc.stdout.readline()  # "[1/N] 00_... ..." once the lab is up and the first chapter runs
    assert first.startswith("[1/")
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in stderr, stderr
    assert not out.exists(), "an interrupted run left a report behind"
    assert not list(tmp_path.glob(".report.*")), "a partial folder was left behind"


def _kernels_of(home: Path) -> list[int]:
    """Live Jupyter kernels started for the lab in `home` (their environment names it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (proc.name.isdigit() and b"ipykernel" in (proc / "cmdline").read_bytes()
                    and f"LAB_HOME={home}".encode() in (proc / "environ").read_bytes().split(b"\0")):  # fmt: skip
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_the_cluster_runs_beside_the_failovers_and_ctrl_c_ends_both(tmp_path, lab_home):
    """07 runs on six nodes of its own, so the report runs it beside 06 (which mostly waits on its failovers):
    its nodes are up before 06 has ended. Ctrl-C then ends both chapters' kernels and leaves no half report."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from lab.report.chapters import runs_alongside

    assert [p.stem for p in report.find_chapters() if runs_alongside(p)] == ["07_cluster"]
    out = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "report", "--quick", "--chapter", "06", "--chapter", "07", "--out", str(out)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    printed = []
    reader = threading.Thread(target=lambda: printed.extend(iter(lambda: proc.stdout.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(lab_home.glob("cluster-*.pid")):
        time.sleep(0.05)
    so_far = "".join(printed)
    assert list(lab_home.glob("cluster-*.pid")) and so_far.startswith("[1/2] 06_failover_sentinel ...")
    assert "[2/2]" not in so_far, f"the cluster started only after 06 had ended: {so_far!r}"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(5)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr.read()
    assert not out.exists() and not list(tmp_path.glob(".report.*"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _kernels_of(lab_home):
        time.sleep(0.1)
    assert _kernels_of(lab_home) == [], "a chapter's kernel outlived the report"


def test_each_chapter_keeps_its_own_quick_values():
    """`--quick` takes each chapter's own values (its parameters cell's metadata), only names that cell assigns."""
    quick = {}
    for path in report.find_chapters():
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        values = cell.metadata.get("quick", {})
        assert set(values) <= set(report.parameter_names(cell.source)), path.name
        quick[path.stem[:2]] = values
        assert report.inject_parameters(nb) == values  # (no values given: the chapter's quick ones)
    assert quick["04"]["hit_samples"] < 5000 and quick["06"]["failover_runs"] == 1
    assert not hasattr(report.run, "QUICK"), "the report keeps no chapter's values"
