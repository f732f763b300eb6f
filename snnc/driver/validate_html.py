"""The HTML form of a validation report: one self-contained page (the stages and their accuracy,
the first divergence and its cause, per-layer agreement tables, and matplotlib plots embedded as
PNG data URIs), built with the cost report's page helpers. Every name the user chose (model,
layers) is escaped.

Plots: the spike mismatch of every layer between each pair of stages; for each pair, the
mismatch per time step of every layer (where the stages start to part); the firing rate of every
layer in every stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snnc.cost.html import STYLE, escape, image, png, pyplot, table

if TYPE_CHECKING:
    from snnc.driver.validate import ValidationReport


LAYER_COLUMNS = [
    "layer", "stages", "compared", "spike mismatch", "same values", "rates", "rate error", "membrane error",
    "membrane / θ", "exceeded",
]  # fmt: skip


def render(report: ValidationReport) -> str:
    d = report.to_dict()
    verdict = "within the tolerances" if report.ok else f"{len(report.failures)} tolerance(s) exceeded"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>snnc validate: {escape(d['model'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Validation: {escape(d['model'])} for {escape(d['target'])}</h1>",
        f"<p>{d['samples']} samples × {d['steps']} steps, the same input through every stage. "
        f"<b>{escape(verdict)}</b>.</p>",
        "<h2>Stages</h2>",
        table(
            ["stage", "what it is", "accuracy", "decisions as the stage before"],
            [[s["name"], s["title"], _percent(s["accuracy"]), _percent(s["agreement"])] for s in d["stages"]],
        ),
        "<h2>First divergence</h2>",
        _divergences(report),
        "<h2>Agreement per layer</h2>",
        "<p class='note'>spike mismatch: the share of spikes the two stages do not have in common (0: the same "
        "spikes); rates in spikes per neuron and step; membrane error in the float model's units and relative "
        "to the threshold.</p>",
        table(LAYER_COLUMNS, [_layer_row(a) for a in d["layers"]]),
    ]
    if report.layers:
        parts += [
            image(_mismatch_plot(report), "spike mismatch per layer"),
            *(image(_step_plot(report, pair), f"mismatch per step, {' to '.join(pair)}") for pair in _pairs(report)),
            image(_rate_plot(report), "firing rate per layer and stage"),
        ]
    limits = [[k, "not checked" if v is None else f"{v:g}"] for k, v in d["tolerance"].items()]
    parts.append("<h2>Tolerances</h2>" + table(["tolerance", "limit"], limits))
    if d["diagnostics"]:
        items = "".join(
            f"<li>{escape(x['severity'])} {escape(x['rule'])}{_where(x)}: {escape(x['message'])}</li>"
            for x in d["diagnostics"]
        )
        parts.append(f"<h2>Diagnostics</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _divergences(report: ValidationReport) -> str:
    if not report.divergences:
        return "<p>None: every compared layer has the same spikes in every stage.</p>"
    rows = [
        [
            " → ".join(x.pair),
            x.layer,
            str(x.step),
            str(x.sample),
            "events" if x.neuron is None else str(list(x.neuron)),
            f"{x.values[0]:g} / {x.values[1]:g}",
            " / ".join("n/a" if h is None else f"{h:.6g}" for h in x.charges),
            " / ".join("n/a" if h is None else f"{h:.6g}" for h in x.thresholds),
            x.cause,
        ]
        for x in report.divergences
    ]
    header = ["stages", "layer", "step", "sample", "neuron", "values", "charge h", "threshold", "cause"]
    details = "".join(f"<li><b>{escape(' → '.join(x.pair))}</b>: {escape(x.detail)}</li>" for x in report.divergences)
    return table(header, rows) + f"<ul>{details}</ul>"


def _layer_row(a: dict[str, Any]) -> list[str]:
    return [
        a["layer"],
        " → ".join(a["stages"]),
        a["compared"],
        _number(a["spike_mismatch"]),
        _percent(a["element_agreement"]),
        "" if a["rates"] is None else " → ".join(f"{r:.4f}" for r in a["rates"]),
        _number(a["rate_error"]),
        _number(a["membrane_error"]),
        _percent(a["membrane_error_relative"]),
        ", ".join(a["exceeded"]),
    ]


def _where(diagnostic: dict[str, Any]) -> str:
    return f" [{escape(diagnostic['node'])}]" if diagnostic["node"] else ""


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _pairs(report: ValidationReport) -> list[tuple[str, str]]:
    return list(dict.fromkeys(a.pair for a in report.layers))


# --- plots ------------------------------------------------------------------------------------


def _mismatch_plot(report: ValidationReport) -> bytes:
    plt = pyplot()
    pairs = _pairs(report)
    layers = list(dict.fromkeys(a.layer for a in report.layers))
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(layers) * len(pairs) + 1.6))
    height = 0.8 / len(pairs)
    for k, pair in enumerate(pairs):
        values = [next((a.spike_mismatch or 0.0 for a in report.layers if a.layer == n and a.pair == pair), 0.0)
                  for n in layers]  # fmt: skip
        ax.barh([y + k * height for y in range(len(layers))], values, height=height, label=" → ".join(pair))
    if report.tolerance.spikes is not None:
        ax.axvline(report.tolerance.spikes, color="#d62728", linestyle="--", linewidth=1, label="tolerance")
    ax.set_yticks([y + 0.4 - height / 2 for y in range(len(layers))], layers)
    ax.invert_yaxis()
    ax.set_xlabel("spike mismatch (share of spikes not in common)")
    ax.set_title("Spike mismatch per layer between stages")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, axis="x")
    return png(fig)


def _step_plot(report: ValidationReport, pair: tuple[str, str]) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for a in report.layers:
        if a.pair == pair and a.compared != "values":
            ax.plot(range(len(a.per_step_mismatch)), a.per_step_mismatch, marker="o", markersize=3, label=a.layer)
    first = next((x for x in report.divergences if x.pair == pair), None)
    if first is not None:
        ax.axvline(first.step, color="#999", linestyle=":", linewidth=1, label=f"first divergence (step {first.step})")
    ax.set_xlabel("time step")
    ax.set_ylabel("spike mismatch")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Spike mismatch per time step, {pair[0]} → {pair[1]}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return png(fig)


def _rate_plot(report: ValidationReport) -> bytes:
    plt = pyplot()
    rates: dict[str, dict[str, float]] = {}
    for a in report.layers:
        if a.rates is not None:
            rates.setdefault(a.pair[0], {})[a.layer] = a.rates[0]
            rates.setdefault(a.pair[1], {})[a.layer] = a.rates[1]
    layers = list(dict.fromkeys(a.layer for a in report.layers if a.rates is not None))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / max(len(rates), 1)
    for k, (stage, by_layer) in enumerate(rates.items()):
        ax.bar([x + k * width for x in range(len(layers))], [by_layer.get(n, 0.0) for n in layers], width, label=stage)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(layers))], layers, rotation=30, ha="right")
    ax.set_ylabel("spikes per neuron and step")
    ax.set_title("Firing rate per layer and stage")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, axis="y")
    return png(fig)
