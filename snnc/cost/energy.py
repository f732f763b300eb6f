"""Energy models: measured operation counts times per-operation energies, each constant labelled
with its status (published, derived, fitted, estimate) and its source (docs/cost/energy.md;
docs/targets/speck.md §7; docs/targets/loihi.md §6).

- `literature`: E = E_MAC · MACs + E_AC · ACs (energy.md §2, §7a), the papers' 45 nm figures;
  neurons, pooling, residual adds and memory traffic are not counted (reported apart).
- `memory`: Lemaire et al. (ICONIP 2022) as coded in LEAT-EDGE/qualia-plugin-snn
  `EnergyEstimationMetric.py` (energy.md §5, §7b), fed by measured counts: arithmetic,
  addressing, and weight/membrane/activation reads and writes, with one access-energy rule.
- `speck`: P = P_rest + e_syn · SynOps/s (+ input and output events), energy.md §7c.
- `loihi`: E = N_SOP·e_sop + N_act·e_act + N_inact·e_inact + N_spk·e_tile (+ static), §7c,
  with Loihi 1's published values as a proxy: Loihi 2 publishes no per-operation energy.

Every model returns, per layer, energy components per step summed over samples (pJ), so the
per-step profile and the totals are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from snnc.cost.accounting import LayerOps
from snnc.cost.counting import NeuronCounts, SynapticCounts
from snnc.diagnostics import Diagnostic, input_error

Status = Literal["published", "derived", "fitted", "estimate"]
Components = dict[str, np.ndarray]

HOROWITZ = "Horowitz, ISSCC 2014, 'Computing's energy problem', 45 nm, 0.9 V (docs/cost/energy.md §1)"


@dataclass(frozen=True)
class Constant:
    name: str
    value: float
    unit: str
    status: Status
    source: str
    low: float | None = None  # a range where the value is uncertain
    high: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Precision:
    """Arithmetic energies at one number format (Horowitz's table) and the word widths they imply."""

    name: str
    bits: int
    state_bits: int
    add: Constant
    mult: Constant

    @property
    def mac(self) -> float:
        return self.add.value + self.mult.value


def _precision(name: str, bits: int, state_bits: int, add: float, mult: float) -> Precision:
    return Precision(
        name,
        bits,
        state_bits,
        Constant(f"E_add ({name})", add, "pJ", "published", HOROWITZ),
        Constant(f"E_mult ({name})", mult, "pJ", "published", HOROWITZ),
    )


PRECISIONS = {
    "fp32": _precision("fp32", 32, 32, 0.9, 3.7),
    "fp16": _precision("fp16", 16, 16, 0.4, 1.1),
    "int32": _precision("int32", 32, 32, 0.1, 3.1),
    # 8-bit weights with 16-bit state, as on Speck (docs/targets/speck.md §3.1)
    "int8": _precision("int8", 8, 16, 0.03, 0.2),
}
TARGET_BITS = {"speck": (8, 16), "loihi": (8, 24)}  # speck.md §3.1; loihi.md §2 (8-bit weights, 24-bit state)

# Horowitz's SRAM/DRAM access energies per 64-bit word, by memory size (energy.md §1)
SRAM = (
    (8 << 10, Constant("E_access 8 KB SRAM (64 bit)", 10.0, "pJ", "published", HOROWITZ)),
    (32 << 10, Constant("E_access 32 KB SRAM (64 bit)", 20.0, "pJ", "published", HOROWITZ)),
    (1 << 20, Constant("E_access 1 MB SRAM (64 bit)", 100.0, "pJ", "published", HOROWITZ)),
)
DRAM = Constant("E_access DRAM (64 bit)", 1300.0, "pJ", "published", HOROWITZ, low=1300.0, high=2600.0)
ACCESS_RULE = (
    "horowitz-64bit-scaled: one access of a b-bit datum costs E64 · b/64, where E64 is Horowitz's "
    "64-bit access energy of the smallest listed memory holding the whole tensor (<= 8 KB: 10 pJ, "
    "<= 32 KB: 20 pJ, <= 1 MB: 100 pJ, else DRAM 1.3 nJ)"
)


def access(bits: int, elements: int) -> float:
    """Energy (pJ) of one access to one `bits`-wide element of a tensor of `elements` elements."""
    size = elements * bits / 8
    e64 = next((c.value for limit, c in SRAM if size <= limit), DRAM.value)
    return e64 * bits / 64


@dataclass
class Model:
    """Base: a named model with its constants; charges nothing unless a subclass says so."""

    name: str = "model"
    title: str = ""
    constants: list[Constant] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    dt: float | None = None  # seconds per time step, for static power and rates
    ranged: dict[str, tuple[float, float]] = field(default_factory=dict)  # component → (low, high) factor
    event_driven: bool = False  # charges every synaptic operation as an event (`events`)
    ann_basis: str = "dense MACs of one ANN pass × E_MAC fp32 (4.6 pJ), as the papers compare"

    def synaptic(self, s: SynapticCounts, ops: LayerOps) -> Components:
        return {}

    def events(self, s: SynapticCounts) -> np.ndarray | None:
        """For an event-driven target, the synaptic operations it charges per step (all of them
        accumulates, whatever the input values); None where the MAC/AC convention decides."""
        return None

    def neuron(self, n: NeuronCounts, samples: int) -> Components:
        return {}

    def static_pj(self, steps: int) -> float | None:
        """Static energy per sample (pJ), where the model has a static power and dt is known."""
        return None

    def check(self, layers: list[SynapticCounts], steps: int, samples: int) -> list[Diagnostic]:
        """Target limits the measured activity exceeds (warnings)."""
        return []

    def ann_pj(self, layers: list[SynapticCounts]) -> float:
        """Energy per sample of the same network run once as a dense ANN (literature fp32 MACs)."""
        return PRECISIONS["fp32"].mac * sum(s.flops for s in layers)


def literature(precision: str = "fp32") -> Model:
    p = _pick_precision(precision)
    e_mac = Constant(
        f"E_MAC ({p.name})", p.mac, "pJ", "derived", f"mult + add, {p.mult.value} + {p.add.value} pJ; {HOROWITZ}"
    )
    return _Literature(
        name="literature",
        title=f"literature: E = {p.mac:g} pJ · MACs + {p.add.value:g} pJ · ACs ({p.name}, 45 nm)",
        constants=[e_mac, Constant(f"E_AC ({p.name})", p.add.value, "pJ", "published", HOROWITZ)],
        rules=[
            "neuron updates, pooling, residual adds, BN, bias adds and memory traffic are not counted (shown apart)"
        ],
        ann_basis=f"dense MACs of one ANN pass × E_MAC {p.name} ({p.mac:g} pJ)",
        precision=p,
    )


@dataclass
class _Literature(Model):
    precision: Precision = PRECISIONS["fp32"]

    def synaptic(self, s: SynapticCounts, ops: LayerOps) -> Components:
        return {"MAC": self.precision.mac * ops.macs, "AC": self.precision.add.value * ops.acs}

    def ann_pj(self, layers: list[SynapticCounts]) -> float:
        return self.precision.mac * sum(s.flops for s in layers)


def memory(precision: str | None = None, target: str | None = None) -> Model:
    p = _pick_precision(precision or ("int8" if target else "int32"))  # int32: Lemaire's default (§5)
    bits, state_bits = TARGET_BITS.get(target or "", (p.bits, p.state_bits))
    return _Memory(
        name="memory",
        title=f"memory-aware (Lemaire et al. 2022): arithmetic {p.name}, {bits}-bit data, {state_bits}-bit state",
        constants=[p.add, p.mult, *(c for _, c in SRAM), DRAM],
        rules=[
            ACCESS_RULE,
            "per event: accumulates, weight read and membrane read + write per connection; addressing "
            "2 MACs + k_h·k_w adds (conv) or N_out adds (linear); one input read",
            "per neuron and step: one add, a multiply if leaky, membrane read + write, bias read if any; "
            "per spike: a reset add and an output write",
            "dense (real-valued input) layers and the ANN twin: per MAC one weight and one input read, "
            "per output one write; addressing N_in + N_out + C_out·k_h·k_w adds per pass",
        ],
        ann_basis="the same memory-aware formulas for the dense ANN twin, one pass, no zero skipping",
        precision=p,
        bits=bits,
        state_bits=state_bits,
    )


@dataclass
class _Memory(Model):
    precision: Precision = PRECISIONS["int32"]
    bits: int = 32
    state_bits: int = 32

    def synaptic(self, s: SynapticCounts, ops: LayerOps) -> Components:
        p, add = self.precision, self.precision.add.value
        events = ops.acs + (ops.macs if ops.counted_as == "mac-events" else 0)
        addressing = 2 * p.mac + s.taps * add if s.op != "linear" else s.out_numel * add
        w_read, in_read = access(self.bits, s.weights), access(self.bits, s.in_numel)
        dense = self._dense(s)
        return {
            "arithmetic": add * ops.acs + p.mac * ops.macs,
            "addressing": addressing * ops.drive + dense["addressing"] * ops.passes,
            "weight reads": w_read * (events + s.flops * ops.passes),
            "membrane R/W": 2 * access(self.state_bits, s.out_numel) * events,
            "activation R/W": in_read * (ops.drive + s.flops * ops.passes) + dense["writes"] * ops.passes,
        }

    def _dense(self, s: SynapticCounts) -> dict[str, float]:
        """Per dense pass: addressing adds and output writes (Lemaire's FNN baseline, §5)."""
        adds = s.in_numel + s.out_numel + s.out_channels * s.taps
        return {"addressing": adds * self.precision.add.value, "writes": s.out_numel * access(self.bits, s.out_numel)}

    def neuron(self, n: NeuronCounts, samples: int) -> Components:
        p = self.precision
        updates = np.full_like(n.active, float(n.numel * samples))
        state = access(self.state_bits, n.numel)
        bias = access(self.bits, n.numel) if n.has_bias else 0.0
        return {
            "arithmetic": updates * (p.add.value + (p.mult.value if n.leaky else 0.0)) + n.spikes * p.add.value,
            "membrane R/W": updates * (2 * state + bias),
            "activation R/W": n.spikes * access(self.bits, n.numel),
        }

    def ann_pj(self, layers: list[SynapticCounts]) -> float:
        total = 0.0
        for s in layers:
            dense = self._dense(s)
            reads = access(self.bits, s.weights) + access(self.bits, s.in_numel)
            total += s.flops * (self.precision.mac + reads) + dense["addressing"] + dense["writes"]
        return total


def _pick_precision(name: str) -> Precision:
    if name not in PRECISIONS:
        raise input_error("COST-MODEL", f"unknown precision {name!r}", hint=f"choose one of {', '.join(PRECISIONS)}")
    return PRECISIONS[name]


def static_energy_pj(watts: float, steps: int, dt: float | None) -> float | None:
    """Static energy of one sample of `steps` steps of `dt` seconds at `watts`, in pJ (None
    without dt: static energy needs real time)."""
    return None if dt is None else watts * steps * dt * 1e12
