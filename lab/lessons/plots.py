"""Pure functions: a measurement's result (or its DataFrame) in, a matplotlib Figure out. Large fonts, titles,
units: readable on a projector. Every text in the current language (a title given is shown through `_()` too:
a default is marked `N_()`)."""

from __future__ import annotations

import numpy as np

from ..core.i18n import N_, _, thousands

COLOURS = ["#1a7f37", "#bc4c00", "#0969da", "#8250df", "#cf222e", "#9a6700"]
STYLE = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "legend.fontsize": 11}
ROLES = (N_("master"), N_("replica"))  # a frame's `server` names, for the catalogue: shown through _()


def _figure(width: float = 9, height: float = 4.8):
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    plt.close(fig)  # returned, not shown twice: the notebook displays the value of the cell
    return fig, ax


def _apply_style(ax) -> None:
    for item in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
        item.set_fontsize(STYLE["font.size"])
    ax.title.set_fontsize(STYLE["axes.titlesize"])
    ax.grid(True, which="major", alpha=0.3)


def _frame(data):
    """A result's frame (`lab.lessons.results.Measured`), or the DataFrame given."""
    return getattr(data, "frame", data)


def _variants(df, variants):
    return list(variants) if variants else list(dict.fromkeys(df["variant"]))


def latency_histogram(df, variants=None, title: str = N_("Latency: cache hit vs miss")):
    """Histograms of `latency_us` per variant on a log axis (hits and misses are 1000× apart)."""
    df = _frame(df)
    fig, ax = _figure()
    data = df[df.latency_us > 0]
    bins = np.logspace(np.log10(data.latency_us.min() * 0.9), np.log10(data.latency_us.max() * 1.1), 80)
    for colour, name in zip(COLOURS, _variants(df, variants)):
        values = data[data.variant == name].latency_us
        label = _("{variant} (p50 {latency})").format(variant=name, latency=_human(values.median()))
        ax.hist(values, bins=bins, alpha=0.7, color=colour, label=label)
    ax.set_xscale("log")
    ax.set(title=_(title), xlabel=_("latency (µs, log scale)"), ylabel=_("lookups"))
    ax.legend()
    _apply_style(ax)
    return fig


def latency_ecdf(df, variants=None, title: str = N_("Latency distribution (ECDF)")):
    """The empirical CDF per variant: read any percentile off the y axis."""
    df = _frame(df)
    fig, ax = _figure()
    for colour, name in zip(COLOURS, _variants(df, variants)):
        values = np.sort(df[df.variant == name].latency_us.to_numpy())
        ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", color=colour, label=name, lw=2)
    ax.set_xscale("log")
    for q, where in ((0.5, "bottom"), (0.99, "top")):  # p99's label under its line: inside the axes
        ax.axhline(q, color="#888", lw=0.8, ls="--")
        ax.text(0.01, q, f" p{int(q * 100)}", va=where, color="#555", transform=ax.get_yaxis_transform())
    ax.set(title=_(title), xlabel=_("latency (µs, log scale)"), ylabel=_("fraction of lookups ≤ x"), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    _apply_style(ax)
    return fig


def latency_boxes(df, variants=None, title: str = N_("Latency per variant")):
    """A box per variant (log axis), whiskers at p1/p99, outliers hidden."""
    df = _frame(df)
    fig, ax = _figure(9, 0.7 * max(3, len(_variants(df, variants))) + 1.5)
    names = _variants(df, variants)
    data = [df[df.variant == n].latency_us.to_numpy() for n in names]
    parts = ax.boxplot(
        data, orientation="horizontal", whis=(1, 99), showfliers=False, patch_artist=True, tick_labels=names
    )
    for patch, colour in zip(parts["boxes"], COLOURS * 3):
        patch.set_facecolor(colour)
        patch.set_alpha(0.6)
    ax.set_xscale("log")
    ax.set(title=_(title), xlabel=_("latency (µs, log scale; whiskers p1–p99)"))
    _apply_style(ax)
    return fig


def ttl_countdown(df, title: str = N_("One key: TTL vs PTTL vs ideal")):
    """Measured TTL (whole seconds: a staircase) and PTTL (smooth) against the ideal line, per server."""
    df = _frame(df)
    fig, ax = _figure()
    live = df[df.ttl_s >= 0]
    ax.plot(live.t, live.ideal_s, color="#888", lw=1.5, ls="--", label=_("ideal: ttl − t"))
    for colour, (server, part) in zip(COLOURS, live.groupby("server", sort=False)):
        role = _(server)  # the role ("master", "replica") in the current language
        ttl, pttl = _("TTL on the {server} (s)"), _("PTTL on the {server} (ms → s)")
        ax.step(part.t, part.ttl_s, where="post", color=colour, lw=2, label=ttl.format(server=role))
        ax.plot(part.t, part.pttl_s, color=colour, lw=1, marker=".", alpha=0.6, label=pttl.format(server=role))
    ax.set(title=_(title), xlabel=_("time since SET (s)"), ylabel=_("remaining time to live (s)"))
    ax.legend(ncol=2)
    _apply_style(ax)
    return fig


def population_decay(df, title: str = N_("A population of keys expiring")):
    """Live keys over time (measured vs ideal) and the server's expired_keys counter."""
    df = _frame(df)
    fig, ax = _figure()
    ax.plot(df.t, df.ideal_live, color="#888", ls="--", lw=1.5, label=_("ideal: keys whose TTL has not run out"))
    ax.plot(df.t, df.live_keys, color=COLOURS[0], lw=2.5, label=_("live keys (INFO keyspace)"))
    ax.plot(df.t, df.expired_keys, color=COLOURS[1], lw=2, label="expired_keys (INFO stats)")  # as Redis names it
    ax.set(title=_(title), xlabel=_("time since the keys were written (s)"), ylabel=_("keys"))
    ax.legend()
    _apply_style(ax)
    return fig


def lazy_vs_active(df, title: str = N_("Expired but never read: who removes them?")):
    """Keys still in memory after their TTL, with and without the active expire cycle."""
    df = _frame(df)
    fig, ax = _figure()
    for colour, (label, part) in zip(COLOURS, df[df.phase == "never read"].groupby("expiry", sort=False)):
        ax.plot(part.t, part.keys_in_memory, color=colour, lw=2.5, marker="o", label=label)
    ax.set(title=_(title), xlabel=_("time since the keys were written (s)"), ylabel=_("keys in memory"))
    ax.legend()
    _apply_style(ax)
    return fig


def _human(us: float) -> str:
    return f"{thousands(f'{us / 1000:.1f}')} ms" if us >= 1000 else f"{us:.0f} µs"


def partition(df, title: str = N_("The replica's link cut, then restored")):
    """Offsets of master and replica over time, and how many writes behind the replica reads."""
    df = _frame(df)
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, layout="constrained")
    plt.close(fig)
    cut = df[df["link_cut"]].t.max() if df["link_cut"].any() else None
    top.plot(df.t, df["master_offset"], color=COLOURS[0], lw=2.5, label="master_repl_offset")
    top.plot(df.t, df["replica_offset"], color=COLOURS[1], lw=2.5, label=_("replica's slave_repl_offset"))
    top.set(title=_(title), ylabel=_("replication offset (bytes)"))
    top.legend()
    bottom.plot(df.t, df["stale_by"], color=COLOURS[4], lw=2.5, drawstyle="steps-post")
    bottom.set(xlabel=_("time (s)"), ylabel=_("replica behind (writes)"))
    for ax in (top, bottom):
        if cut is not None:
            ax.axvspan(0, cut, color="#cf222e", alpha=0.08)
        _apply_style(ax)
    top.title.set_fontsize(STYLE["axes.titlesize"])
    return fig


SILENT_PARTITION = N_("A silent partition: the master frozen, the replica still says link up")


def silent_partition(df, freeze_s: float, repl_timeout: float, title: str = SILENT_PARTITION):
    """The replica's `master_link_status` (up / down) over time while the master is frozen (shaded), and the
    moment `repl-timeout` had passed (dashed)."""
    df = _frame(df)
    fig, ax = _figure(9, 3.8)
    frozen = freeze_s
    ax.axvspan(0, frozen, color="#cf222e", alpha=0.08, label=_("master frozen (SIGSTOP)"))
    ax.step(df.t, (df.link == "up").astype(int), where="post", color=COLOURS[0], lw=2.5,
            label=_("replica's master_link_status"))  # fmt: skip
    ax.axvline(repl_timeout, color=COLOURS[1], ls="--", lw=1.5, label="repl-timeout")
    ax.set_yticks([0, 1], ["down", "up"])
    ax.set_ylim(-0.2, 1.3)
    ax.set(title=_(title), xlabel=_("time since the master was frozen (s)"))
    ax.legend(loc="center right")
    _apply_style(ax)
    return fig


def stampede_reads(result, title: str | None = None):
    """Database reads per stampede protection: one bar each (chapter 03)."""
    df = _frame(result)
    fig, ax = _figure(8, 4)
    ax.bar(df.protection, df.database_reads, color=["#bc4c00", "#1a7f37", "#0969da"][: len(df)])
    if not title:
        title = _("{count} concurrent misses on one key").format(count=int(df.lookups.iloc[0]))
    ax.set(title=title, ylabel=_("database reads"))
    _apply_style(ax)
    return fig


def popularity(df, title: str = N_("How skewed the requests are")):
    """The share of requests that go to the most popular share of the keys (a frame of `share_of_keys`,
    `share_of_requests`, sorted by popularity): what a cache of that share of the keys could serve at most."""
    df = _frame(df)
    fig, ax = _figure(8, 4.6)
    ax.plot(df.share_of_keys * 100, df.share_of_requests * 100, color=COLOURS[2], lw=2.5)
    ax.plot([0, 100], [0, 100], color="#888", ls="--", lw=1, label=_("every key equally popular"))
    ax.set(title=_(title), xlabel=_("the most requested keys (% of the keys)"), ylabel=_("their requests (%)"))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right")
    _apply_style(ax)
    return fig


def hit_ratio_curves(df, title: str = N_("Hit ratio against the room in the cache")):
    """One line per eviction policy (hit ratio against size), beside the exact LRU (dashed) and Belady's
    optimum (black): no line may rise above the black one."""
    df = _frame(df)
    fig, ax = _figure(9.5, 5.4)
    for colour, (policy, part) in zip(COLOURS, df.groupby("policy", sort=False)):
        ax.plot(part.share_held * 100, part.hit_ratio, color=colour, lw=2, marker="o", label=policy)
    bound = df.drop_duplicates("held").sort_values("held")  # a function of the keys held: one curve
    ax.plot(bound.share_held * 100, bound.exact_lru, color="#444", ls="--", lw=2, label=_("exact LRU (computed)"))
    ax.plot(bound.share_held * 100, bound.optimum, color="black", lw=3, label=_("optimum, Belady (computed)"))
    ax.set(title=_(title), xlabel=_("keys held (% of the workload's keys)"), ylabel=_("hit ratio"))
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    _apply_style(ax)
    return fig


def sampling_bars(df, title: str = N_("Redis's LRU is sampled: maxmemory-samples")):
    """The hit ratio with each `maxmemory-samples`, beside the exact LRU on the same trace (a line)."""
    df = _frame(df)
    fig, ax = _figure(8, 4.4)
    ax.bar([str(n) for n in df.samples], df.hit_ratio, color=COLOURS[2], width=0.55, label="allkeys-lru")
    ax.axhline(df.exact_lru.max(), color="#444", ls="--", lw=2, label=_("exact LRU (computed)"))
    low = max(0.0, float(df.hit_ratio.min()) - 0.1)
    ax.set(title=_(title), xlabel="maxmemory-samples", ylabel=_("hit ratio"), ylim=(low, 1))
    ax.legend(loc="upper left")
    _apply_style(ax)
    return fig


def scan_timeline(df, scan_at: int, scan_length: int, title: str = N_("A scan in the middle of the workload")):
    """The hit ratio over a sliding window of requests, per policy, with the scan shaded."""
    df = _frame(df)
    fig, ax = _figure(9.5, 4.6)
    for colour, (policy, part) in zip(COLOURS, df.groupby("policy", sort=False)):
        ax.plot(part.request, part.hit_ratio, color=colour, lw=2, label=policy)
    ax.axvspan(scan_at, scan_at + scan_length, color="#cf222e", alpha=0.12, label=_("the scan (keys asked for once)"))
    ax.set(title=_(title), xlabel=_("request"), ylabel=_("hit ratio (sliding window)"), ylim=(0, 1))
    ax.legend(loc="lower right")
    _apply_style(ax)
    return fig


def filling(df, title: str = N_("A cache filling up: used_memory against maxmemory")):
    """used_memory and maxmemory as keys are written, and evicted_keys (right axis)."""
    df = _frame(df)
    fig, ax = _figure(9, 4.6)
    ax.plot(df.written, df.used_memory / 1024, color=COLOURS[0], lw=2.5, label="used_memory")
    ax.plot(df.written, df.maxmemory / 1024, color=COLOURS[4], ls="--", lw=2, label="maxmemory")
    right = ax.twinx()
    right.plot(df.written, df.evicted_keys, color=COLOURS[1], lw=2, label="evicted_keys")
    right.set_ylabel("evicted_keys")
    ax.set(title=_(title), xlabel=_("keys written"), ylabel=_("memory (KB)"))
    ax.legend(handles=ax.get_lines() + right.get_lines(), loc="upper left")
    _apply_style(ax)
    return fig
