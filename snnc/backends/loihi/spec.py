"""Loihi 2 as data: Lava's fixed-point number formats (docs/targets/loihi.md §1, §2), what its LIF
neuron can express, and the chip's resources, each with its source and whether it is published,
read in Lava's source, or inferred by us (loihi.md §5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from snnc.ir.neuron_features import NeuronFeatures
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.passes.quantize.spec import QuantSpec

LOIHI = QuantSpec(
    "loihi",
    Arithmetic(
        name="loihi",
        synapse=IntRange(32, "wrap"),  # Dense a_buff int32, never clamped (docs/targets/loihi.md §2.1)
        conv=IntRange(24, "wrap"),  # fixed-point Conv wraps its output to signed 24 bits (loihi.md §2.2)
        input=IntRange(32, "wrap"),  # a_in << 6 computed in int32 (loihi.md §1.3)
        current=IntRange(24, "wrap_once"),  # u: one conditional ±2^24 (loihi.md §1.3, §7.6)
        voltage=IntRange(24, "saturate_symmetric"),  # v clipped to ±(2^23 − 1) (loihi.md §1.3)
        decay_shift=12,  # du, dv: 12-bit decays, decay_unity 4096 (loihi.md §1.2)
        decay_rounding="toward_zero",  # sign(p)·(|p| >> 12) (loihi.md §1.3, §7.5)
        threshold=Mantissa(17, signed=False, min_exp=6, max_exp=6),  # vth << 6, vth < 2^17 (loihi.md §1.2)
        bias=Mantissa(13, signed=True, min_exp=0, max_exp=7),  # bias_mant << bias_exp (loihi.md §1.2)
        gain=Mantissa(1, signed=False, min_exp=6, max_exp=30),  # 2^(6 + weight_exp) (loihi.md §2.1)
    ),
    weight_bits=8,  # 8-bit mantissa; mixed signs go to Lava as 2w with weight_exp −1 (loihi.md §2.1, §7.6)
    input_shift=6,  # act_shift: u receives a_in << 6 (loihi.md §1.2, §1.3)
    synapse_bias=False,  # Dense and Conv have no bias; the LIF adds bias to v (loihi.md §2, §7.5 item 10)
    bias_to_neuron=True,
    current="always",  # u always exists; du = 4095 makes it memoryless (loihi.md §7.2)
    input_bits=8,  # graded spikes: Dense/Conv compute W @ payload (loihi.md §2.1, §2.3), "typically 8 bits" (§5)
)
"""Lava's fixed-point LIF, Dense and Conv, as Lava processes built directly hold them."""

Format = Literal["netx", "lava"]


def pipeline_spec(fmt: Format) -> QuantSpec:
    """The formats the loihi pipeline quantizes to. Both take the power-of-two scale wherever it is
    exact (an integer-valued model then reaches Lava unchanged). A NetX file fixes the neuron's
    bias_exp at 6 (`hdf5.py: get_neuron_params`, docs/targets/netx.md §3), so its biases are
    multiples of 2^6 with a 13-bit mantissa; Lava processes built by snnc set bias_exp per neuron."""
    arith = LOIHI.arithmetic
    if fmt == "netx":
        arith = dataclasses.replace(arith, name="loihi-netx", bias=Mantissa(13, signed=True, min_exp=6, max_exp=6))
    return dataclasses.replace(LOIHI, name=arith.name, arithmetic=arith, lossless_scale=True)


# --- what Lava's fixed-point LIF computes (loihi.md §1.3, §7) ------------------------------------

LAVA_LIF = NeuronFeatures(
    "Lava's LIF",
    resets=frozenset({"zero"}),  # v[s] = 0, u kept; no subtractive reset in any Lava LIF (loihi.md §7.1 item 2)
    reset_timings=frozenset({"same_step"}),  # the reset follows the spike in the same run_spk (loihi.md §1.3)
    fire_ops=frozenset({"gt"}),  # s = v > vth << 6 (loihi.md §1.3, §7.1 item 1)
    spikes=frozenset({"single", "none"}),  # s_out is 0/1; "none": NetX's never-firing read-out (netx.md §3)
    voltage_first=False,  # v adds the u' of the same step (loihi.md §1.3, §7.2 item 3)
    v_min=False,  # v only saturates at −(2^23 − 1) (loihi.md §1.3)
    late_input=False,  # every input enters u through a_in (loihi.md §3.1)
    v_reset=False,  # reset to 0 only (loihi.md §7.1 item 2)
    initial_state=False,  # LIFReset zeroes u and v before each sample (netx.md §5)
    per_channel_threshold=False,  # vth is one scalar per LIF process (loihi.md §1.1); biases may differ
)
"""The Neuron switches Lava's fixed-point LIF (and so Loihi through NetX) computes exactly."""


# --- chip resources (loihi.md §5) ---------------------------------------------------------------

Status = Literal["published", "lava-source", "inferred"]


@dataclass(frozen=True)
class Limit:
    """One resource limit: its value, unit, how we know it, and where it comes from."""

    value: int
    unit: str
    status: Status
    source: str

    def cite(self) -> str:
        return f"{self.status}: {self.source}"


@dataclass(frozen=True)
class ChipResources:
    neurons_per_core: Limit
    synaptic_memory_per_core: Limit  # bits
    synapse_bits: Limit  # bits one stored synapse occupies
    fan_in_axons_per_core: Limit
    fan_out_axons_per_core: Limit
    cores_per_chip: Limit
    weight_bits: Limit
    state_bits: Limit
    threshold_bits: Limit
    bias_mantissa_bits: Limit
    decay_bits: Limit
    max_delay: Limit
    graded_spike_bits: Limit


LOIHI2 = ChipResources(
    neurons_per_core=Limit(
        8192,
        "neurons",
        "inferred",
        "1,048,576 neurons per chip (Intel Loihi 2 brief) over 128 cores; real capacity depends on the "
        "state bytes per neuron (docs/targets/loihi.md §5)",
    ),
    synaptic_memory_per_core=Limit(
        128 * 1024 * 8,
        "bits",
        "inferred",
        "Loihi 1's 128 KB of synaptic state per core (Davies et al. 2018, p.89); Loihi 2 has 192 KB per core "
        "shared flexibly between synapses and neuron state (Intel brief), so 128 KB is a budget, not a published "
        "figure (loihi.md §5)",
    ),
    synapse_bits=Limit(
        8,
        "bits",
        "inferred",
        "one 8-bit weight mantissa per stored synapse (Lava Dense precision=8, loihi.md §2.1); encoding "
        "overhead is not published",
    ),
    fan_in_axons_per_core=Limit(
        4096,
        "axons",
        "inferred",
        "Loihi 1's N_axin = 4,096 input axons per core (Davies et al. 2018, p.89), a conservative proxy: "
        "Loihi 2 publishes none (loihi.md §5)",
    ),
    fan_out_axons_per_core=Limit(
        4096,
        "axons",
        "inferred",
        "Loihi 1's N_axout = 4,096 output axons per core (Davies et al. 2018, p.89), as for fan-in (loihi.md §5)",
    ),
    cores_per_chip=Limit(
        120,
        "cores",
        "inferred",
        "128 neuromorphic cores per chip (published, Intel brief); Lava plans 120 usable ones "
        "(NUM_VIRTUAL_CORES_L3 in lava magma/compiler/subcompilers/constants.py; loihi.md §5)",
    ),
    weight_bits=Limit(8, "bits", "lava-source", "8-bit weight mantissa, Lava Dense clip_weights (loihi.md §2.1)"),
    state_bits=Limit(24, "bits", "lava-source", "u, v: 24-bit state of the bit-accurate LIF (loihi.md §1.2, §1.3)"),
    threshold_bits=Limit(
        17, "bits", "published", "vth: unsigned 17-bit mantissa << 6 (Dey & Dimitrov 2022; loihi.md §5)"
    ),
    bias_mantissa_bits=Limit(
        13, "bits", "lava-source", "bias_mant: signed 13-bit mantissa, bias_exp 0..7 (LIF docstring, loihi.md §1.2)"
    ),
    decay_bits=Limit(12, "bits", "published", "du, dv: 12-bit decays (Dey & Dimitrov 2022; loihi.md §1.2, §5)"),
    max_delay=Limit(
        62,
        "steps",
        "lava-source",
        "6-bit synaptic delay field: DelayDense accepts 0..63 (loihi.md §2.1), NetX clamps to 62 "
        "(hdf5.py: create_dense, netx.md §2)",
    ),
    graded_spike_bits=Limit(
        24,
        "bits",
        "lava-source",
        "graded payloads are int32 with precision 24 in Lava's fixed-point Conv and GradedVec "
        "(loihi.md §2.3); Loihi 2 allows up to 32-bit payloads (Intel brief)",
    ),
)
