"""The workbook's two languages: which one a command or a kernel speaks, and its sentences through gettext.

The language is, in order: `LAB_LANG` (`./workbook --lang fr` sets it for everything it starts); for a kernel,
the folder of the notebook it runs (`notebooks/fr/` is French, `notebooks/` English); the locale (`LANGUAGE`,
`LC_ALL`, `LC_MESSAGES`, `LANG`: `fr_*` is French); English otherwise. The French sentences are in
`locale/fr/LC_MESSAGES/lab.po`, compiled to `lab.mo` beside it on first use (by Babel) whenever the `.po` is newer.

    from ..core.i18n import _, N_
    _("The cache answered")          # translated now, in the current language
    TITLES = {"hit": N_("a hit")}    # marked for the catalogue, translated where it is shown: _(TITLES["hit"])
"""

from __future__ import annotations

import gettext
import io
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = REPO_ROOT / "locale"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
LANGUAGES = ("en", "fr")
DOMAIN = "lab"
NAMES = {"en": "English", "fr": "français"}

_cache: dict[str, gettext.NullTranslations] = {}


def _from_locale() -> str | None:
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            first = value.split(":")[0].lower()
            if first in ("c", "posix") or first.startswith(("c.", "posix.")):
                return None  # `C.UTF-8` (WSL, hubs): no preference said
            return "fr" if first.startswith("fr") else "en"
    return None


def _from_folder() -> str | None:
    try:
        here = Path.cwd().resolve()
    except OSError:
        return None
    for language in LANGUAGES[1:]:
        if here == NOTEBOOKS_DIR / language or (NOTEBOOKS_DIR / language) in here.parents:
            return language
    return "en" if here == NOTEBOOKS_DIR else None


def choose(value: str | None = None) -> str:
    """The language for `value` (`--lang`), else as the module docstring says: "en" or "fr"."""
    for said in (value, os.environ.get("LAB_LANG")):
        if said:
            said = said.strip().lower()
            if said[:2] in LANGUAGES:
                return said[:2]
            raise ValueError(f"--lang / LAB_LANG is {said!r}: choose one of {', '.join(LANGUAGES)}.")
    return _from_folder() or _from_locale() or "en"


def current() -> str:
    """The language this process speaks now (`LAB_LANG`, the notebook's folder, the locale; else English)."""
    try:
        return choose()
    except ValueError:
        return "en"


def where_from() -> str:
    """Why the language is what it is, for `./workbook status`."""
    if os.environ.get("LAB_LANG"):
        return N_("LAB_LANG / --lang")
    if _from_folder():
        return N_("the notebook's folder")
    if _from_locale():
        return N_("the locale")
    return N_("the default")


def _compiled(language: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return gettext.NullTranslations()
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        try:
            data = compile_po(po)
        except ImportError:  # a Python without Babel (the system's, not the workbook's): the last compiled, or English
            data = None
        if data is None and not mo.exists():
            return gettext.NullTranslations()
        if data is not None:
            try:
                partial = mo.with_name(f".{mo.name}.{os.getpid()}")
                partial.write_bytes(data)
                partial.replace(mo)
            except OSError:  # a clone this user cannot write: the catalogue compiled in memory serves as well
                return gettext.GNUTranslations(io.BytesIO(data))
    with mo.open("rb") as f:
        return gettext.GNUTranslations(f)


def compile_po(po: Path) -> bytes:
    """A `.po` catalogue compiled to `.mo` bytes (fuzzy entries left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def translations(language: str | None = None) -> gettext.NullTranslations:
    language = language or current()
    if language not in _cache:
        _cache[language] = gettext.NullTranslations() if language == "en" else _compiled(language)
    return _cache[language]


def in_language(language: str, message: str) -> str:
    """`message` in `language`, whatever the current one is (a page written for a reader of that language)."""
    return translations(language).gettext(message) if message else message


def _(message: str) -> str:
    """`message` in the current language (itself in English, or when the catalogue lacks it)."""
    return translations().gettext(message) if message else message


def ngettext(singular: str, many: str, count: int) -> str:
    return translations().ngettext(singular, many, count)


def N_(message: str) -> str:
    """Marks `message` for the catalogue without translating it (a constant translated where it is shown)."""
    return message


def comment_blocks(text: str) -> list[str]:
    """A configuration file's comment blocks (runs of `#` lines), in order: what a student reads in it."""
    blocks, current_block = [], []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            current_block.append(line)
        elif current_block:
            blocks.append("\n".join(current_block))
            current_block = []
    if current_block:
        blocks.append("\n".join(current_block))
    return blocks


def conf_catalogue(name: str, language: str) -> Path:
    return LOCALE_DIR / language / "conf" / f"{name}.po"


def translated_conf(name: str, text: str, language: str | None = None) -> str:
    """`conf/<name>`'s text with its comments in `language` (its directives as they are: the server reads the
    English file, the student the same file explained in French). A block not translated stays as it is."""
    language = language or current()
    path = conf_catalogue(name, language)
    if language == "en" or not path.exists():
        return text
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        french = {m.id: m.string for m in read_po(f) if m.id and m.string and not m.fuzzy}
    for block in comment_blocks(text):
        if block in french:
            text = text.replace(block, french[block], 1)
    return text


def thousands(text: str) -> str:
    """A number's text with the current language's separators: "1 000.5" → "1 000,5" in French (a narrow
    no-break space between thousands, as French typography writes them)."""
    if current() != "fr":
        return text
    return text.replace(".", ",").replace(" ", "\u202f")
