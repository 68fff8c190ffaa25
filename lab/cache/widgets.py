"""The workshop's cache form as ipywidgets: a view over `lab.cache`, with no logic of its own.

form = CacheForm()   # a key box, Look up / Invalidate, a result card, the history and the hit ratio
form                 # (display it)
form.lookup("test-key")
form.snapshot()      # a static picture of its state, for the exported report
"""

from __future__ import annotations

import html
import threading
import time
import warnings
import weakref

import ipywidgets as w

from ..core.errors import LabError
from ..core.i18n import N_, _, ngettext, thousands
from .lookup import CacheAside, LookupResult

BADGE = {"cache": "#1a7f37", "slow_db": "#bc4c00"}
HISTORY_ROWS = 12
LOOK_UP, INVALIDATE = N_("Look up"), N_("Invalidate")  # the buttons, named again by an error
HISTORY_HEADERS = (N_("key"), N_("source"), "ms", N_("TTL s"), N_("cache"))  # the history table's columns


def card_html(result: LookupResult | None, error: str | None = None, now: float | None = None, expires_at=None) -> str:
    """The result card: key, value, a source badge, the TTL countdown, elapsed ms, cache state."""
    if error:
        return f'<div class="lab-card lab-error" style="color:#cf222e;padding:8px">❌ {html.escape(error)}</div>'
    if result is None:
        prompt = _("Type a key (try {key}) and press Enter.").format(key="<code>test-key</code>")
        return f'<div class="lab-card" style="color:#666;padding:8px">{prompt}</div>'
    if expires_at is not None:
        left = max(0.0, expires_at - (now or time.monotonic()))
        ttl = f"{left:.0f} s" if left > 0 else _("expired")
    else:
        ttl = _("not cached")
    value = html.escape(result.value) if result.found else f"<i>{_('not found in the database')}</i>"
    badge = (
        f'<span class="lab-source" style="background:{BADGE[result.source]};color:white;padding:2px 8px;'
        f'border-radius:10px">{result.source}</span>'
    )
    warning = f'<div style="color:#9a6700">⚠️ {html.escape(result.warning)}</div>' if result.warning else ""
    return (
        f'<div class="lab-card" style="border:1px solid #ddd;border-radius:6px;padding:8px;line-height:1.6">'
        f"<b>{html.escape(result.key)}</b> {badge}<br>{value}<br>"
        f'<small>TTL <span class="lab-ttl">{ttl}</span> · {thousands(f"{result.elapsed_ms:.1f}")} ms · '
        f"{_('cache {state}').format(state=html.escape(result.cache_state))}</small>{warning}</div>"
    )


def history_html(history: list[LookupResult]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(r.key)}</td><td>{r.source}</td><td>{thousands(f'{r.elapsed_ms:.1f}')}</td>"
        f"<td>{'' if r.ttl is None else f'{r.ttl:.0f}'}</td><td>{html.escape(r.cache_state)}</td></tr>"
        for r in reversed(history[-HISTORY_ROWS:])
    )
    head = "".join(f"<th>{html.escape(_(name))}</th>" for name in HISTORY_HEADERS)
    return f'<table class="lab-history" cellpadding="4" style="border-collapse:collapse"><tr>{head}</tr>{rows}</table>'


def ratio_html(cache: CacheAside) -> str:
    hits = ngettext("{count} hit", "{count} hits", cache.hits).format(count=cache.hits)
    misses = ngettext("{count} miss", "{count} misses", cache.misses).format(count=cache.misses)
    said = _("hit ratio {ratio} ({hits}, {misses})").format(ratio=f"<b>{cache.hit_ratio:.0%}</b>", hits=hits,
                                                             misses=misses)  # fmt: skip
    return f'<span class="lab-ratio">{said}</span>'


class CacheForm:
    """The form: Look up (or Enter) → the result card, Invalidate, history and hit ratio.

    The card always says what is true now: "looking up <key>…" for the whole of a lookup, an error (naming
    the button pressed) until the next action, a countdown that stops at expiry and when the form closes.
    """

    def __init__(self, cache: CacheAside | None = None):
        self.cache = cache or CacheAside()
        self.history: list[LookupResult] = []
        self.last: LookupResult | None = None
        self.error: str | None = None
        self.busy: str | None = None  # the key being looked up right now
        self._expires_at: float | None = None
        self.key = w.Text(placeholder=_("a key, e.g. test-key"), description=_("Key"), layout=w.Layout(width="22em"))
        self.lookup_button = w.Button(description=_(LOOK_UP), button_style="primary", icon="search")
        self.invalidate_button = w.Button(description=_(INVALIDATE), icon="trash")
        self.card = w.HTML(card_html(None))
        self.ratio = w.HTML(ratio_html(self.cache))
        self.table = w.HTML(history_html([]))
        self.lookup_button.on_click(lambda _event: self.lookup(self.key.value))
        self.invalidate_button.on_click(lambda _event: self.invalidate(self.key.value))
        with warnings.catch_warnings():  # Enter fires even when the key did not change; observe('value') would not
            warnings.simplefilter("ignore")
            self.key.on_submit(lambda _event: self.lookup(self.key.value))
        self.widget = w.VBox(
            [w.HBox([self.key, self.lookup_button, self.invalidate_button]), self.card, self.ratio, self.table]
        )
        self._guard = threading.Lock()  # the ticker thread and the actions never draw over each other
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- actions: each calls lab.cache and renders what it returned ---------------------------------

    def lookup(self, key: str) -> LookupResult | None:
        """Look a key up through the cache and show the result."""
        with self._guard:
            self.busy, self.error, self._expires_at = key, None, None
            busy = _("looking up {key}…").format(key=f"<b>{html.escape(str(key))}</b>")
            self.card.value = f'<div class="lab-card lab-busy" style="color:#666;padding:8px">⏳ {busy}</div>'
        try:
            result = self.cache.get(key)
        except LabError as exc:
            self._show_error(_(LOOK_UP), exc)
            return None
        finally:
            self.busy = None
        with self._guard:
            self.error, self.last = None, result
            self.history.append(result)
            self._expires_at = time.monotonic() + result.ttl if result.ttl else None
            self._render()
        self._start_ticker()
        return result

    def invalidate(self, key: str) -> None:
        """Remove a key's cached copy and say so."""
        try:
            removed = self.cache.invalidate(key)
        except LabError as exc:
            self._show_error(_(INVALIDATE), exc)
            return
        note = _("{key} removed from the cache.") if removed else _("{key} was not in the cache.")
        with self._guard:
            self.error, self.last, self._expires_at = None, None, None
            said = note.format(key=f"<b>{html.escape(key)}</b>")
            self.card.value = f'<div class="lab-card" style="padding:8px">🗑️ {said}</div>'

    def _show_error(self, button: str, exc: Exception) -> None:
        with self._guard:
            self.error, self.last, self._expires_at = f"{button}: {exc}", None, None
            self.card.value = card_html(None, self.error)

    def _render(self) -> None:
        self.card.value = card_html(self.last, self.error, expires_at=self._expires_at)
        self.ratio.value = ratio_html(self.cache)
        self.table.value = history_html(self.history)

    def _tick(self) -> bool:
        """Redraw the countdown once; False when there is nothing left to count (expired, or another card)."""
        with self._guard:
            if self.busy or self.error or self.last is None or self._expires_at is None:
                return False
            self.card.value = card_html(self.last, expires_at=self._expires_at)
            return time.monotonic() < self._expires_at

    def _start_ticker(self) -> None:
        """Refresh the TTL countdown twice a second while an entry is cached; the thread ends at expiry, when
        the card shows something else, and when the form is closed or garbage-collected."""
        if self._ticker and self._ticker.is_alive():
            return
        ref, stop = weakref.ref(self), self._stop

        def tick():
            while not stop.wait(0.5):
                form = ref()
                if form is None or form.card.comm is None or not form._tick():
                    return
                del form

        self._ticker = threading.Thread(target=tick, daemon=True, name="cache-form-ttl")
        self._ticker.start()

    def close(self) -> None:
        """Stop the countdown and close the widgets."""
        self._stop.set()
        self.widget.close()
        for part in (self.key, self.lookup_button, self.invalidate_button, self.card, self.ratio, self.table):
            part.close()

    def __del__(self) -> None:
        self._stop.set()

    def snapshot(self):
        """A static HTML picture of the form's state (the exported report cannot run widgets)."""
        from IPython.display import HTML

        return HTML(
            '<div style="border:1px solid #bbb;padding:8px;border-radius:6px;max-width:40em">'
            f"<div><b>{_('Cache form')}</b> — {_('key box:')} <code>{html.escape(self.key.value)}</code></div>"
            f"{card_html(self.last, self.error, expires_at=self._expires_at)}"
            f"<div>{ratio_html(self.cache)}</div>{history_html(self.history)}</div>"
        )
