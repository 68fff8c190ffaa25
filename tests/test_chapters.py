"""The chapters as a class meets them: each opens with its card (goal, time in class, path, needs) written from
its metadata and ends with its key takeaways before the checkpoints; the core path is the workshop's 3 hours."""

import json
import re

import nbformat
import pytest

from lab import report
from lab.core.errors import LabError
from lab.report.chapters import CARD_TAG, About, path_of

from .conftest import REPO, run_lab

CORE = ["00_install_and_verify", "01_master_and_replica", "03_cache_aside", "04_latency", "05_ttl_decay"]


@pytest.mark.parametrize("path", report.find_chapters(), ids=lambda p: p.stem)
def test_each_chapter_opens_with_its_card_and_ends_with_its_takeaways(path):
    nb = nbformat.read(path, as_version=4)
    about = About.of(path)
    assert nb.cells[1].cell_type == "markdown" and CARD_TAG in nb.cells[1].metadata.get("tags", [])
    assert nb.cells[1].source == about.card(), "the card is written from the chapter's metadata"
    headings = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## ")]
    titles = [nb.cells[i].source.splitlines()[0] for i in headings]
    assert titles[-2:] == ["## Key takeaways", "## Checkpoints"], titles
    bullets = [line for line in nb.cells[headings[-2]].source.splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, bullets


def test_the_core_path_is_the_workshops_three_hours():
    core = report.find_chapters(core=True)
    assert [p.stem for p in core] == CORE
    minutes = sum(About.of(p).minutes for p in core)
    assert 120 <= minutes <= 180, minutes
    assert path_of(core) == "core" and path_of(report.find_chapters()) == "full"
    assert path_of(report.find_chapters(["03"])) == "some"
    readme = (REPO / "README.md").read_text()
    said = re.search(r"The 3-hour core path:\*\* (.+)", readme)
    assert said and re.findall(r"`(\d\d)_", said.group(1)) == [c[:2] for c in CORE], "the README names the core path"
    with pytest.raises(LabError, match="without --chapter"):
        report.find_chapters(["02"], core=True)


def test_damaged_chapter_metadata_is_one_sentence(tmp_path):
    nb = json.loads(report.find_chapters()[0].read_text())
    nb["metadata"]["workbook"]["path"] = "<script>"
    damaged = tmp_path / "00_x.ipynb"
    damaged.write_text(json.dumps(nb))
    with pytest.raises(LabError, match="out of bounds"):
        About.of(damaged)
    del nb["metadata"]["workbook"]
    damaged.write_text(json.dumps(nb))
    with pytest.raises(LabError, match="no readable chapter metadata"):
        About.of(damaged)


@pytest.mark.slow
def test_report_core_runs_the_core_path_and_says_so(lab_home, tmp_path):
    out = tmp_path / "report"
    result = run_lab("report", "--core", "--quick", "--solutions", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["path"] == "core" and [c["name"] for c in summary["chapters"]] == CORE
    assert {c["status"] for c in summary["chapters"]} == {"pass"}
    assert "the 3-hour core path only" in (out / "handin.html").read_text()
    assert sorted(p.stem for p in out.glob("0*.html")) == CORE
