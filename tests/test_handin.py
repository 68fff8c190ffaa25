"""The hand-in (one self-contained HTML file, a PDF), the instructor's class view, and the student/developer
split of the environment."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess

import pytest

from lab import handin, report, settings

from .conftest import REPO, need, run_lab


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_handin_is_one_self_contained_file(quick_report):
    _, out, secrets = quick_report
    page = (out / "handin.html").read_text()
    assert "<title>Redis Cache Workbook — hand-in of Test Student</title>" in page and "<b>Test Student</b>" in page
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=[\"']?(https?:)?//", page), "it loads something"
    assert page.count('src="data:image/png;base64,') >= 8, "the plots are not embedded"
    assert not any(secret in page for secret in secrets)
    for chapter in sorted(p.stem for p in out.glob("0*.html")):
        assert f'id="{chapter}"' in page and f'href="#{chapter}"' in page
    assert page.index("<h2>Checkpoints</h2>") < page.index('id="00_install_and_verify"'), "the table comes first"
    assert handin.embedded_summary(page) == json.loads((out / "summary.json").read_text())


@pytest.mark.slow
@pytest.mark.xdist_group("quick_report")
def test_class_view_over_hand_ins(quick_report, tmp_path):
    _, out, _ = quick_report
    summary = json.loads((out / "summary.json").read_text())
    paths = []
    for n in range(3):
        folder = tmp_path / f"student-{n}"
        folder.mkdir()
        data = {**summary, "author": f"Student {n}", "path": "core" if n == 0 else summary["path"]}
        if n == 1:
            data["marks"] = [{**m, "status": "fail"} if m["id"].startswith("04") else m for m in data["marks"]]
        if n == 2:  # a hand-in in another language: other sentences, the same ids — the same columns
            data["language"] = "fr"
            data["marks"] = [{**m, "title": f"(en français) {m['title']}"} for m in data["marks"]]
        (folder / "summary.json").write_text(json.dumps(data))
        paths.append(str(folder))
    paths += [str(out / "handin.html"), str(out / "handin.html")]  # one hand-in given twice: flagged
    (tmp_path / "binary.html").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "other.json").write_text(json.dumps({**summary, "version": 99}))
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(80 * 2**20)
    paths += [str(tmp_path / "binary.html"), str(tmp_path / "other.json"), str(huge), str(tmp_path / "missing")]
    result = run_lab("class", *paths, "--out", str(tmp_path / "class"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("skipped") == 4
    assert "another version" in result.stderr and "too large" in result.stderr and "twice" not in result.stdout
    assert "'Test Student' handed in 2 reports" in result.stderr
    rows = list(csv.DictReader(open(tmp_path / "class" / "class.csv")))
    assert [r["author"] for r in rows] == ["Student 0", "Student 1", "Student 2", "Test Student", "Test Student"]
    assert int(rows[1]["failed"]) >= 4 and rows[0]["failed"] == "0" and rows[3]["twice"] == "yes"
    assert "03.lookup" in rows[0] and "04.hit_vs_get" in rows[0]
    ids = {m["id"] for m in summary["marks"]}
    assert set(rows[0]) - {"author", "path", "mode", "created", "source", "passed", "failed", "to do", "twice"} == ids
    assert [r["path"] for r in rows] == ["core", "full", "full", "full", "full"]  # which path each hand-in covers
    assert rows[2]["failed"] == "0" and int(rows[2]["passed"]) == len(ids)  # the French hand-in: one table
    page = (tmp_path / "class" / "index.html").read_text()
    assert "Who needs help" in page and "Student 1" in page and "Pass rate" in page
    assert "<td>Student 0</td><td>core path (3 hours)</td>" in page and "core path (3 hours): 1" in page


def test_class_view_with_nothing_readable_is_one_sentence(tmp_path):
    (tmp_path / "notes.txt").write_text("not a report")
    result = run_lab("class", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "class"))
    assert result.returncode == 1 and "No hand-in could be read" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_pdf_is_printed_by_the_system_chromium(lab_home, tmp_path):
    need(os.path.exists(settings.load().chromium), "chromium (apt-get install chromium) to print the PDF")
    out = tmp_path / "report"
    result = run_lab("report", "--quick", "--chapter", "01", "--pdf", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "handin.pdf").read_bytes().startswith(b"%PDF") and handin.pdf_pages(out / "handin.pdf") >= 2
    assert re.search(r"handin\.pdf \(\d+ pages, printed in [\d.]+ s\)", result.stdout)


def test_pdf_without_chromium_is_one_sentence_and_keeps_the_html(lab_home, tmp_path):
    out = tmp_path / "report"
    result = run_lab("report", "--quick", "--chapter", "00", "--pdf", "--out", str(out),
                     env={"LAB_CHROMIUM": str(tmp_path / "no-chromium")}, timeout=300)  # fmt: skip
    assert result.returncode == 1 and "apt install chromium" in result.stderr and "Traceback" not in result.stderr
    assert (out / "handin.html").exists() and not (out / "handin.pdf").exists()


def test_student_and_developer_requirements_are_apart():
    student = (REPO / "requirements.txt").read_text()
    developer = (REPO / "requirements-dev.txt").read_text()
    for tool in ("pytest", "playwright", "ruff"):
        assert not re.search(rf"(?m)^{tool}\b", student) and re.search(rf"(?m)^{tool}\b", developer)


def test_a_shared_environment_is_used_as_it_is(tmp_path):
    """WORKBOOK_VENV: an environment that already satisfies the requirements is used, not modified; the
    clone's `lab` comes from PYTHONPATH (no .pth file ties an environment to one clone)."""
    venv = REPO / ".venv"
    need(venv.exists(), "the workbook's environment (./workbook setup)")
    before = sorted(p.name for p in venv.glob("lib/python*/site-packages/*"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(WORKBOOK_VENV=str(venv), LAB_HOME=str(tmp_path / "lab"))
    done = subprocess.run([str(REPO / "workbook"), "setup"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stdout + done.stderr and "ready" in done.stdout
    assert sorted(p.name for p in venv.glob("lib/python*/site-packages/*")) == before
    assert not list(venv.glob("lib/python*/site-packages/redis_cache_workbook.pth"))
    assert shutil.which("python3")


A4_WIDTH_PX = 718  # 190 mm, A4's width within the hand-in's margins, at the browser's 96 px per inch
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.querySelectorAll('table, pre, img, .jp-OutputArea-output, .jp-RenderedHTMLCommon')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 1 || el.scrollWidth > el.clientWidth + 1))
      found.push(`${el.tagName} ${Math.round(box.right)}/${width}: ${(el.innerText || '').slice(0, 60)}`);
  }
  return found;
}"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.xdist_group("quick_report")
def test_handin_prints_every_table_and_code_line_within_a4(quick_report):
    """Laid out for print on A4's width, no table, code block, plot or output is wider than the page (it wraps
    or shrinks, never clips), and every mark reads as a word, with or without an emoji font."""
    _, out, _ = quick_report
    need(os.path.exists(settings.load().chromium), "chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from .test_app_browser import CHROMIUM_ARGS

    page_text = (out / "handin.html").read_text()
    assert "@page { size: A4" in page_text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=settings.load().chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": A4_WIDTH_PX, "height": 1000})
        page.emulate_media(media="print")
        page.goto((out / "handin.html").as_uri())
        assert page.evaluate(OVERFLOWING) == []
        header = page.locator(".workbook-header").inner_text()
        browser.close()
    assert "every chapter passed" in header and "✅" not in header and "⬜" not in header
    exercises_at, checkpoints_at = header.index("Exercises"), header.index("Checkpoints")
    assert exercises_at < checkpoints_at, "the exercises come first, in a table of their own"
    assert len(re.findall(r'id="[0-9]{2}_[a-z_]+--Checkpoints"', page_text)) == len(report.find_chapters()), (
        "each chapter's anchors"
    )
