"""Loihi 2's energy model (docs/cost/energy.md §6, §7c; docs/targets/loihi.md §6).

Loihi 2 publishes no per-operation energy, so the model uses Loihi 1's published per-operation
energies (Davies et al. 2018, Table 2) as a labelled proxy. (A backend imports the cost package
only here: an energy model is a plug-in of the cost model.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.cost.accounting import LayerOps
from snnc.cost.counting import NeuronCounts, SynapticCounts
from snnc.cost.energy import Components, Constant, Model, static_energy_pj

DAVIES = "Davies et al., IEEE Micro 38(1), 2018, Table 2 (Loihi 1; docs/targets/loihi.md §6)"
LOIHI2_PROXY = "; used for Loihi 2, which publishes no per-operation energy (docs/cost/energy.md §6)"


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
        return static_energy_pj(self.p_static, steps, self.dt)


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
            "Loihi 1: 3.34 W static for 32 chips, Frady et al. 2020, inferred (docs/targets/loihi.md §6); "
            "other voltage",
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
