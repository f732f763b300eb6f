"""Speck as data: its number formats (exactly sinabs' discretization, docs/targets/speck.md §3) and
its limits, each with the source it was read from and whether a SynSense document states it
(`documented`) or it is inferred from sinabs' code or observed behaviour (speck.md "Biggest
uncertainties"). The rules (rules.py) and the placement (placement.py) read every number here.

Speck 2e and 2f have the same cores and limits in sinabs 3.1.3 (`chips/speck2e.py`,
`chips/speck2f.py` differ only in the samna module; speck.md §1.1), so one table serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from snnc.ir.neuron_features import NeuronFeatures
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.passes.quantize.spec import QuantSpec

SPECK = QuantSpec(
    "speck",
    Arithmetic(
        name="speck",
        # Events add straight into the neuron state on chip (speck.md §4); the per-step sum is
        # exact here and enters the 16-bit state, whose overflow behaviour is not documented
        # (speck.md "Biggest uncertainties"); saturation is assumed, as threshold_low saturates
        # (speck.md §4, [DS §3.2.4.6.3]).
        synapse=IntRange(32, "saturate"),
        input=IntRange(32, "saturate"),
        current=IntRange(16, "saturate"),  # unused: no current state on Speck
        voltage=IntRange(16, "saturate"),  # 16-bit neuron state (speck.md §3.1)
        decay_shift=0,  # IAF only: no leak (speck.md §4; the bias "leak" is the neuron bias)
        decay_rounding="floor",
        threshold=Mantissa(16),  # threshold_high, 16-bit (speck.md §3.1)
        bias=Mantissa(16),  # one 16-bit leak word per channel (speck.md §3.1)
        gain=Mantissa(1, signed=False),  # the input adds to v unscaled: gain 1
    ),
    weight_bits=8,  # DYNAPCNN_WEIGHT_PRECISION_BITS (speck.md §3.1)
    leak=False,
    current="never",
    v_min_default=-32768.0,  # sinabs: min_v_mem None → −2^15 (discretize.py; speck.md §3.2)
    input_bits=None,  # events only: DVS or host events into the first layer (speck.md §2.5)
)
"""sinabs' discretization bit for bit, including its `min_v_mem=None` trap (tests hold it to
sinabs' own discretize.py)."""

SPECK_COMPILE = replace(SPECK, v_min_default=None)
"""What the speck target quantizes with: the same formats, but a neuron without a lower bound keeps
none, so that SPECK-VMIN-UNSET can name it instead of quantizing every weight to 0 as sinabs would
(speck.md §3.3, §9: such a model is refused, never written as sinabs writes it). Its state then
saturates at the 16-bit register's minimum, which is what `threshold_low = −32768` does on chip."""

STEPS = replace(SPECK.arithmetic, name="speck-steps", voltage=IntRange(32, "saturate"))
"""The arithmetic of the time-stepped model: the parameters are SPECK's (16-bit state), but a step's
summed events are held before the neuron fires, as sinabs' float32 discretized network holds them;
on chip each event updates the 16-bit state alone (speck.md §4), so it never holds such a sum.
(snnc/passes/set_arithmetic.py)"""

T = TypeVar("T")


@dataclass(frozen=True)
class Limit(Generic[T]):
    """One limit of the chip: its value, where it comes from, and whether a SynSense document
    states it (True) or it is inferred from sinabs' code and observed behaviour (False)."""

    value: T
    source: str
    documented: bool

    def cite(self) -> str:
        return f"{self.source} ({'documented' if self.documented else 'inferred'})"


DS = "Speck Dev Kit Datasheet, SynSense 2023"
CHIPS = ("speck2f", "speck2e")
"""The chips sinabs 3.1.3 configures (`chip_factory.py: ChipFactory.supported_devices`, speck.md §1.1)."""

CORES = Limit(9, f"{DS} §2.2, §3.2.4; sinabs chips/dynapcnn.py::get_constraints (speck.md §1.1)", True)
KERNEL_MEMORY = Limit(
    (16384, 16384, 16384, 32768, 32768, 65536, 65536, 16384, 16384),
    f"sinabs chips/dynapcnn.py::get_constraints (weight_memory_size); {DS} Table 1 (speck.md §1.1)",
    True,
)
NEURON_MEMORY = Limit(
    (65536, 65536, 65536, 32768, 32768, 16384, 16384, 16384, 16384),
    f"sinabs chips/dynapcnn.py::get_constraints (neurons_memory_size); {DS} Table 1 (speck.md §1.1)",
    True,
)
BIAS_MEMORY = Limit(
    (1024,) * 9, f"sinabs chips/dynapcnn.py::get_constraints (bias_memory_size); {DS} Table 1 (speck.md §1.1)", True
)
MAX_KERNEL = Limit(16, f"{DS} §2.4, §3.2.4.1; samna speck2e page; not checked by sinabs (speck.md §2.1)", True)
STRIDES = Limit((1, 2, 4, 8), f"{DS} §2.4, §3.2.4.1; not checked by sinabs (speck.md §2.1)", True)
MAX_PADDING = Limit(7, f"{DS} §2.4, §3.2.4.1; not checked by sinabs (speck.md §2.1)", True)
MAX_CHANNELS = Limit(1024, f"{DS} §2.4, §3.2.4.1; sinabs validate_memory_speck.py (speck.md §2.1)", True)
MAX_INPUT_SIZE = Limit(128, f"{DS} §2.4 (layer input at most 128×128); not checked by sinabs (speck.md §2.1)", True)
MAX_NEURON_MAP = Limit(64, f"{DS} §2.4, §3.2.4.1 (conv output at most 64×64); faqs/available_network_arch.md", True)
POOL_SIZES = Limit(
    (1, 2, 4),
    f"{DS} §2.4, §3.2.4.1 (sum pooling 1, 2, 4, square, stride = kernel); sinabs accepts 3 (speck.md §2.1)",
    True,
)
MAX_DESTINATIONS = Limit(
    2, f"{DS} §3.2.3.6, §3.2.4.8; samna `destinations` is an array of 2; sinabs: IndexError (speck.md §2.1)", True
)
DVS_SIZE = Limit(128, f"{DS} §2.2 (128×128 pixel array, 2 polarities); not checked by sinabs (speck.md §2.5)", True)
DVS_CHANNELS = Limit(2, "sinabs dvs_layer.py::DVSLayer.from_layers (1 or 2 channels) (speck.md §2.5)", True)
DVS_POOL_SIZES = Limit((1, 2, 4), f"{DS} §3.2.3.2 (per axis, stride = kernel) (speck.md §2.5)", True)
WEIGHT_BITS = Limit(8, f"{DS} Table 3; sinabs discretize.py DYNAPCNN_WEIGHT_PRECISION_BITS (speck.md §3.1)", True)
STATE_BITS = Limit(16, f"{DS} Table 3; sinabs discretize.py DYNAPCNN_STATE_PRECISION_BITS (speck.md §3.1)", True)
THRESHOLD_LOW_MAX = Limit(-1, f"{DS} §3.2.4.6.3: threshold_low 0 is a known silicon bug, use −1 (speck.md §3.3)", True)
NEURON = NeuronFeatures(
    "Speck",
    resets=frozenset({"subtract", "zero"}),  # return_to_zero False / True (chips/dynapcnn.py, speck.md §4)
    reset_timings=frozenset({"same_step"}),  # the reset follows the spike in the same update ([DS §3.2.4.6.2])
    fire_ops=frozenset({"ge"}),  # fires on v >= threshold_high (speck.md §4)
    spikes=frozenset({"single", "multi"}),  # sinabs simulates either; the chip fires once per event (speck.md §4)
    leak=False,  # IAF: no decay, only a constant leak (bias) per slow-clock tick ([DS §3.2.4.7])
    current=False,
    voltage_first=False,
    late_input=False,
    v_reset=False,  # return_to_zero resets to 0
    per_channel_threshold=False,  # one threshold_high per core ([DS §3.2.4.4])
)
"""The neuron switches Speck's IAF computes (speck.md §2.1, §4). Per neuron it holds an initial
state (neurons_initial_value) and per channel a bias (the leak words); one lower bound per core
(SPECK-NEURON-SCALAR)."""


@dataclass(frozen=True)
class Capacity:
    """One core's memories, in words (speck.md §1.1)."""

    core: int
    kernel: int
    neuron: int
    bias: int


def capacities() -> tuple[Capacity, ...]:
    return tuple(
        Capacity(k, KERNEL_MEMORY.value[k], NEURON_MEMORY.value[k], BIAS_MEMORY.value[k]) for k in range(CORES.value)
    )
