"""The chapters in French, from one source that cannot drift: `notebooks/NN_*.ipynb` (English) holds every cell,
its code, parameters, exercises and checkpoints; `locale/fr/notebooks/NN_*.po` holds each cell's French, keyed
by the cell's id, its msgid the English it translates. `build()` writes `notebooks/fr/NN_*.ipynb`:

- every Markdown cell is the French one (the card is written from the chapter's translated metadata);
- a code cell with comments or sentences is the French one, which must be the same code — the same program
  once comments and strings are set aside (the f-strings' expressions included);
- any other code cell is copied as it is.

An English cell changed since it was translated no longer matches its msgid: `sync()` marks it fuzzy (the old
French kept as the starting point) and the build — and the suite — refuse it until a translator updates it.

    .venv/bin/python -m lab.report.editions sync     # the .po files follow the English chapters
    .venv/bin/python -m lab.report.editions build    # notebooks/fr/ from both (the suite checks it is current)
    .venv/bin/python -m lab.report.editions messages [fr.json]   # locale/fr/LC_MESSAGES/lab.po follows lab/
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import sys
import tokenize
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import LANGUAGES, comment_blocks, conf_catalogue
from ..state import settings
from .chapters import CARD_TAG, About

LOCALE_DIR = settings.REPO_ROOT / "locale"
META_FIELDS = ("goal", "needs")  # the chapter metadata a student reads (on its card and in the report)
_WORDS = re.compile(r"[A-Za-z]{2,}[^\n]*\s[A-Za-z]")  # two words: a sentence, not a key name like "test-key"


def catalogue_path(chapter: Path, language: str) -> Path:
    return LOCALE_DIR / language / "notebooks" / f"{chapter.stem}.po"


def edition_path(chapter: Path, language: str) -> Path:
    return settings.NOTEBOOKS_DIR / language / chapter.relative_to(settings.NOTEBOOKS_DIR)


def sources() -> list[Path]:
    """The notebooks that have an edition per language: the chapters, and the form app (`./workbook app`)."""
    return [*sorted(settings.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")), settings.APP_NOTEBOOK]


def _python(source: str) -> str:
    """A code cell as Python (IPython's `%magic` and `!shell` lines turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def has_words(cell) -> bool:
    """Whether a cell holds text a student reads: any Markdown; code with a comment or a sentence in a string."""
    if cell.cell_type == "markdown":
        return bool(cell.source.strip())
    if cell.cell_type != "code":
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(cell.source).readline))
    except (tokenize.TokenError, SyntaxError):
        return True
    kinds = {tokenize.COMMENT, tokenize.STRING, *([tokenize.FSTRING_MIDDLE] if hasattr(tokenize, "FSTRING_MIDDLE") else [])}  # fmt: skip
    return any(t.type in kinds and (t.type == tokenize.COMMENT or _WORDS.search(t.string)) for t in tokens)


class _Shape(ast.NodeTransformer):
    """A program with its words set aside: every string constant emptied, every f-string reduced to its
    expressions (in the order written)."""

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("run_line_magic", "run_cell_magic", "system"):
            return node  # a `%magic` or `!command` line: its words are code (a path, a command), kept as they are
        return self.generic_visit(node)

    def visit_Constant(self, node):
        return ast.Constant("") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node):
        values = [
            ast.Tuple([self.visit(v.value), ast.Constant(v.conversion),
                       ast.Constant(ast.unparse(v.format_spec) if v.format_spec else "")], ast.Load())
            for v in node.values
            if isinstance(v, ast.FormattedValue)
        ]  # fmt: skip
        return ast.Tuple(values, ast.Load())  # (each expression, its !r and its format spec: the same numbers)


def code_shape(source: str) -> str:
    """What must be equal between a code cell and its translation: the program, without comments and words."""
    tree = ast.parse(_python(source))
    return ast.dump(_Shape().visit(tree), annotate_fields=False)


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return read_po(f, locale=path.parent.parent.name)


def _write(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    write_po(out, catalog, width=0, omit_header=False, include_previous=True, sort_output=False)
    # no dates in the header: a catalogue changes only when a text does (no churn in git at every sync)
    text = re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*"\n', b"", out.getvalue())
    path.write_bytes(text)


def _texts(chapter: Path) -> list[tuple[str, str, str]]:
    """(context, English, kind) for everything of `chapter` that is translated: its metadata, then its cells."""
    import nbformat

    nb = nbformat.read(chapter, as_version=4)
    about = nb.metadata.get("workbook", {})
    found = [(f"workbook.{field}", str(about[field]), "metadata") for field in META_FIELDS if about.get(field)]
    if nb.metadata.get("title"):  # the page's title (the browser's tab, Voilà's)
        found.append(("metadata.title", str(nb.metadata["title"]), "metadata"))
    for cell in nb.cells:
        if CARD_TAG in cell.metadata.get("tags", []) or not has_words(cell):
            continue
        found.append((cell.id, cell.source, cell.cell_type))
    return found


def sync(chapter: Path, language: str = "fr") -> dict[str, int]:
    """Bring `chapter`'s catalogue up to its English: new texts added empty, changed ones marked fuzzy (their old
    French kept), gone ones removed. Counts per outcome."""
    from babel.messages.catalog import Catalog

    path = catalogue_path(chapter, language)
    old = _read(path) if path.exists() else None
    catalog = Catalog(locale=language, project="Redis Cache Workbook", domain=chapter.stem, fuzzy=False)
    counts = {"kept": 0, "new": 0, "changed": 0}
    previous = {m.context: m for m in old} if old is not None else {}
    for context, english, kind in _texts(chapter):
        was = previous.get(context)
        if was is not None and was.id == english:
            catalog.add(english, was.string, context=context, auto_comments=[kind], flags=was.flags)
            counts["kept"] += 1
        elif was is not None and was.string:
            catalog.add(english, was.string, context=context, auto_comments=[kind], flags={"fuzzy"},
                        previous_id=[was.id])  # fmt: skip
            counts["changed"] += 1
        else:
            catalog.add(english, "", context=context, auto_comments=[kind])
            counts["new"] += 1
    _write(catalog, path)
    return counts


def problems(chapter: Path, language: str = "fr") -> list[str]:
    """What keeps `chapter` from its edition in `language`: texts missing, fuzzy or changed since they were
    translated, and code translations that are not the same program. Empty when it can be built."""
    path = catalogue_path(chapter, language)
    if not path.exists():
        return [f"{path.relative_to(settings.REPO_ROOT)} is missing"]
    entries = {m.context: m for m in _read(path) if m.id}
    found = []
    for context, english, kind in _texts(chapter):
        m = entries.get(context)
        where = f"{chapter.stem} {context}"
        if m is None or not m.string:
            found.append(f"{where}: not translated")
        elif m.id != english:
            found.append(f"{where}: the English changed since it was translated (run `sync`)")
        elif m.fuzzy:
            found.append(f"{where}: fuzzy (the English changed; check the French, then remove the flag)")
        elif kind == "code" and code_shape(m.string) != code_shape(english):
            found.append(f"{where}: the French code is not the same program as the English")
    return found


def build_one(chapter: Path, language: str = "fr"):
    """`chapter`'s edition in `language`, as a notebook (not written)."""
    import nbformat

    bad = problems(chapter, language)
    if bad:
        raise LabError(f"The {language} edition of {chapter.stem} cannot be built: " + "; ".join(bad[:5]) + ".")
    nb = nbformat.read(chapter, as_version=4)
    french = {m.context: m.string for m in _read(catalogue_path(chapter, language)) if m.id}
    about = nb.metadata.get("workbook", {})
    for field in META_FIELDS:
        if about.get(field):
            about[field] = french[f"workbook.{field}"]
    if nb.metadata.get("title"):
        nb.metadata["title"] = french["metadata.title"]
    nb.metadata["language"] = language  # (what the language_info says is Python's)
    for cell in nb.cells:
        if CARD_TAG in cell.metadata.get("tags", []):
            cell.source = About(about["goal"], int(about["minutes"]), about["path"], about["needs"]).card(language)
        elif has_words(cell):
            cell.source = french[cell.id]
    return nb


def build(language: str = "fr", chapters: list[Path] | None = None) -> list[Path]:
    """Write `notebooks/<language>/` from the English chapters and their catalogues; the paths written (a
    file already equal is left untouched, so a student's open notebook is not rewritten for nothing)."""
    written = []
    for chapter in chapters or sources():
        text = rendered(build_one(chapter, language))
        target = edition_path(chapter, language)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def rendered(nb) -> str:
    import nbformat

    return nbformat.writes(copy.deepcopy(nb)) + "\n"


def sync_conf(language: str = "fr") -> dict[str, int]:
    """`locale/<language>/conf/<file>.po` brought up to each `conf/` file's comment blocks (msgid: the English
    block; a changed block keeps its old French, marked fuzzy)."""
    from babel.messages.catalog import Catalog

    counts = {"kept": 0, "new": 0, "changed": 0}
    for conf in sorted(settings.CONF_DIR.glob("*.conf")):
        path = conf_catalogue(conf.name, language)
        old = [m for m in _read(path) if m.id] if path.exists() else []
        catalog = Catalog(locale=language, project="Redis Cache Workbook", domain=conf.name, fuzzy=False)
        by_id = {m.id: m for m in old}
        for index, block in enumerate(comment_blocks(conf.read_text(encoding="utf-8"))):
            was = by_id.get(block) or (old[index] if index < len(old) and old[index].string else None)
            if was is not None and was.id == block:
                catalog.add(block, was.string, flags=was.flags)
                counts["kept"] += 1
            elif was is not None:
                catalog.add(block, was.string, flags={"fuzzy"}, previous_id=[was.id])
                counts["changed"] += 1
            else:
                catalog.add(block, "")
                counts["new"] += 1
        _write(catalog, path)
    return counts


def conf_problems(language: str = "fr") -> list[str]:
    """Comment blocks of `conf/` with no French (or fuzzy, or changed since they were translated)."""
    found = []
    for conf in sorted(settings.CONF_DIR.glob("*.conf")):
        path = conf_catalogue(conf.name, language)
        done = {m.id for m in _read(path) if m.id and m.string and not m.fuzzy} if path.exists() else set()
        for block in comment_blocks(conf.read_text(encoding="utf-8")):
            if block not in done:
                found.append(f"conf/{conf.name}: {block.splitlines()[0][:60]!r}… not translated")
    return found


def lab_catalogue(language: str = "fr") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "lab.po"


def extract_messages():
    """Every message of `lab/` marked for translation — `_("…")`, `N_("…")`, `ngettext("…", "…", n)`,
    `in_language(lang, "…")` — as a Babel catalogue. Read from the syntax tree, so that a call inside an
    f-string's braces counts too (Babel's own extractor does not see those before Python 3.12)."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(project="Redis Cache Workbook", domain="lab")
    positions = {"_": (0,), "N_": (0,), "ngettext": (0, 1), "in_language": (1,)}
    root = settings.REPO_ROOT / "lab"
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in positions):
                continue
            args = [node.args[i] if i < len(node.args) else None for i in positions[node.func.id]]
            if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value for a in args):
                continue
            ids = tuple(a.value for a in args)
            where = [(f"lab/{path.relative_to(root).as_posix()}", node.lineno)]
            catalog.add(ids[0] if len(ids) == 1 else ids, None, where)
    return catalog


def sync_messages(language: str = "fr", translations: dict[str, str] | None = None) -> dict[str, int]:
    """`locale/<language>/LC_MESSAGES/lab.po` brought up to `lab/`'s messages (new ones empty, gone ones
    dropped, translations kept), filled from `translations` ({English: French}) where it has no French yet."""
    from babel.messages.catalog import Catalog

    path = lab_catalogue(language)
    old = {m.id if isinstance(m.id, str) else m.id[0]: m for m in _read(path) if m.id} if path.exists() else {}
    catalog = Catalog(locale=language, project="Redis Cache Workbook", domain="lab", fuzzy=False)
    catalog._num_plurals, catalog._plural_expr = 2, "(n > 1)"  # gettext's French (CLDR's third form: no msgfmt)
    counts = {"translated": 0, "missing": 0}
    for m in extract_messages():
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        was = old.get(key)
        string = was.string if was is not None else None
        if not (string if isinstance(string, str) else string and all(string)) and translations:
            given = translations.get(key)
            if isinstance(m.id, str):
                string = given if isinstance(given, str) and given else string
            elif isinstance(given, dict) and all(given.get("msgstr", [])):  # {"msgid_plural", "msgstr": [1, n]}
                string = tuple(given["msgstr"])
            elif all(isinstance(translations.get(form), str) for form in m.id):  # each form given on its own
                string = tuple(translations[form] for form in m.id)
        if string is None:
            string = "" if isinstance(m.id, str) else ("", "")
        catalog.add(m.id, string, m.locations, auto_comments=m.auto_comments)
        counts["translated" if (string if isinstance(string, str) else all(string)) else "missing"] += 1
    _write(catalog, path)
    return counts


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "build"
    languages = [lang for lang in LANGUAGES if lang != "en"]
    chapters = sources()
    if action == "sync":
        for language in languages:
            for chapter in chapters:
                print(chapter.stem, language, json.dumps(sync(chapter, language)))
            print("conf", language, json.dumps(sync_conf(language)))
        return 0
    if action == "messages":  # messages [FILE.json ...]: lab.po follows lab/, filled from the files given
        merged: dict[str, str] = {}
        for name in argv[1:]:
            merged.update(json.loads(Path(name).read_text(encoding="utf-8")))
        for language in languages:
            print(language, json.dumps(sync_messages(language, merged)))
        return 0
    if action == "check":
        bad = [p for language in languages for chapter in chapters for p in problems(chapter, language)]
        bad += [p for language in languages for p in conf_problems(language)]
        print("\n".join(bad) or "every chapter can be built")
        return 1 if bad else 0
    for language in languages:
        for path in build(language, chapters):
            print(f"wrote {path.relative_to(settings.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
