"""Per-target energy models for Speck and Loihi (cost/energy.md §6, §7c; targets/speck.md §7;
targets/loihi.md §6).

Neither vendor publishes an energy per synaptic operation for these chips, so both models are
labelled estimates except where a figure is published: Speck's resting power (Yao et al. 2024).
Speck's per-SynOp energy is the placeholder range the fact sheet derives from the same paper's
Table 1, to be replaced by a fit to power-monitor readings; Loihi 2 uses Loihi 1's published
per-operation energies (Davies et al. 2018, Table 2) as a proxy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snnc.cost.accounting import LayerOps
from snnc.cost.counting import NeuronCounts, SynapticCounts
from snnc.cost.energy import Components, Constant, Model
from snnc.diagnostics import Diagnostic, Severity

SPECK_PAPER = "Yao, Richter et al., Nat. Commun. 15:4464, 2024"
DAVIES = "Davies et al., IEEE Micro 38(1), 2018, Table 2 (Loihi 1; targets/loihi.md §6)"
LOIHI2_PROXY = "; used for Loihi 2, which publishes no per-operation energy (cost/energy.md §6)"


def _pj_per_sample(watts: float, steps: int, dt: float | None) -> float | None:
    return None if dt is None else watts * steps * dt * 1e12


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
        return _pj_per_sample(self.p_rest, steps, self.dt)

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
        Constant("P_rest", 0.42, "mW", "published", f"{SPECK_PAPER} (processor resting power); targets/speck.md §7"),
        Constant(
            "e_syn",
            math.sqrt(low * high),
            "pJ/SynOp",
            "estimate",
            f"placeholder: range derived from {SPECK_PAPER} Table 1, (P − P_rest) · 0.54 s / spikes ÷ 72–288 "
            "SynOps per spike (cost/energy.md §6), geometric mid-point; to be fitted to power-monitor readings",
            low=low,
            high=high,
        ),
        Constant("e_in", 0.0, "pJ/event", "estimate", "unknown: not separable in published data (cost/energy.md §7c)"),
        Constant("e_out", 0.0, "pJ/event", "estimate", "unknown: not separable in published data (cost/energy.md §7c)"),
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


@dataclass
class Loihi(Model):
    """E = N_SOP·e_sop + N_act·e_act + N_inact·e_inact + N_spk·(e_tile + hops·e_hop) (+ P_static·t), §7c."""

    e_sop: float = 0.0
    e_act: float = 0.0
    e_inact: float = 0.0
    e_tile: float = 0.0
    p_static: float = 0.0

    def events(self, s: SynapticCounts) -> np.ndarray:
        return s.sops_binary  # a graded spike is one message (§7c)

    def synaptic(self, s: SynapticCounts, ops: LayerOps) -> Components:
        return {"SynOps": self.e_sop * ops.acs}

    def neuron(self, n: NeuronCounts, samples: int) -> Components:
        inactive = n.numel * samples - n.active
        return {
            "active updates": self.e_act * n.active,
            "inactive updates": self.e_inact * np.maximum(inactive, 0),
            "spikes": self.e_tile * n.fired,
        }

    def static_pj(self, steps: int) -> float | None:
        return _pj_per_sample(self.p_static, steps, self.dt)


def loihi() -> Loihi:
    values = {"e_sop": 23.6, "e_act": 81.0, "e_inact": 52.0, "e_tile": 1.7}
    what = {
        "e_sop": "synaptic spike operation (min.)",
        "e_act": "neuron update, active",
        "e_inact": "neuron update, inactive",
        "e_tile": "spike within a tile",
    }
    constants = [Constant(k, v, "pJ", "estimate", f"{what[k]}: {DAVIES}{LOIHI2_PROXY}") for k, v in values.items()]
    constants.append(
        Constant(
            "P_static",
            104.0,
            "mW/chip",
            "estimate",
            "Loihi 1: 3.34 W static for 32 chips, Frady et al. 2020, inferred (targets/loihi.md §6); other voltage",
        )
    )
    return Loihi(
        name="loihi",
        title="Loihi 2 (Loihi 1 published constants as a proxy): SynOps, neuron updates, spike messages",
        constants=constants,
        rules=[
            "SynOps: non-zero inputs × their exact fan-out (graded spikes are one message each)",
            "neuron update 'active' where the neuron's input was non-zero at that step (snnc's reading)",
            "spike messages charged within a tile; tile hops not charged (no core placement yet)",
            "static: P_static × T × dt per sample, reported apart (needs dt)",
        ],
        event_driven=True,
        p_static=constants[-1].value * 1e-3,
        **values,
    )
