"""The class view reads any folder a class hands in without failing: every malformed or hostile file named and
skipped (never a traceback, never a hang), CSV cells a spreadsheet cannot run, `--out` that overwrites nothing
it did not make, paths from the folder the command was typed in."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest

from .conftest import REPO, run_lab

MARK = {"id": "03.lookup", "kind": "exercise", "status": "pass", "title": "exercise 03.lookup", "figure": "",
        "hint": "", "parts": [], "message": "", "printed": ""}  # fmt: skip
GOOD = {"version": 2, "author": "Ada", "mode": "quick", "created": "2026-12-01T10:00:00", "language": "en",
        "environment": {}, "chapters": [], "marks": [MARK]}  # fmt: skip
WRONG_SHAPES = {
    "author a number": {**GOOD, "author": 42},
    "marks a string": {**GOOD, "marks": "all good"},
    "a mark a number": {**GOOD, "marks": [1]},
    "a status unknown": {**GOOD, "marks": [{**MARK, "status": "perfect"}]},
    "a status a list": {**GOOD, "marks": [{**MARK, "status": ["pass"]}]},
    "no title": {**GOOD, "marks": [{"id": "03.lookup", "kind": "exercise", "status": "pass"}]},
    "an id that is markup": {**GOOD, "marks": [{**MARK, "id": "<script>alert(1)</script>"}]},
    "a figure of megabytes": {**GOOD, "marks": [{**MARK, "figure": "x" * 100_000}]},
    "a part that is no part": {**GOOD, "marks": [{**MARK, "parts": [{"status": "perfect", "text": 1}]}]},
    "mode a dict": {**GOOD, "mode": {"quick": True}},
}


def test_a_class_folder_of_hostile_files_is_read_without_failing(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    formula = tmp_path / "formula.json"
    formula.write_text(json.dumps({**GOOD, "author": '=HYPERLINK("http://evil.example","click")'}))
    paths = [good, formula]
    for name, data in WRONG_SHAPES.items():
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
    bomb = tmp_path / "bomb.json"
    bomb.write_text("[" * 200_000 + "]" * 200_000)
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    paths += [bomb, fifo, "/dev/zero", tmp_path / "empty-dir"]
    (tmp_path / "empty-dir").mkdir()
    result = run_lab("class", *map(str, paths), "--out", str(tmp_path / "class"), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("; skipped\n") == len(WRONG_SHAPES) + 4, result.stderr
    assert "not a regular file" in result.stderr and "not a workbook hand-in" in result.stderr
    rows = list(csv.DictReader(open(tmp_path / "class" / "class.csv", encoding="utf-8")))
    assert [r["author"] for r in rows] == ["Ada", '\'=HYPERLINK("http://evil.example","click")']


def test_out_never_overwrites_a_folder_the_command_did_not_make(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    report = tmp_path / "report"
    report.mkdir()
    (report / ".workbook-report").write_text("a report")
    (report / "index.html").write_text("the student's report")
    for out in (str(report), ""):
        result = run_lab("class", str(good), "--out", out)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert (report / "index.html").read_text() == "the student's report"
    result = run_lab("class", str(good), "--out", str(tmp_path / "class"))
    again = run_lab("class", str(good), "--out", str(tmp_path / "class"))  # its own folder: rewritten
    assert result.returncode == again.returncode == 0
    empty = run_lab("report", "--out", "")
    assert empty.returncode == 1 and "--out is empty" in empty.stderr and "Traceback" not in empty.stderr


@pytest.mark.slow
def test_relative_paths_are_from_the_folder_the_command_was_typed_in(tmp_path):
    (tmp_path / "hand-ins").mkdir()
    (tmp_path / "hand-ins" / "ada.json").write_text(json.dumps(GOOD))
    done = subprocess.run([str(REPO / "workbook"), "class", "hand-ins/ada.json", "--out", "view"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "view" / "class.csv").exists() and not (REPO / "view").exists()


def test_links_planted_in_a_class_folder_are_replaced_never_followed(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({**GOOD, "author": "x\n* * * * * root touch /tmp/PWNED\n"}))
    victim = tmp_path / "victim"
    victim.write_text("the teacher's file")
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / ".workbook-class").write_text("x")
    (planted / "index.html").symlink_to(victim)
    (planted / "class.csv").symlink_to(tmp_path / "created-elsewhere")
    result = run_lab("class", str(good), "--out", str(planted))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "the teacher's file" and not (tmp_path / "created-elsewhere").exists()
    assert not (planted / "index.html").is_symlink() and "\n* * * * *" not in (planted / "class.csv").read_text()
    link = tmp_path / "link-to-folder"
    link.symlink_to(planted)
    assert "is a link" in run_lab("class", str(good), "--out", str(link)).stderr
