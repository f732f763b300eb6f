"""The cost model: synaptic operations, MACs and energy per layer, from measured activity
(ARCHITECTURE §3; fact sheet cost/energy.md).

    counts = count(graph, batches(x, 64))          # simulate, observing what each layer receives
    report = estimate(counts, select_model("literature"))
    report.layers, report.total, report.to_dict(), report.to_html("report.html")

`report(graph, x, ...)` does both. Models: `literature` (E_MAC · MACs + E_AC · ACs), `memory`
(Lemaire-style memory-aware), `speck`, `loihi` (per-target constants); `target` picks the target's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from snnc.cost.accounting import Convention
from snnc.cost.counting import Counts, Data, batches, count
from snnc.cost.energy import PRECISIONS, Constant, Model, literature, memory
from snnc.cost.report import SCHEMA, CostReport, LayerCost, estimate
from snnc.cost.targets import loihi, speck
from snnc.diagnostics import input_error
from snnc.ir.graph import Graph

MODELS = ("literature", "memory", "target", "speck", "loihi")
TARGETS = ("speck", "loihi")

__all__ = [
    "MODELS",
    "PRECISIONS",
    "SCHEMA",
    "TARGETS",
    "Constant",
    "Convention",
    "CostReport",
    "Counts",
    "LayerCost",
    "Model",
    "batches",
    "count",
    "estimate",
    "report",
    "select_model",
]


def select_model(
    model: str = "literature",
    target: str | None = None,
    *,
    precision: str | None = None,
    dt: float | None = None,
    synops_ceiling: float | None = None,
) -> Model:
    """The energy model by name; "target" means the model of `target`. `precision` picks the
    arithmetic preset of `literature` (fp32 default) and `memory` (int32, or int8 with a target);
    `dt` (seconds per step) enables static energy and rates."""
    if target is not None and target not in TARGETS:
        raise input_error("COST-TARGET", f"unknown target {target!r}", hint=f"choose one of {', '.join(TARGETS)}")
    if model not in MODELS:
        raise input_error("COST-MODEL", f"unknown energy model {model!r}", hint=f"choose one of {', '.join(MODELS)}")
    if model == "target":
        if target is None:
            raise input_error("COST-MODEL", "the target model needs a target", hint="pass target='speck' or 'loihi'")
        model = target
    if dt is not None and not dt > 0:
        raise input_error("COST-MODEL", f"dt must be a positive number of seconds, got {dt}", hint="e.g. dt=1e-3")
    if synops_ceiling is not None and (model != "speck" or dt is None):
        raise input_error(
            "COST-MODEL",
            f"a SynOps/s ceiling is checked by the speck model with a time per step (dt); got model {model!r}, dt {dt}",
            hint="use the speck model and give dt (snnc report --model target --target speck --step-time S)",
        )
    if model == "literature":
        chosen = literature(precision or "fp32")
    elif model == "memory":
        chosen = memory(precision, target)
    elif model == "speck":
        chosen = speck(synops_ceiling)
    else:
        chosen = loihi()
    chosen.dt = dt
    return chosen


def report(
    graph: Graph,
    x: Data,
    *,
    model: str = "literature",
    target: str | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
    dt: float | None = None,
    encoding_once: bool = False,
    integer_inputs: Literal["mac", "ac"] = "mac",
    sops: Literal["exact", "paper"] = "exact",
    synops_ceiling: float | None = None,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> CostReport:
    """Simulate `graph` on `x` ([T, B, ...], in batches of `batch_size`) and estimate its cost."""
    chosen = select_model(model, target, precision=precision, dt=dt, synops_ceiling=synops_ceiling)
    if integer_inputs not in ("mac", "ac") or sops not in ("exact", "paper"):
        raise input_error(
            "COST-MODEL",
            f"integer_inputs={integer_inputs!r}, sops={sops!r}",
            hint="integer_inputs is 'mac' or 'ac'; sops is 'exact' or 'paper'",
        )
    if batch_size is not None and batch_size < 1:
        raise input_error("COST-DATA", f"batch_size must be at least 1, got {batch_size}", hint="e.g. 64")
    counts = count(graph, batches(x, batch_size), device=device, on_batch=on_batch)
    return estimate(counts, chosen, Convention(encoding_once, integer_inputs, sops))
