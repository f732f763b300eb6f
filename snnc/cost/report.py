"""The cost report: per-layer operation counts and energy, totals, the ANN comparison and the
time-step profile, assembled from measured counts and one energy model.

All figures are per sample (one inference over all T steps), the unit of the papers and of
NeuroBench (`Effective_ACs` etc. are divided by the number of samples). Layers are the synaptic
nodes (Linear, Conv) and the neuron nodes, in graph order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.cost.accounting import Convention, LayerOps, layer_ops
from snnc.cost.counting import Counts, NeuronCounts, SynapticCounts
from snnc.cost.energy import Model
from snnc.diagnostics import Diagnostic, Severity

SCHEMA = "snnc.cost-report/1"


@dataclass
class LayerCost:
    """One layer, per sample. Synaptic rows: events entering, SOPs exact and `fr·T·FLOPs`, the
    ACs and MACs charged, the input rate; neuron rows: updates and the firing rate."""

    name: str
    op: str
    role: str  # "synaptic" or "neuron"
    input: str
    input_kind: str | None = None  # binary, signed-binary, integer, real (measured)
    counted_as: str | None = None  # ac, mac, mac-events
    events_in: float = 0.0
    rate_in: float | None = None  # non-zero fraction of the input, over steps, samples, elements
    rate_out: float | None = None  # fraction of neurons firing, over steps, samples, neurons
    spikes_out: float | None = None
    flops: int | None = None  # MACs of one dense ANN pass
    sops: float = 0.0  # input events × their exact fan-out
    sops_paper: float = 0.0  # fr · T · FLOPs
    acs: float = 0.0
    macs: float = 0.0
    neuron_updates: float = 0.0  # T · N
    neurobench: dict[str, float] | None = None  # Effective_ACs, Effective_MACs, Dense
    energy_pj: float = 0.0
    energy_breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def sops_ratio(self) -> float | None:
        """sops_paper / sops: how far the papers' uniform fan-out is from the exact count."""
        return self.sops_paper / self.sops if self.sops else None


@dataclass
class CostReport:
    graph: str
    samples: int
    steps: int
    model: Model
    convention: Convention
    layers: list[LayerCost]
    total: dict[str, Any]
    ann: dict[str, Any]
    profile: dict[str, Any]
    diagnostics: list[Diagnostic]

    @property
    def energy_ratio(self) -> float | None:
        """ANN energy / SNN energy (dynamic): how many times cheaper the SNN is under this model."""
        e = self.total["energy_pj"]
        return self.ann["energy_pj"] / e if e else None

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "schema": SCHEMA,
            "graph": self.graph,
            "samples": self.samples,
            "steps": self.steps,
            "units": {"energy": "pJ per sample", "operations": "per sample, over all steps"},
            "model": {
                "name": m.name,
                "title": m.title,
                "dt": m.dt,
                "constants": [c.to_dict() for c in m.constants],
                "rules": [*([] if m.event_driven else [self.convention.describe()]), *m.rules],
                "options": asdict(self.convention),
            },
            "layers": [asdict(layer) | {"sops_ratio": layer.sops_ratio} for layer in self.layers],
            "total": self.total,
            "ann": self.ann,
            "energy_ratio_ann_over_snn": self.energy_ratio,
            "profile": self.profile,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML report with embedded plots, atomically; returns the path."""
        from snnc.cost.html import write_html

        return write_html(self, Path(path))


def estimate(counts: Counts, model: Model, convention: Convention | None = None) -> CostReport:
    """Apply `model` to measured `counts` (from `cost.count`) under a MAC/AC `convention`."""
    convention = convention or Convention()
    n, steps = counts.samples, counts.steps
    layers: list[LayerCost] = []
    per_step: dict[str, np.ndarray] = {k: np.zeros(steps) for k in ("sops", "sops_paper", "acs", "macs", "energy")}
    by_component: dict[str, float] = {}
    diagnostics: list[Diagnostic] = []
    synaptic = [counts.synaptic[x.name] for x in counts.graph if x.name in counts.synaptic]
    for node in counts.graph:
        if node.name in counts.synaptic:
            s = counts.synaptic[node.name]
            ops = layer_ops(s, convention, n, model.events(s))
            parts = model.synaptic(s, ops)
            layers.append(_synaptic_row(s, ops, parts, n, steps))
            diagnostics += _layer_warnings(s, ops, model)
            for key, values in (("sops", s.sops), ("sops_paper", ops.sops_paper), ("acs", ops.acs), ("macs", ops.macs)):
                per_step[key] += values
        elif node.name in counts.neurons:
            c = counts.neurons[node.name]
            parts = model.neuron(c, n)
            layers.append(_neuron_row(c, node.op.kind, node.inputs[0], parts, n, steps))
        else:
            continue
        for key, values in parts.items():
            per_step["energy"] += values
            by_component[key] = by_component.get(key, 0.0) + float(np.sum(values)) / n
    diagnostics += model.check(synaptic, steps, n)
    energy = float(per_step["energy"].sum()) / n
    total = {
        "sops": sum(x.sops for x in layers),
        "sops_paper": sum(x.sops_paper for x in layers),
        "acs": sum(x.acs for x in layers),
        "macs": sum(x.macs for x in layers),
        "energy_pj": energy,
        "energy_range_pj": _energy_range(energy, by_component, model),
        "energy_by_component": by_component,
        "static_pj": model.static_pj(steps),
        "neurobench": {
            key: sum(x.neurobench[key] for x in layers if x.neurobench)
            for key in ("Effective_MACs", "Effective_ACs", "Dense")
        },
        "not_counted": _not_counted(counts, synaptic),
    }
    ann = {"macs": sum(s.flops for s in synaptic), "energy_pj": model.ann_pj(synaptic), "basis": model.ann_basis}
    profile = {
        "step": list(range(steps)),
        "sops": (per_step["sops"] / n).tolist(),
        "sops_paper": (per_step["sops_paper"] / n).tolist(),
        "acs": (per_step["acs"] / n).tolist(),
        "macs": (per_step["macs"] / n).tolist(),
        "energy_pj": (per_step["energy"] / n).tolist(),
        "firing_rate": {c.name: (c.fired / (c.numel * n)).tolist() for c in counts.neurons.values()},
    }
    return CostReport(counts.graph.name, n, steps, model, convention, layers, total, ann, profile, diagnostics)


def _synaptic_row(s: SynapticCounts, ops: LayerOps, parts: dict, n: int, steps: int) -> LayerCost:
    return LayerCost(
        name=s.name,
        op=s.op,
        role="synaptic",
        input=s.source,
        input_kind=s.kind,
        counted_as=ops.counted_as,
        events_in=float(s.events.sum()) / n,
        rate_in=float(s.nonzero.sum()) / (n * steps * s.in_numel),
        flops=s.flops,
        sops=float(s.sops.sum()) / n,
        sops_paper=float(ops.sops_paper.sum()) / n,
        acs=float(ops.acs.sum()) / n,
        macs=float(ops.macs.sum()) / n,
        neurobench={
            "Effective_ACs": float(s.nb_ac.sum()) / n,
            "Effective_MACs": float(s.nb_mac.sum()) / n,
            "Dense": float(s.connections * steps),
        },
        energy_pj=sum(float(np.sum(v)) for v in parts.values()) / n,
        energy_breakdown={k: float(np.sum(v)) / n for k, v in parts.items()},
    )


def _neuron_row(c: NeuronCounts, op: str, source: str, parts: dict, n: int, steps: int) -> LayerCost:
    return LayerCost(
        name=c.name,
        op=op,
        role="neuron",
        input=source,
        events_in=float(c.active.sum()) / n,
        rate_out=float(c.fired.sum()) / (n * steps * c.numel),
        spikes_out=float(c.spikes.sum()) / n,
        neuron_updates=float(steps * c.numel),
        energy_pj=sum(float(np.sum(v)) for v in parts.values()) / n,
        energy_breakdown={k: float(np.sum(v)) / n for k, v in parts.items()},
    )


def _not_counted(counts: Counts, synaptic: list[SynapticCounts]) -> dict[str, float]:
    """What the paper model leaves out, per sample, so users see its size (energy.md §7a)."""
    n, steps = counts.samples, counts.steps
    return {
        "neuron_updates": float(steps * sum(c.numel for c in counts.neurons.values())),
        "pooling_adds": counts.pooling_adds / n,
        "residual_adds": counts.residual_adds / n,
        "batchnorm_ops": float(2 * steps * counts.batchnorm_elements),  # scale and shift (syops-counter)
        "bias_adds": float(steps * sum(s.out_numel for s in synaptic if s.has_bias)),
    }


def _energy_range(energy: float, by_component: dict[str, float], model: Model) -> list[float] | None:
    if not model.ranged:
        return None
    low = high = energy
    for key, (lo, hi) in model.ranged.items():
        part = by_component.get(key, 0.0)
        low += part * (lo - 1)
        high += part * (hi - 1)
    return [low, high]


def _layer_warnings(s: SynapticCounts, ops: LayerOps, model: Model) -> list[Diagnostic]:
    found = []
    if ops.once_refused:
        found.append(
            Diagnostic(
                "COST-ENCODING-VARIES",
                "encoding_once asks to count this real-valued layer once per sample, but its input changes "
                "between steps; it is counted at every step",
                node=s.name,
                hint="count it once only for a static input repeated at every step (direct encoding)",
                severity=Severity.WARNING,
            )
        )
    if model.event_driven and s.kind == "real":
        found.append(
            Diagnostic(
                "COST-REAL-INPUT",
                f"the {model.name} model charges events, but this layer's input holds real values (measured "
                f"range [{s.stats.low:.3g}, {s.stats.high:.3g}]); each non-zero value is counted as one event",
                node=s.name,
                hint="feed the chip events (e.g. from a DVS) or compute this layer off-chip",
                severity=Severity.WARNING,
                measured=[s.stats.low, s.stats.high],
            )
        )
    return found
