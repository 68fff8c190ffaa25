"""The hand-in: the whole report in one self-contained file (`handin.html`: summary, checkpoint and exercise
table, every chapter with its outputs and plots; offline, secret-free, the author in its title and header,
the summary embedded as JSON for the class view) and, on demand, `handin.pdf` printed by the system's
chromium (nbconvert's webpdf would download a browser of its own, which does not work offline)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _
from ..state import settings
from .report_page import HEADER_CSS
from .sanitize import json_for_html, with_csp

SUMMARY_ID = "workbook-summary"
PRINT_CSS = (
    "<style>"
    + HEADER_CSS
    + """.workbook-header { max-width: 60rem; margin: 1rem auto 2rem; }
/* the hand-in on screen and on A4 paper: long lines wrap between words, wide tables shrink to the page and
   wrap their cells (never clipped), a plot or a table row is never cut across two pages */
@page { size: A4; margin: 12mm 10mm; }
pre, code { white-space: pre-wrap !important; overflow-wrap: break-word; word-break: normal !important; }
img, tr, .jp-OutputArea-output { break-inside: avoid; page-break-inside: avoid; }
img { max-width: 100% !important; height: auto; }
.workbook-chapter { break-before: page; page-break-before: always; }
@media print {
  .jp-InputPrompt, .jp-OutputPrompt { display: none; }
  .jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedHTML, .jp-Cell, .jp-InputArea, .jp-CodeMirrorEditor,
  .jp-InputArea-editor, .highlight, pre { overflow: visible !important; max-width: 100% !important; }
  .jp-RenderedHTMLCommon table, .workbook-header table { font-size: var(--print-size, 7.5pt); width: auto;
    max-width: 100%; table-layout: auto; }
  .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { overflow-wrap: break-word; white-space: normal !important;
    padding: 1px 3px; }
  pre, pre code, .highlight pre { font-size: 7pt; }  /* 120 characters of code fit on the width of A4 */
}
pre, pre code, .highlight pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
</style>"""
)


def _unique_anchors(name: str, inner: str) -> str:
    """Every id of one chapter's page made its own (`03_cache_aside--Checkpoints`): the eight chapters share
    their headings ("Checkpoints", "Exercises"), and a link must land in its own chapter."""
    inner = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}--{m.group(1)}"', inner)
    inner = re.sub(r'((?:xlink:)?href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{name}--{m.group(2)}"', inner)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}--{m.group(1)})", inner)


PRINT_WIDTH_PT = 520  # A4's width within its margins
CHAR_WIDTH = 0.58  # a character's width in a table, as a share of the font size


def _fit_tables(page: str) -> str:
    """Each wide table gets a print font size that fits A4 (`--print-size`), from its widest cell per column,
    so that no cell is ever cut; a header's underscores become places where it may wrap."""

    def fit(match: re.Match) -> str:
        table = match.group(0)
        widths: dict[int, int] = {}
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
            for column, cell in enumerate(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)):
                words = re.sub(r"<[^>]+>", "", cell).replace("_", " ").split() or [""]
                widths[column] = max(widths.get(column, 0), max(len(w) for w in words) + 2)
        size = max(4.5, min(7.5, PRINT_WIDTH_PT / (max(1, sum(widths.values())) * CHAR_WIDTH)))
        table = re.sub(r"(<th[^>]*>)([^<]*)", lambda m: m.group(1) + m.group(2).replace("_", "_<wbr>"), table)
        return table.replace("<table", f'<table style="--print-size:{size:.1f}pt"', 1)

    return re.sub(r"<table\b.*?</table>", fit, page, flags=re.S)


def handin_html(chapters: list[tuple[str, str]], header_body: str, summary: dict, author: str) -> str:
    """One page from the chapters' exported pages (they share one stylesheet: the first page's head is kept),
    each chapter opened by an anchor the header links to, the report's header first, the summary embedded."""
    if not chapters:
        raise LabError("No chapter was run, so there is nothing to hand in; run the report without --chapter.")
    first = chapters[0][1]
    opening = re.search(r"<body[^>]*>\s*<main>", first)
    if opening is None:
        raise LabError("The exported chapters have no <body><main>; nbconvert's output changed — please report this.")
    parts = []
    for name, page in chapters:
        inner = re.search(r"<main>(.*)</main>", page, flags=re.S)
        body = _fit_tables(_unique_anchors(html.escape(name), inner.group(1))) if inner else ""
        parts.append(f'<div class="workbook-chapter" id="{html.escape(name)}"></div>\n{body}')
    script = f'<script type="application/json" id="{SUMMARY_ID}">{json_for_html(summary)}</script>'
    head = first[: opening.start()]
    title = _("Redis Cache Workbook — hand-in of {author}").format(author=html.escape(author))
    head = re.sub(r"<title>.*?</title>", lambda _match: f"<title>{title}</title>", head, count=1, flags=re.S)
    head = with_csp(head).replace("</head>", f"{PRINT_CSS}\n{script}\n</head>", 1)
    body = first[opening.start() : opening.end()]
    return (f"{head}{body.replace('<main>', '')}\n<div class=\"workbook-header\">{header_body}</div>\n<main>\n"
            + "\n".join(parts) + "\n</main>\n</body>\n</html>\n")  # fmt: skip


def embedded_summary(text: str) -> dict | None:
    """The summary a hand-in carries, or None."""
    found = re.search(rf'<script type="application/json" id="{SUMMARY_ID}">(.*?)</script>', text, flags=re.S)
    return json.loads(found.group(1)) if found else None  # (\u003c, and an older hand-in's <\/, both decode)


def print_pdf(page: Path, pdf: Path, timeout: float = 180) -> tuple[int, float]:
    """Print `page` to `pdf` with headless chromium; (pages, seconds). One sentence if there is no chromium."""
    browser = settings.load().chromium
    if not Path(browser).exists():
        raise LabError(
            f"No chromium at {browser} to print the PDF (the HTML hand-in is written); install it with "
            "`sudo apt install chromium` (or set LAB_CHROMIUM), then run the report with --pdf again."
        )
    start = time.perf_counter()
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", page.as_uri()]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"chromium could not print the PDF ({exc}); the HTML hand-in is written.") from None
    if done.returncode != 0 or not pdf.exists():
        said = " ".join(done.stderr.split())[-200:]
        raise LabError(f"chromium could not print the PDF ({said}); the HTML hand-in is written.")
    return pdf_pages(pdf), time.perf_counter() - start


def pdf_pages(pdf: Path) -> int:
    """How many pages a PDF has (its page objects, counted)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
