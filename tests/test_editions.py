"""The French edition: one source that cannot drift (every narrative cell in both languages, the same code, a
changed English cell caught), every message of lab/ translated with the same placeholders, the language chosen
as the README says, and the whole workbook run in French."""

from __future__ import annotations

import html
import json
import re
import shutil
import string

import nbformat
import pytest

from lab.cache import slowdb
from lab.core import i18n
from lab.report import chapters, editions

from .conftest import REPO, run_lab

CHAPTERS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOURCES = editions.sources()  # the chapters and the form app


@pytest.mark.parametrize("chapter", SOURCES, ids=lambda p: p.stem)
def test_every_cell_is_translated_and_the_french_code_is_the_same_program(chapter):
    assert editions.problems(chapter, "fr") == []


@pytest.mark.parametrize("chapter", SOURCES, ids=lambda p: p.stem)
def test_the_committed_french_chapter_is_the_one_the_sources_build(chapter):
    built = editions.rendered(editions.build_one(chapter, "fr"))
    committed = editions.edition_path(chapter, "fr")
    assert committed.exists(), f"{committed} is missing: `.venv/bin/python -m lab.report.editions build`"
    assert committed.read_text(encoding="utf-8") == built, "rebuild: `python -m lab.report.editions build`"


@pytest.mark.parametrize("chapter", SOURCES, ids=lambda p: p.stem)
def test_both_editions_have_the_same_cells_and_the_same_exercises(chapter):
    english = nbformat.read(chapter, as_version=4)
    french = nbformat.read(editions.edition_path(chapter, "fr"), as_version=4)
    assert [(c.id, c.cell_type) for c in english.cells] == [(c.id, c.cell_type) for c in french.cells]
    for en, fr in zip(english.cells, french.cells, strict=True):
        assert en.metadata == fr.metadata  # tags, exercise ids, quick values
        if en.cell_type == "code":
            assert editions.code_shape(en.source) == editions.code_shape(fr.source)
        elif "chapter-card" not in en.metadata.get("tags", []):
            assert fr.source != en.source or not re.search(r"[a-z]{4,} [a-z]{3,}", en.source), en.id


def test_every_comment_a_student_reads_in_conf_has_its_french():
    assert editions.conf_problems("fr") == []
    shown = i18n.translated_conf("master.conf", (REPO / "conf" / "master.conf").read_text(), "fr")
    directives = [line for line in shown.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    english = (REPO / "conf" / "master.conf").read_text().splitlines()
    assert directives == [line for line in english if line.strip() and not line.lstrip().startswith("#")]
    assert shown != (REPO / "conf" / "master.conf").read_text()


def test_a_changed_english_cell_is_caught_until_its_french_is_updated(tmp_path, monkeypatch):
    chapter = CHAPTERS[3]
    copy = tmp_path / chapter.name
    shutil.copy(chapter, copy)
    nb = nbformat.read(copy, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and "chapter-card" not in c.metadata.get("tags", []))
    cell.source += "\n\nA sentence added in English only."
    nbformat.write(nb, copy)
    found = editions.problems(copy, "fr")
    assert len(found) == 1 and cell.id in found[0] and "changed" in found[0], found
    with pytest.raises(editions.LabError, match="cannot be built"):
        editions.build_one(copy, "fr")


def test_a_translation_that_changes_the_code_is_refused():
    english = 'print(f"hit: {ms:.2f} ms")  # the cache answered\nlab.up()'
    assert editions.code_shape(english) == editions.code_shape(
        'print(f"hit : {ms:.2f} ms")  # le cache a répondu\nlab.up()'
    )
    assert editions.code_shape(english) != editions.code_shape('print(f"hit : {ms:.1f} ms")\nlab.up()')
    assert editions.code_shape(english) != editions.code_shape('print(f"hit : {ms:.2f} ms")\nlab.down()')
    assert editions.code_shape("%load solutions/03.lookup.py") != editions.code_shape("%load ../solutions/x.py")


def _placeholders(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_every_message_of_lab_is_translated_with_the_same_placeholders():
    from babel.messages.pofile import read_po

    with editions.lab_catalogue("fr").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing, bad = [], []
    for m in editions.extract_messages():
        if not m.id:  # (the catalogue's header)
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        entry = translated.get(key)
        strings = [] if entry is None else [entry.string] if isinstance(entry.string, str) else list(entry.string)
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(key)
            continue
        for english, french in zip(m.id if isinstance(m.id, tuple) else [m.id] * len(strings), strings, strict=False):
            if _placeholders(english) != _placeholders(french):
                bad.append((english, french))
    assert not missing, (
        f"{len(missing)} messages not translated (python -m lab.report.editions messages): {missing[:8]}"
    )
    assert not bad, bad[:5]


def test_the_language_follows_lab_lang_then_the_notebooks_folder_then_the_locale(monkeypatch, tmp_path):
    for variable in ("LAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    assert i18n.current() == "en"
    monkeypatch.setenv("LANG", "C.UTF-8")  # WSL's and the hubs' default: no preference said
    assert i18n.current() == "en"
    monkeypatch.setenv("LANG", "fr_CA.UTF-8")
    assert i18n.current() == "fr" and i18n.where_from() == "the locale"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")  # LC_ALL before LANG, as gettext reads them
    assert i18n.current() == "en"
    monkeypatch.chdir(REPO / "notebooks" / "fr")
    assert i18n.current() == "fr"  # a kernel of a French chapter
    monkeypatch.setenv("LAB_LANG", "en")
    assert i18n.current() == "en"
    with pytest.raises(ValueError, match="en, fr"):
        i18n.choose("de")


def test_french_numbers_and_the_status_line(monkeypatch):
    monkeypatch.setenv("LAB_LANG", "fr")
    assert i18n.thousands("1 000.5") == "1\u202f000,5"
    said = run_lab("status", "--lang", "fr", env={"LAB_LANG": ""})
    assert said.returncode == 0 and "français (fr" in said.stdout, said.stdout
    assert "English (en" in run_lab("status", env={"LAB_LANG": "en"}).stdout


def visible_text(page: str) -> str:
    """The words a reader sees outside code, outputs and tables of measured data (Redis' replies and logs, the
    database's records): code, preformatted outputs, styles and table bodies removed, then every tag."""
    for tag in ("style", "script", "pre", "code", "kbd", "samp", "tbody"):
        page = re.sub(rf"<{tag}\b.*?</{tag}>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "  ", page))


ENGLISH = re.compile(r"\b(the|and|with|which|should|does|would|every|from|there|this|that|when|your)\b")


@pytest.mark.slow
@pytest.mark.xdist_group(
    "quick_report"
)  # beside the English quick report it reads: one build of it, not one per worker
def test_the_whole_workbook_runs_in_french(tmp_path, lab_home, quick_report):
    out = tmp_path / "rapport"
    result = run_lab("report", "--quick", "--solutions", "--lang", "fr", "--out", str(out), "--author", "Élève",
                     timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert data["language"] == "fr" and all(m["status"] == "pass" for m in data["marks"]), data["marks"]
    handin = (out / "handin.html").read_text(encoding="utf-8")
    assert '<html lang="fr"' in handin and '<html lang="fr"' in (out / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"'[^'\n]*'", "", visible_text(handin))  # (a value quoted in a check: data)
    for record in slowdb.WORKSHOP_RECORDS.values():  # what the database holds is data, as Redis' replies are
        text = text.replace(record, "")
    sentences = [s.strip() for s in text.split("  ") if ENGLISH.search(s)]
    assert not sentences, sentences[:10]
    assert [p.stem for p in chapters.find_chapters(language="fr")] == [p.stem for p in CHAPTERS]

    # a class that handed in half in English, half in French: one table, keyed by ids, in the instructor's language
    _, english, _ = quick_report
    view = run_lab("class", str(english), str(out), "--out", str(tmp_path / "classe"), "--lang", "fr")
    assert view.returncode == 0, view.stdout + view.stderr
    rows = (tmp_path / "classe" / "class.csv").read_text(encoding="utf-8").splitlines()
    ids = {m["id"] for m in data["marks"]} | {
        m["id"] for m in json.loads((english / "summary.json").read_text())["marks"]
    }
    assert len(rows) == 3 and ids <= set(rows[0].split(",")), rows[0]
    page = (tmp_path / "classe" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr"' in page and "Taux de réussite par point de contrôle" in page
    french_title = next(m["title"] for m in data["marks"] if m["id"] == "04.hit_vs_get")
    assert html.escape(french_title) in page  # the French hand-in's words, for a French-speaking instructor
