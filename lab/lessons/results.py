"""What a measurement returns: a small typed result that owns its checks (`checks()` → marks), shows itself as a
table (`frame`, with headers for people: presentation only — a check never looks one up), and says what it
measured in its fields. A chapter's checkpoint cell is `checkpoints.show(a, b, c)`."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.i18n import _
from ..core.marks import Mark


class Measured:
    """The base of every result: `frame` (a DataFrame with code names for its columns), `HEADERS` (those names as a
    table shows them), `checks()`; `marks()` is `checks()` or, when the measurement above is incomplete (a server
    went away mid-chapter), one failed mark that says so — never a traceback."""

    chapter = "00"
    HEADERS: dict[str, str] = {}

    @property
    def frame(self):
        raise NotImplementedError

    def checks(self) -> list[Mark]:
        return []

    def marks(self) -> list[Mark]:
        try:
            return list(self.checks())
        except Exception as exc:  # noqa: BLE001 - whatever an incomplete measurement looks like
            name = type(self).__name__.lower()
            return [Mark(f"{self.chapter}.{name}", "checkpoint", "fail",
                         _("{result} was measured whole").format(result=type(self).__name__),
                         _("it could not be checked ({error})").format(error=f"{type(exc).__name__}: {str(exc)[:120]}"),
                         _("lab.up(), then run the chapter again from the top"))]  # fmt: skip

    def table(self, *columns: str):
        """The frame as people read it (the headers of `HEADERS`, marked `N_()` where defined, translated here);
        `columns`, by their code names, to show only those (`table("wait", "lag_s")`: the same in every language)."""
        frame = self.frame[list(columns)] if columns else self.frame
        return frame.rename(columns={name: _(header) for name, header in self.HEADERS.items()})

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table())


@dataclass(frozen=True)
class Rows(Measured):
    """A result that is a list of rows (dicts with code names for keys): its frame, and one column as a list."""

    rows: tuple[dict, ...]

    @property
    def frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def column(self, name: str) -> list:
        return [r[name] for r in self.rows]


def percentiles(df, unit: str = "us"):
    """p50/p90/p99/max per variant (a table for the chapter and the JSON)."""
    df = getattr(df, "frame", df)
    scale = 1000 if unit == "ms" else 1
    table = df.groupby("variant", sort=False)["latency_us"].describe(percentiles=[0.5, 0.9, 0.99])
    table = table[["count", "50%", "90%", "99%", "max"]].rename(columns={"50%": "p50", "90%": "p90", "99%": "p99"})
    table[["p50", "p90", "p99", "max"]] = table[["p50", "p90", "p99", "max"]] / scale
    table["count"] = table["count"].astype(int)
    return table.rename(columns={c: f"{c}_{unit}" for c in ("p50", "p90", "p99", "max")})


def percentile_table(df):
    """p50/p90/p99/max per variant, in µs, rounded for reading (counts as whole numbers)."""
    return percentiles(df).round(1)
