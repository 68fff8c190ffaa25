"""What a student wrote or displayed is data in the pages a teacher opens: their HTML outputs and Markdown are
cleaned (no script, no event handler, no remote load), every page carries a Content-Security-Policy that runs
no script at all, and data embedded in a page escapes every `<`. The pages still open offline with every figure
(images are data URIs; styles are inline)."""

from __future__ import annotations

import base64
import json
import re

from ..core.i18n import _

# No script of any kind (inline or remote), nothing fetched: images and fonts only from the page itself.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; "
    "form-action 'none'; frame-src 'none'; object-src 'none'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

TAGS = [
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "details",
    "summary",
    "caption",
    "colgroup",
    "col",
    "dl",
    "dt",
    "dd",
    "kbd",
    "samp",
    "var",
    "del",
    "ins",
    "mark",
    "q",
    "s",
    "figure",
    "figcaption",
]  # fmt: skip  (no <style>: a student's stylesheet could hide or cover the teacher's page)
CLASSES = re.compile(r"^(lab-[\w-]+|dataframe|index_name|blank|level\d+|row_heading|col_heading|data|row\d+|col\d+)$")


def _global_attribute(tag: str, name: str, value: str) -> bool:
    """Any element's allowed attributes; a class only if it is the workbook's or pandas' own (a student's
    `class="jp-Dialog"` would borrow JupyterLab's styles to cover the teacher's page)."""
    if name == "class":
        return all(CLASSES.match(word) for word in value.split())
    return name in ("id", "style", "title", "lang", "dir")


ATTRIBUTES = {
    "*": _global_attribute,
    "a": ["href", "title", "name"],
    "img": lambda tag, name, value: (
        name in ("alt", "width", "height") or (name == "src" and value.startswith("data:image/"))
    ),  # an image from the page itself: a remote one would tell its owner who opened the page
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align", "scope"],
    "col": ["span"],
    "ol": ["start"],
}
CSS_PROPERTIES = [
    "color", "background", "background-color", "border", "border-top", "border-bottom", "border-left",
    "border-right", "border-collapse", "border-radius", "border-color", "border-style", "border-width", "padding",
    "padding-top", "padding-bottom", "padding-left", "padding-right", "margin", "margin-top", "margin-bottom",
    "margin-left", "margin-right", "font-size", "font-weight", "font-style", "font-family", "white-space",
    "text-align", "vertical-align", "line-height", "width", "max-width", "min-width", "height", "list-style",
    "display", "text-decoration", "opacity",
]  # fmt: skip


# pandas' own block before each table (it aligns headers): dropped, where any other <style> shows as text
PANDAS_STYLE = re.compile(
    r"<style scoped>\s*(?:\.dataframe [\w :.-]*\{\s*(?:vertical-align|text-align): ?\w+;\s*\}\s*)+</style>"
)


def clean_html(element: object) -> str:
    """nbconvert's `clean_html` filter, for the lab's pages: the tags and inline styles a result needs (the
    workbook's own badges and tables), nothing that runs or loads; an SVG becomes an image (it cannot run
    there)."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    text = PANDAS_STYLE.sub("", element.decode() if isinstance(element, bytes) else str(element))
    stripped = text.lstrip()
    if stripped.startswith(("<svg", "<?xml")) and "<svg" in stripped[:400]:
        encoded = base64.b64encode(text.encode()).decode()
        return f'<img src="data:image/svg+xml;base64,{encoded}" alt="figure">'
    return bleach.clean(
        text,
        tags=TAGS,
        attributes=ATTRIBUTES,
        protocols=["http", "https", "mailto", "data"],
        css_sanitizer=CSSSanitizer(allowed_css_properties=CSS_PROPERTIES),
        strip=False,  # a tag that is not allowed shows as text: the teacher sees what was tried
        strip_comments=True,
    )


RENDERED_RAW = ("text/vnd.mermaid", "application/javascript")  # mime types nbconvert's template puts in unescaped
IMAGE_SIZES = ("width", "height")


def outputs(nb) -> None:
    """Clean what the template does not: mime types it renders raw (a mermaid diagram's text, a script) become
    plain text, and an image's metadata keeps only a sensible width and height (nbconvert writes them into the
    tag unquoted: `width="1 style=…"` would style the page) — never a file name to load instead."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in RENDERED_RAW:
                if mime in data:
                    text = data.pop(mime)
                    data.setdefault("text/plain", text if isinstance(text, str) else "")
            metadata = output.get("metadata", {})
            metadata.pop("filenames", None)
            for mime, values in list(metadata.items()):
                if isinstance(values, dict):
                    for size in IMAGE_SIZES:
                        value = values.get(size)
                        if value is not None and not (isinstance(value, int | float) and 0 < value <= 10_000):
                            values.pop(size)
                elif mime in IMAGE_SIZES and not (isinstance(values, int | float) and 0 < values <= 10_000):
                    metadata.pop(mime)


def json_for_html(data: object) -> str:
    """JSON to embed in a <script type="application/json"> block: every `<`, `>` and `&` escaped, so that no
    text in it (`</script>`, `<!--`) can end the block or start anything."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def with_csp(page: str) -> str:
    """`page` with the policy first in its <head> (a page that already has it keeps one copy)."""
    if CSP_META in page:
        return page
    return re.sub(r"<head(\s[^>]*)?>", lambda m: m.group(0) + "\n" + CSP_META, page, count=1)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_widgets(nb) -> None:
    """Widgets cannot run in a static page: replace each widget view with a note (snapshots follow it)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                data["text/html"] = (
                    '<div style="border:1px dashed #999;padding:6px;color:#555">'
                    + _(
                        "interactive widget: live in JupyterLab or <code>./workbook app</code>; its state is shown in "
                        "the snapshots of this chapter"
                    )
                    + "</div>"
                )
                data.pop("text/plain", None)
