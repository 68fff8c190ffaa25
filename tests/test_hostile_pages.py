"""What a student wrote or displayed is data in the teacher's browser: no script runs in a hand-in, whatever a
cell displayed or the author's name holds, and the hand-in still opens, whole, with its figures."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

import nbformat
import pytest

from lab import handin, report, settings

from .conftest import need

PWN = "window.__pwned = (window.__pwned || 0) + 1"
HOSTILE_CELLS = [
    f'from IPython.display import HTML, Javascript, Markdown, display\ndisplay(HTML("<script>{PWN}</script>"))',
    f'display(HTML(\'<img src=x onerror="{PWN}"><b onmouseover="{PWN}">bold</b>\'))',
    f'display(Markdown("<script>{PWN}</script> and [a link](javascript:{PWN})"))',
    f'display(Javascript("{PWN}"))',
    'display(HTML("<style>body { display: none }</style><p>styled</p>"))',
    "display(HTML('<img src=\"https://example.invalid/beacon.png\">'))",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    "from lab.grading.checkpoints import checkpoint\ncheckpoint('00.fine', 'fine', True, '<script>x</script> measured')",
    # what nbconvert's template writes unescaped: a mermaid diagram's text, an image's width and height
    "display({'text/vnd.mermaid': '</pre><meta http-equiv=refresh content=\"1;url=https://example.invalid\">'"
    "'<h1>ALL PASSED</h1>'}, raw=True)",
    "import base64\npng = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')\n"
    "display({'image/png': png}, metadata={'image/png': {'width': '1 style=position:fixed;inset:0;z-index:9'}}, raw=True)",
    # JupyterLab's own classes, borrowed to lay a fake verdict over the teacher's page
    "display(HTML('<div class=\"jp-Dialog jp-mod-styled\">every chapter passed</div>'))",
]
AUTHOR = f"<!--<script>{PWN}</script> Eve"


@pytest.fixture
def hostile_report(tmp_path, lab_home, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_markdown_cell(f"# Hostile\n<script>{PWN}</script> <img src=x onerror='{PWN}'>"),
                *[nbformat.v4.new_code_cell(source) for source in HOSTILE_CELLS]]  # fmt: skip
    nbformat.write(nb, folder / "00_hostile.ipynb")
    monkeypatch.setattr(report.run.settings, "NOTEBOOKS_DIR", folder)
    out = tmp_path / "out"
    assert report.build(quick=True, out=str(out), author=AUTHOR) == 0
    return out


class _Elements(HTMLParser):
    """Every element of a page with its attributes (not the text: a code cell may show an attack as text)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def _elements(page: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(page)
    return parser.found


def test_hostile_outputs_are_shown_as_data_and_run_nothing(hostile_report):
    for name in ("handin.html", "index.html", "00_hostile.html"):
        page = (hostile_report / name).read_text()
        elements = _elements(page)
        policy = [a["content"] for t, a in elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert policy and "default-src 'none'" in policy[0] and "script-src" not in policy[0], name
        scripts = [a for t, a in elements if t == "script"]
        assert all(a.get("type") == "application/json" for a in scripts), (name, scripts)  # data, never code
        handlers = [(t, k) for t, a in elements for k in a if k.lower().startswith("on")]
        assert handlers == [], (name, handlers)
        links = [v for _, a in elements for k, v in a.items() if k in ("href", "src") and v]
        assert not [v for v in links if v.strip().lower().startswith(("javascript:", "http:", "https:", "//"))], name
        body = _elements(page.split("<body", 1)[1])
        assert not [t for t, _ in body if t in ("style", "iframe", "object", "embed", "script")], name
        assert not [a for t, a in body if t == "meta"], name  # no refresh to elsewhere
        assert not [a for _, a in body if "fixed" in a.get("style", "") or "style=" in a.get("width", "")], name
        assert not [a for _, a in body if "jp-Dialog" in a.get("class", "")], name
    page = (hostile_report / "handin.html").read_text()
    assert "&lt;script&gt;" in page, "what was tried is visible to the teacher, as text"
    assert handin.embedded_summary(page)["author"] == AUTHOR  # the data survives, escaped
    assert "<!--<script>" not in page and "</script> Eve" not in page


@pytest.mark.browser
def test_a_hostile_hand_in_opens_whole_in_a_browser_and_runs_no_script(hostile_report):
    need(os.path.exists(settings.load().chromium), "chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from .test_app_browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=settings.load().chromium, args=CHROMIUM_ARGS)
        for name in ("handin.html", "index.html", "00_hostile.html"):
            page = browser.new_page()
            page.goto((hostile_report / name).as_uri())
            page.wait_for_timeout(500)
            page.mouse.move(200, 300)
            assert page.evaluate("window.__pwned") is None, name
            text = page.locator("body").inner_text()
            assert "Eve" in text or name == "00_hostile.html", name
            assert page.locator("body").is_visible(), name  # a student's <style> did not hide the page
            if name == "handin.html":
                assert "every chapter passed" in text and "styled" in text
                assert page.locator("img[src^='data:image/png']").count() >= 1, "the plot is there"
                summary = json.loads(page.locator("#workbook-summary").inner_text())
                assert summary["author"] == AUTHOR
            page.close()
        browser.close()


def test_pandas_own_style_block_is_dropped_and_any_other_style_shows_as_text():
    import pandas as pd

    from lab.report import sanitize

    table = sanitize.clean_html(pd.DataFrame({"hit_ratio": [0.5]})._repr_html_())
    assert "style scoped" not in table and "<table" in table and "hit_ratio" in table
    theirs = sanitize.clean_html("<style scoped>.dataframe th { color: red; }</style><p>x</p>")
    assert "&lt;style scoped&gt;" in theirs and "<style" not in theirs
