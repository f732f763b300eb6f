"""A cost report as rows of text, shared by the terminal and HTML renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snnc.cost.report import CostReport


def format_count(value: float) -> str:
    """A count or energy for people: thousands separated, or 3 significant digits below 100."""
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"


def format_rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


LAYER_COLUMNS = ["layer", "op", "input", "as", "events in", "SOPs", "fr·T·FLOPs", "ACs", "MACs", "in rate", "fire rate"]


def layer_table(report: CostReport) -> list[list[str]]:
    """The per-layer table every renderer shows: a header, one row per layer, then the totals."""
    rows = [[*LAYER_COLUMNS, "energy pJ"]]
    for x in report.layers:
        counts = [x.events_in, x.sops, x.sops_paper, x.acs, x.macs]
        rates = [format_rate(x.rate_in), format_rate(x.rate_out)]
        kind = [x.input_kind or "", x.counted_as or ""]
        rows.append([x.name, x.op, *kind, *map(format_count, counts), *rates, format_count(x.energy_pj)])
    t = report.total
    totals = [format_count(t[k]) for k in ("sops", "sops_paper", "acs", "macs")]
    rows.append(["total", "", "", "", "", *totals, "", "", format_count(t["energy_pj"])])
    return rows
