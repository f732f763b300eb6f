"""Speck's energy model (docs/cost/energy.md §6, §7c; docs/targets/speck.md §7).

SynSense publishes no energy per synaptic operation for Speck, so the model is labelled an
estimate except for the published resting power (Yao et al. 2024). The per-SynOp energy is the
placeholder range the fact sheet derives from the same paper's Table 1, to be replaced by a fit
to power-monitor readings. (A backend imports the cost package only here: an energy model is a
plug-in of the cost model.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snnc.cost.accounting import LayerOps
from snnc.cost.counting import NeuronCounts, SynapticCounts
from snnc.cost.energy import Components, Constant, Model, static_energy_pj
from snnc.diagnostics import Diagnostic, Severity

SPECK_PAPER = "Yao, Richter et al., Nat. Commun. 15:4464, 2024"
UNSEPARABLE = "unknown: not separable in published data (docs/cost/energy.md §7c)"


@dataclass
class Speck(Model):
    """P = P_rest + e_syn · SynOps/s + e_in · input events/s + e_out · output events/s (§7c).
    A SynOp is one input event at one output neuron, events counted with multiplicity (Speck
    repeats an event, e.g. after sum pooling): the exact `sops` of the counts."""

    p_rest: float = 0.0
    e_syn: float = 0.0
    e_in: float = 0.0
    e_out: float = 0.0
    synops_ceiling: float | None = None

    def events(self, s: SynapticCounts) -> np.ndarray:
        return s.sops

    def synaptic(self, s: SynapticCounts, ops: LayerOps) -> Components:
        parts = {"SynOps": self.e_syn * ops.acs}
        if s.reads_graph_input:
            parts["input events"] = self.e_in * s.events
        return parts

    def neuron(self, n: NeuronCounts, samples: int) -> Components:
        return {"output events": self.e_out * n.spikes} if n.feeds_output else {}

    def static_pj(self, steps: int) -> float | None:
        return static_energy_pj(self.p_rest, steps, self.dt)

    def check(self, layers: list[SynapticCounts], steps: int, samples: int) -> list[Diagnostic]:
        """Each synaptic layer is one core; its SynOps/s above the configured ceiling stalls the chip
        (sinabs docs/speck/faqs/tips_for_training.md; the ceiling itself is not published)."""
        if self.synops_ceiling is None or self.dt is None:
            return []
        found = []
        for s in layers:
            rate = float(s.sops.sum()) / samples / (steps * self.dt)
            if rate > self.synops_ceiling:
                found.append(
                    Diagnostic(
                        "COST-SYNOPS-RATE",
                        f"{rate:.3g} SynOps/s on this core exceed the configured ceiling {self.synops_ceiling:.3g}",
                        node=s.name,
                        hint="lower the layer's input rate or fan-out, or spread it over more time (larger dt)",
                        severity=Severity.WARNING,
                        measured=rate,
                        limit=self.synops_ceiling,
                    )
                )
        return found


def speck(synops_ceiling: float | None = None) -> Speck:
    low, high = 10.0, 100.0
    constants = [
        Constant(
            "P_rest", 0.42, "mW", "published", f"{SPECK_PAPER} (processor resting power); docs/targets/speck.md §7"
        ),
        Constant(
            "e_syn",
            math.sqrt(low * high),
            "pJ/SynOp",
            "estimate",
            f"placeholder: range derived from {SPECK_PAPER} Table 1, (P − P_rest) · 0.54 s / spikes ÷ 72–288 "
            "SynOps per spike (docs/cost/energy.md §6), geometric mid-point; to be fitted to power-monitor readings",
            low=low,
            high=high,
        ),
        Constant("e_in", 0.0, "pJ/event", "estimate", UNSEPARABLE),
        Constant("e_out", 0.0, "pJ/event", "estimate", UNSEPARABLE),
    ]
    return Speck(
        name="speck",
        title="Speck: P_rest + e_syn · SynOps (+ e_in · input events + e_out · output events)",
        constants=constants,
        rules=[
            "SynOps: input events (with multiplicity) × their exact fan-out, every layer: Speck is event-driven",
            "static: P_rest × T × dt per sample, reported apart (needs dt)",
        ],
        ranged={"SynOps": (low / constants[1].value, high / constants[1].value)},
        event_driven=True,
        p_rest=constants[0].value * 1e-3,
        e_syn=constants[1].value,
        e_in=constants[2].value,
        e_out=constants[3].value,
        synops_ceiling=synops_ceiling,
    )
