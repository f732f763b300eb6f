"""The cost model: synaptic operations, MACs and energy per layer, from measured activity
(ARCHITECTURE §3; docs/cost/energy.md).

    counts = count(graph, batches(x, 64))          # simulate, observing what each layer receives
    report = estimate(counts, literature("fp32"))
    report.layers, report.total, report.to_dict()

The generic energy models live here: `literature` (E_MAC · MACs + E_AC · ACs) and `memory`
(Lemaire-style, memory-aware). A chip's own model is a plug-in of its target
(`snnc/backends/<t>/energy.py`, `Target.energy_model()`); `snnc/driver/report.py` picks the model
by name and runs both steps.
"""

from __future__ import annotations

from snnc.cost.accounting import Convention
from snnc.cost.counting import Counts, Data, batches, count
from snnc.cost.energy import PRECISIONS, Constant, Model, literature, memory
from snnc.cost.report import SCHEMA, CostReport, LayerCost, estimate

__all__ = [
    "PRECISIONS",
    "SCHEMA",
    "Constant",
    "Convention",
    "CostReport",
    "Counts",
    "Data",
    "LayerCost",
    "Model",
    "batches",
    "count",
    "estimate",
    "literature",
    "memory",
]
