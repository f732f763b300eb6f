"""The HTML form of a cost report: one self-contained file (tables, constants with their sources,
and matplotlib plots embedded as PNG data URIs), written atomically. The page helpers (`escape`,
`table`, `image`, `pyplot`, `png`) also build validate's report (snnc/driver/validate_html.py).

Plots: energy per layer (stacked by what it is spent on), the firing rate of every neuron layer
per time step, and the per-step synaptic operations and energy.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snnc.atomic import write_atomically
from snnc.cost.table import format_count as _num
from snnc.cost.table import layer_table
from snnc.diagnostics import input_error

if TYPE_CHECKING:
    from snnc.cost.report import CostReport

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
img { max-width: 100%; display: block; margin: 1em 0; }
.note { color: #555; font-size: 0.9em; }
"""


def write_html(report: CostReport, path: Path) -> Path:
    text = render(report)
    return write_atomically(path, text.encode("utf-8"), rule="COST-REPORT-WRITE")


def render(report: CostReport) -> str:
    d = report.to_dict()
    total, ann = d["total"], d["ann"]
    ratio = d["energy_ratio_ann_over_snn"]
    layers = layer_table(report)
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>snnc cost report: {escape(d['graph'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Cost report: {escape(d['graph'])}</h1>",
        f"<p>{d['samples']} samples × {d['steps']} steps. Model: <b>{escape(d['model']['title'])}</b>. "
        "Figures per sample (one inference over all steps); energy in pJ.</p>",
        "<h2>Totals</h2>",
        table(
            ["quantity", "value"],
            [
                ["energy (dynamic)", _num(total["energy_pj"]) + " pJ"],
                *(
                    [["energy range", " – ".join(_num(v) for v in total["energy_range_pj"]) + " pJ"]]
                    if total["energy_range_pj"]
                    else []
                ),
                ["static energy", "n/a (needs dt)" if total["static_pj"] is None else _num(total["static_pj"]) + " pJ"],
                ["SOPs (exact)", _num(total["sops"])],
                ["SOPs (fr·T·FLOPs)", _num(total["sops_paper"])],
                ["ACs / MACs charged", f"{_num(total['acs'])} / {_num(total['macs'])}"],
                ["ANN equivalent", f"{_num(ann['macs'])} MACs, {_num(ann['energy_pj'])} pJ ({escape(ann['basis'])})"],
                ["ANN / SNN energy", "n/a" if ratio is None else f"{ratio:.3g}×"],
                *[[f"NeuroBench {k}", _num(v)] for k, v in total["neurobench"].items()],
            ],
        ),
        "<h2>Per layer</h2>",
        table(layers[0], layers[1:]),
        image(_energy_plot(report), "energy per layer"),
        image(_rate_plot(report), "firing rate per time step"),
        image(_profile_plot(report), "operations and energy per time step"),
        "<h2>Not counted by this model</h2>",
        table(["operation", "per sample"], [[k.replace("_", " "), _num(v)] for k, v in total["not_counted"].items()]),
        "<h2>Constants</h2>",
        table(
            ["constant", "value", "unit", "status", "source"],
            [[c["name"], _constant_value(c), c["unit"], c["status"], c["source"]] for c in d["model"]["constants"]],
        ),
        "<h2>Rules</h2><ul>" + "".join(f"<li>{escape(r)}</li>" for r in d["model"]["rules"]) + "</ul>",
    ]
    if d["diagnostics"]:
        items = "".join(
            f"<li>{escape(x['severity'])} {escape(x['rule'])} [{escape(x['node'])}]: {escape(x['message'])}</li>"
            for x in d["diagnostics"]
        )
        parts.append(f"<h2>Diagnostics</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def escape(value: Any) -> str:
    """Text for HTML: every name a user chose (layers, models) goes through this."""
    return html.escape(str(value))


def _constant_value(c: dict[str, Any]) -> str:
    text = f"{c['value']:.4g}"
    return f"{text} ({c['low']:g}–{c['high']:g})" if "low" in c else text


def table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table, every cell escaped; cells after the first column are right-aligned numbers."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='n'>{escape(c)}</td>" if k else f"<td>{escape(c)}</td>" for k, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def image(data: bytes, alt: str) -> str:
    """A PNG embedded as a data URI: the page is one self-contained file."""
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}'>"


# --- plots ------------------------------------------------------------------------------------


def pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        # Node names come from the model file and may hold `$`, which matplotlib would parse as
        # mathtext (and fail on, or render as formulas): snnc's plots draw text as given.
        matplotlib.rcParams["text.parse_math"] = False
        import matplotlib.pyplot as plt
    except ImportError:
        raise input_error(
            "COST-MATPLOTLIB-MISSING",
            "the HTML report draws its plots with matplotlib, which is not installed",
            hint="pip install matplotlib (with -c requirements/constraints.txt), or use --format text|json",
        ) from None
    return plt


def _ticker() -> Any:
    pyplot()
    import matplotlib.ticker

    return matplotlib.ticker


def png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buffer.getvalue()


def _energy_plot(report: CostReport) -> bytes:
    plt, ticker = pyplot(), _ticker()
    layers = [x for x in report.layers if x.energy_pj > 0]
    skipped = [x.name for x in report.layers if x.energy_pj <= 0]
    components = sorted({k for x in layers for k, v in x.energy_breakdown.items() if v > 0})
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(layers) + 1.8))
    names = [f"{x.name} ({x.op})" for x in layers]
    left = [0.0] * len(layers)
    for component in components:
        values = [x.energy_breakdown.get(component, 0.0) * 1e-12 for x in layers]
        ax.barh(names, values, left=left, label=component)
        left = [a + b for a, b in zip(left, values)]
    for y, value in enumerate(left):
        ax.text(value, y, f" {ticker.EngFormatter(unit='J', places=1)(value)}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(ticker.EngFormatter(unit="J"))
    ax.set_xlabel("energy per sample")
    ax.set_title(f"Energy per layer ({report.model.name} model)")
    ax.margins(x=0.2)
    if components:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / (len(layers) + 2)), ncol=5)
    if skipped:
        ax.set_title(f"Energy per layer ({report.model.name} model; not charged: {', '.join(skipped)})", fontsize=10)
    return png(fig)


def _rate_plot(report: CostReport) -> bytes:
    plt, ticker = pyplot(), _ticker()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    steps = report.profile["step"]
    for name, rates in report.profile["firing_rate"].items():
        ax.plot(steps, rates, marker="o", markersize=3, label=name)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("time step")
    ax.set_ylabel("fraction of neurons firing")
    ax.set_title("Firing rate per neuron layer and time step")
    ax.set_ylim(bottom=0)
    if report.profile["firing_rate"]:
        ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return png(fig)


def _profile_plot(report: CostReport) -> bytes:
    plt, ticker = pyplot(), _ticker()
    p = report.profile
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(p["step"], [e * 1e-12 for e in p["energy_pj"]], color="#9ecae1", label="energy")
    ax.yaxis.set_major_formatter(ticker.EngFormatter(unit="J"))
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("time step")
    ax.set_ylabel("energy per sample")
    ops = ax.twinx()
    ops.plot(p["step"], p["sops"], color="#d62728", marker="o", markersize=3, label="SOPs (exact)")
    if any(p["macs"]):
        ops.plot(p["step"], p["macs"], color="#2ca02c", marker="s", markersize=3, label="MACs")
    ops.yaxis.set_major_formatter(ticker.EngFormatter())
    ops.set_ylabel("operations per sample")
    ops.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + ops.get_legend_handles_labels()[0]
    ax.legend(
        handles, [h.get_label() for h in handles], fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3
    )
    ax.set_title("Operations and energy per time step")
    return png(fig)
