"""The Loihi 2 rules: one check per rule on the lowered graph, limits from spec.py, every violation.

Each rule says where its limit comes from and whether it is published, read in Lava's source
(what Lava's fixed-point models, and so NetX on CPU, compute), or inferred by us
(docs/targets/loihi.md §5). `CHECKS` is the target's rule list (target.py); each check is
`(graph, options) -> diagnostics`, so a test can hold one rule against one graph.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np

from snnc.backends.loihi.blocks import LoihiNet, blocks, uniform
from snnc.backends.loihi.netx import dense_weight_problem
from snnc.backends.loihi.partition import Limits, Partition, partition
from snnc.backends.loihi.spec import LAVA_LIF, LOIHI, LOIHI2, pipeline_spec
from snnc.diagnostics import Diagnostic, Severity
from snnc.diagnostics.rules import Rule
from snnc.ir.graph import Graph, Node
from snnc.ir.neuron_features import EVERYTHING, unsupported
from snnc.ir.ops import Conv1d, Conv2d, Delay, Linear, Neuron

_NETX = "lava-dl 0.6.0 netx/hdf5.py, docs/targets/netx.md"
_LIF = "lava-nc 0.10.0 proc/lif/models.py (Lava source), docs/targets/loihi.md §1.3, §7"

RULES = (
    Rule(
        "LOIHI-LAYER",
        "a node has no place in a Loihi network",
        "Loihi runs layers of synapses (Lava Dense or Conv) whose output enters one LIF neuron "
        "process; sum pooling folds into the next layer or becomes a layer of its own, a Flatten "
        "is a reading order, a Delay before a dense layer is a synaptic delay. Anything else (adds, "
        "concatenations, a synapse with no neuron after it, a recurrent input, a delay before a "
        "convolution, several graph inputs) has no counterpart. Express that part of the model as "
        "synapse → neuron layers.",
        f"{_LIF}; {_NETX} §2",
    ),
    Rule(
        "LOIHI-NETX-LAYER",
        "NetX cannot hold this network's structure",
        "A NetX file is a chain: layer k reads layer k − 1, and only dense or conv layers with "
        "their neurons (pool, concat and average layers raise NotImplementedError in NetX 0.6.0). "
        "Branches (a layer read by two others) and graded pooling layers need a Lava process "
        "network: compile with --emit lava and build it with snnc.backends.loihi.to_lava.",
        f"{_NETX} §1, §5",
    ),
    Rule(
        "LOIHI-NETX-WEIGHTS",
        "NetX would change this dense layer's weights",
        "NetX re-encodes dense weights for Lava (optimize_weight_bits) and Lava's Dense clips and "
        "truncates them; exact only for weights in [-256, 254] (mixed signs), [0, 255] or "
        "[-255, 0], and an all-zero matrix crashes the loader. snnc replays both steps and refuses "
        "a layer whose weights would change. Retrain without the layer's extreme weight, or emit "
        "Lava processes (--emit lava), which encode weights exactly.",
        f"{_NETX} §4 (lava-dl utils.py optimize_weight_bits; Lava source utils/weightutils.py)",
    ),
    Rule(
        "LOIHI-RESET",
        "the neuron resets in a way Lava's LIF cannot",
        "Lava's LIF (and Loihi's) sets v to 0 when it fires and keeps u; there is no reset by "
        "subtraction, no other reset value and no neuron that fires without resetting. A "
        "subtractive reset would need a second compartment per neuron (NxTF on Loihi 1). Train "
        "with a hard reset to 0 (SpikingJelly v_reset=0, snnTorch reset_mechanism='zero' with "
        "reset_delay=False, Norse's default).",
        _LIF,
    ),
    Rule(
        "LOIHI-RESET-TIMING",
        "the neuron resets one step late",
        "Lava resets v in the step it fires. snnTorch resets at the next step from the stored "
        "membrane (reset_delay=True, its default), which Lava's LIF cannot reproduce. Train with "
        "reset_delay=False.",
        _LIF,
    ),
    Rule(
        "LOIHI-FIRE-OP",
        "the neuron fires on h >= θ, which Lava's LIF cannot express here",
        "Lava fires on v > vth·2^6. The ge-to-gt pass turns h >= θ into h > θ − 2^6 wherever the "
        "neuron's state stays on multiples of 2^6 (no decay that multiplies); a leaky neuron that "
        "fires on >= (SpikingJelly's LIFNode) has no such threshold. Use an IF neuron or a "
        "library that fires on > (snnTorch, Norse).",
        _LIF,
    ),
    Rule(
        "LOIHI-SPIKES",
        "the neuron emits several spikes per step",
        "Lava's LIF sends one 0/1 spike per step; a multi-spike neuron (sinabs' MultiSpike) has no "
        "counterpart. Use single spikes.",
        _LIF,
    ),
    Rule(
        "LOIHI-CURRENT-ORDER",
        "the neuron's voltage uses last step's current",
        "Lava's LIF updates the current u first and then adds the new u to v in the same step; a "
        "neuron whose voltage reads the previous current (input_order voltage_first) has no form "
        "in Lava. Use current_first (snnTorch Synaptic, Norse LIF).",
        _LIF,
    ),
    Rule(
        "LOIHI-V-MIN",
        "the neuron has a lower bound on its voltage",
        "Lava's LIF has no lower bound: v only saturates at -(2^23 - 1). Drop the bound "
        "(sinabs' min_v_mem) or move to a target that has one.",
        _LIF,
    ),
    Rule(
        "LOIHI-INITIAL-STATE",
        "the neuron starts from a non-zero state",
        "Lava's LIF starts every sample from u = v = 0 (LIFReset zeroes both before each sample; a "
        "NetX file has no initial state). Start from 0 (SpikingJelly v_reset=0 gives v_init 0).",
        f"{_LIF}; {_NETX} §5",
    ),
    Rule(
        "LOIHI-PER-LAYER",
        "a threshold or decay differs within one layer",
        "A Lava LIF process has one vth, one du and one dv (scalar Vars); biases may differ per "
        "neuron. Give the layer one threshold and one time constant per state, or split it.",
        f"{_LIF} (lava proc/lif/process.py: du, dv, vth are shape (1,))",
    ),
    Rule(
        "LOIHI-GAIN",
        "the neuron's input gain is not one Loihi can apply",
        "Loihi multiplies a layer's weighted sum by 2^(6 + weight_exp); a convolution (Lava's Conv "
        "ignores weight_exp) and every layer of a NetX file (NetX chooses weight_exp itself) need "
        "the gain 2^6. quantize folds the gain into the weights whenever a synapse feeds its "
        "neuron alone; a gain that varies per neuron cannot be folded.",
        "Lava source proc/dense/models.py, proc/conv/models.py; docs/targets/loihi.md §2",
    ),
    Rule(
        "LOIHI-WEIGHT-WIDTH",
        "a weight does not fit Loihi's 8-bit mantissa",
        "Loihi's weights are 8-bit signed mantissas (Lava's Dense clips to 8 bits). The graph "
        "must be quantized for loihi (snnc compile --target loihi does that).",
        LOIHI2.weight_bits.cite(),
    ),
    Rule(
        "LOIHI-STATE-WIDTH",
        "a state, threshold, bias or decay does not fit Loihi's registers",
        "Loihi's u and v are 24-bit, the threshold a 17-bit mantissa << 6, the bias a 13-bit "
        "mantissa << 0..7 and the decays 12-bit. A graph quantized for another target (or by "
        "hand) may hold values that do not fit; compile from the float model for loihi.",
        f"{LOIHI2.state_bits.cite()}; {LOIHI2.threshold_bits.cite()}; {LOIHI2.bias_mantissa_bits.cite()}; "
        f"{LOIHI2.decay_bits.cite()}",
    ),
    Rule(
        "LOIHI-DELAY",
        "a synaptic delay is longer than Loihi's delay field",
        "Loihi 2's synaptic delays are 6-bit; NetX clamps them to 62 steps (with a warning) and "
        "Lava's DelayDense refuses more than 63. Shorten the delay.",
        LOIHI2.max_delay.cite(),
    ),
    Rule(
        "LOIHI-GRADED-BITS",
        "a graded spike carries more bits than Loihi's messages",
        "A layer reading integers (a quantized real-valued input, pooled counts) receives them as "
        "graded spikes, whose payload is 24 bits in Lava's fixed-point Conv and GradedVec; an "
        "input whose range is unknown or wider does not fit. Bound the input's range.",
        LOIHI2.graded_spike_bits.cite(),
    ),
    Rule(
        "LOIHI-NEURONS-PER-CORE",
        "more neurons on one core than it holds",
        "A Loihi 2 core holds at most 8,192 neurons (inferred: 1,048,576 per chip over 128 cores; "
        "state-heavy models hold fewer). snnc places as many as the limits allow unless "
        "--neurons-per-core fixes a larger number. Lower it.",
        LOIHI2.neurons_per_core.cite(),
    ),
    Rule(
        "LOIHI-SYNAPSE-MEMORY",
        "the synapses into one core exceed its synaptic memory",
        "Every core stores the synapses into its neurons (here at 8 bits each in 128 KB). snnc "
        "gives each core as many neurons as fit; a neuron whose own synapses do not fit, or a "
        "packing fixed with --neurons-per-core, exceeds it. Prune weights or use smaller kernels.",
        f"{LOIHI2.synaptic_memory_per_core.cite()}; {LOIHI2.synapse_bits.cite()}",
    ),
    Rule(
        "LOIHI-FAN-IN",
        "one core receives from more input axons than it has",
        "A core has 4,096 input axons (Loihi 1's published figure, a proxy for Loihi 2): the "
        "distinct neurons that send to it. A neuron reading more inputs than that (a dense layer "
        "over > 4,096 inputs) cannot be placed; fold fewer pools into it, or split the layer.",
        LOIHI2.fan_in_axons_per_core.cite(),
    ),
    Rule(
        "LOIHI-FAN-OUT",
        "one core sends to more output axons than it has",
        "A core has 4,096 output axons (Loihi 1's published figure, a proxy for Loihi 2): one per "
        "neuron and destination core. snnc packs fewer neurons onto a core whose neurons reach "
        "many cores; a fixed --neurons-per-core can exceed it.",
        LOIHI2.fan_out_axons_per_core.cite(),
    ),
    Rule(
        "LOIHI-CORES-PER-CHIP",
        "one layer needs more cores than one chip has",
        "A layer spread over several chips sends its spikes across chip boundaries, which costs "
        "latency and energy (a warning). Shrink the layer, or accept the multi-chip layout.",
        LOIHI2.cores_per_chip.cite(),
    ),
    Rule(
        "LOIHI-CHIPS",
        "the network needs more chips than allowed",
        "The partition needs more cores than --max-chips chips of --cores-per-chip cores hold "
        "(default 1 chip of 120 usable cores; Kapoho Point has 8 chips). Raise --max-chips, or "
        "shrink the network.",
        LOIHI2.cores_per_chip.cite(),
    ),
)


# --- shared analyses (one per lowered graph) ------------------------------------------------------


@functools.lru_cache(maxsize=8)
def loihi_net(graph: Graph) -> LoihiNet:
    return blocks(graph)


@functools.lru_cache(maxsize=8)
def placed(graph: Graph, limits: Limits) -> Partition:
    return partition(loihi_net(graph), limits)


def limits_of(options: Any) -> Limits:
    return Limits.of(LOIHI2, packing=options.neurons_per_core, cores_per_chip=options.cores_per_chip)


def _neurons(graph: Graph) -> Iterator[Node]:
    return (n for n in graph if isinstance(n.op, Neuron))


def _spiking(node: Node) -> bool:
    return node.op.spikes != "none"


# --- structure --------------------------------------------------------------------------------------


def check_layers(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    yield from loihi_net(graph).problems


def check_netx_layers(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    if options.emit != "netx":
        return
    net = loihi_net(graph)
    hint = "compile with --emit lava (a Lava process network, snnc.backends.loihi.to_lava)"
    for b in net.blocks:
        expected = None if b.index == 0 else b.index - 1
        if b.source != expected:
            reads = "the graph input" if b.source is None else net.blocks[b.source].name
            yield Diagnostic(
                "LOIHI-NETX-LAYER",
                f"{b.name} reads {reads}, not the layer before it: a NetX file is a chain",
                node=b.name,
                hint=hint,
            )
        if b.kind == "pool":
            yield Diagnostic(
                "LOIHI-NETX-LAYER",
                "a sum pool kept as a layer of its own: NetX has no pool layer (fold-sumpool folds a pool into "
                "the next layer's weights only where that is exact; see PASS-SUMPOOL-NOT-FOLDED)",
                node=b.name,
                hint=hint,
            )


def check_netx_weights(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    if options.emit != "netx":
        return
    for b in loihi_net(graph).blocks:
        if b.kind != "dense":
            continue
        why = dense_weight_problem(b.synapse.op.weight)
        if why:
            yield Diagnostic(
                "LOIHI-NETX-WEIGHTS",
                why,
                node=b.synapse.name,
                hint="emit Lava processes (--emit lava), which encode any 8-bit weight exactly",
            )


# --- what Lava's LIF computes ----------------------------------------------------------------------


def _lost(node: Node, *switches: str) -> list[str]:
    """What `node` uses of the named NeuronFeatures `switches` that Lava's LIF lacks (one rule's
    share of `unsupported(node, LAVA_LIF)`), one phrase each."""
    features = dataclasses.replace(
        EVERYTHING, name=LAVA_LIF.name, **{switch: getattr(LAVA_LIF, switch) for switch in switches}
    )
    return unsupported(node.op, features, decay_one=LOIHI.arithmetic.decay_one)


def _feature_rule(rule: str, switches: tuple[str, ...], hint: str, why: str = ""):
    """A check reporting every neuron that uses one of `switches` beyond Lava's LIF."""

    def check(graph: Graph, options: Any) -> Iterator[Diagnostic]:
        for n in _neurons(graph):
            for phrase in _lost(n, *switches):
                yield Diagnostic(rule, phrase + why, node=n.name, hint=hint)

    check.__name__ = f"check_{rule.removeprefix('LOIHI-').lower().replace('-', '_')}"
    return check


check_reset = _feature_rule("LOIHI-RESET", ("resets", "v_reset"), "train with a hard reset to 0")
check_reset_timing = _feature_rule("LOIHI-RESET-TIMING", ("reset_timings",), "snnTorch: reset_delay=False")
check_fire_op = _feature_rule(
    "LOIHI-FIRE-OP",
    ("fire_ops",),
    "use an IF neuron, or a neuron that fires on v > threshold",
    " (ge-to-gt found no threshold for it: a decay multiplies its state)",
)
check_spikes = _feature_rule("LOIHI-SPIKES", ("spikes",), "use single spikes")
check_current_order = _feature_rule("LOIHI-CURRENT-ORDER", ("voltage_first",), "use a current-first neuron")
check_v_min = _feature_rule("LOIHI-V-MIN", ("v_min",), "drop the lower bound")
check_initial_state = _feature_rule("LOIHI-INITIAL-STATE", ("initial_state",), "start the neuron from 0")
_per_channel_threshold = _feature_rule("LOIHI-PER-LAYER", ("per_channel_threshold",), "use one threshold per layer")


def check_per_layer(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    yield from _per_channel_threshold(graph, options)
    for n in _neurons(graph):
        for name in ["v_decay"] + (["i_decay"] if n.op.has_current else []):
            value = np.asarray(getattr(n.op, name))
            if uniform(value) is None:
                yield Diagnostic(
                    "LOIHI-PER-LAYER",
                    f"{name} takes {len(np.unique(value))} values in one layer; a Lava LIF process has one du and dv",
                    node=n.name,
                    hint="use one time constant per layer",
                    measured=len(np.unique(value)),
                    limit=1,
                )


def check_gain(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for n in _neurons(graph):
        gain = np.asarray(n.op.gain)
        synapse = graph.node(n.inputs[0])
        fixed = isinstance(synapse.op, (Conv1d, Conv2d)) or options.emit == "netx"
        unit = 1 << LOIHI.input_shift
        if uniform(gain) == unit or (not fixed and uniform(gain) is not None):
            continue
        where = "its convolution ignores weight_exp" if options.emit != "netx" else "NetX chooses weight_exp itself"
        yield Diagnostic(
            "LOIHI-GAIN",
            f"input gain {int(gain.max()) if uniform(gain) is not None else 'varying per neuron'} "
            f"is not 2^6, and {where}",
            node=n.name,
            hint="let the synapse feed this neuron alone, with one gain per layer, so quantize folds it",
            measured=int(gain.max()),
            limit=unit,
        )


# --- widths ------------------------------------------------------------------------------------------


def check_weight_width(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    bits = LOIHI2.weight_bits.value
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for n in graph:
        if isinstance(n.op, (Linear, Conv1d, Conv2d)):
            w = np.asarray(n.op.weight)
            if n.op.weight_format is None or w.min() < lo or w.max() > hi or not np.issubdtype(w.dtype, np.integer):
                yield Diagnostic(
                    "LOIHI-WEIGHT-WIDTH",
                    f"weights in [{float(w.min()):g}, {float(w.max()):g}] are not {bits}-bit integers",
                    node=n.name,
                    hint="compile the float model for loihi, which quantizes it",
                    measured=[float(w.min()), float(w.max())],
                    limit=[lo, hi],
                )


def check_state_width(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    arith = graph.arithmetic
    ours = LOIHI.arithmetic
    if arith is None or (arith.voltage, arith.current, arith.decay_shift) != (ours.voltage, ours.current, 12):
        yield Diagnostic(
            "LOIHI-STATE-WIDTH",
            f"the graph computes as {arith.name if arith else 'float'}, "
            "not with Loihi's 24-bit states and 12-bit decays",
            hint="compile the float model for loihi",
        )
        return
    bias = pipeline_spec(options.emit).arithmetic.bias  # a NetX file fixes bias_exp at 6 (netx.md §3)
    for n in _neurons(graph):
        op = n.op
        checks = {
            "threshold": (ours.threshold.representable(op.threshold), ours.threshold),
            "bias": (bias.representable(op.bias), bias),
        }
        for name, (ok, fmt) in checks.items():
            if name == "threshold" and not _spiking(n):
                continue
            if not np.all(ok):
                bad = np.asarray(getattr(op, name))[~np.asarray(ok)].flat[0]
                yield Diagnostic(
                    "LOIHI-STATE-WIDTH",
                    f"{name} {int(bad)} is not a value of Loihi's {name} format {fmt}",
                    node=n.name,
                    hint="compile the float model for loihi",
                    measured=int(bad),
                    limit=str(fmt),
                )
        for name in ("v_decay", "i_decay"):
            m = getattr(op, name)
            if m is not None and (np.min(m) < 0 or np.max(m) > ours.decay_one):
                yield Diagnostic(
                    "LOIHI-STATE-WIDTH",
                    f"{name} multiplier outside 0..{ours.decay_one} (12-bit decays)",
                    node=n.name,
                    measured=[int(np.min(m)), int(np.max(m))],
                    limit=[0, ours.decay_one],
                )


def check_delay(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    limit = LOIHI2.max_delay.value
    for n in graph:
        if isinstance(n.op, Delay) and n.op.steps > limit:
            yield Diagnostic(
                "LOIHI-DELAY",
                f"delay of {n.op.steps} steps; Loihi's synaptic delays reach {limit}",
                node=n.name,
                hint=f"shorten the delay to at most {limit} steps",
                measured=n.op.steps,
                limit=limit,
            )


def check_graded_bits(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    limit = LOIHI2.graded_spike_bits.value
    for b in loihi_net(graph).blocks:
        if b.input_bits > limit:
            yield Diagnostic(
                "LOIHI-GRADED-BITS",
                f"{b.synapse.name} reads graded spikes of {b.input_bits} bits; Lava's graded messages carry {limit}",
                node=b.synapse.name,
                hint="bound the range of what it reads",
                measured=b.input_bits,
                limit=limit,
            )


# --- resources ------------------------------------------------------------------------------------


_RESOURCE_RULES = {
    "neurons": ("LOIHI-NEURONS-PER-CORE", "neurons"),
    "synaptic memory": ("LOIHI-SYNAPSE-MEMORY", "bits of synapses"),
    "fan-in": ("LOIHI-FAN-IN", "input axons"),
    "fan-out": ("LOIHI-FAN-OUT", "output axons"),
}


def _resource(what: str, graph: Graph, options: Any) -> Iterator[Diagnostic]:
    rule, unit = _RESOURCE_RULES[what]
    if loihi_net(graph).problems:
        return  # the structure is not a Loihi network: there is nothing sound to place
    for e in placed(graph, limits_of(options)).excesses:
        if e.what != what:
            continue
        cause = (
            "one neuron alone exceeds it"
            if e.single_neuron
            else f"with {options.neurons_per_core} neurons per core"
            if options.neurons_per_core
            else "no cut avoids it"
        )
        yield Diagnostic(
            rule,
            f"{e.measured} {unit} on one core of {e.layer}, limit {e.limit} ({e.cores} core(s) over; {cause})",
            node=e.layer,
            hint="lower --neurons-per-core" if options.neurons_per_core else "shrink the layer's connections",
            measured=e.measured,
            limit=e.limit,
        )


def check_neurons_per_core(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    return _resource("neurons", graph, options)


def check_synapse_memory(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    return _resource("synaptic memory", graph, options)


def check_fan_in(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    return _resource("fan-in", graph, options)


def check_fan_out(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    return _resource("fan-out", graph, options)


def check_cores_per_chip(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    if loihi_net(graph).problems:
        return
    p = placed(graph, limits_of(options))
    for layer in p.layers():
        if layer.cores > p.limits.cores_per_chip:
            yield Diagnostic(
                "LOIHI-CORES-PER-CHIP",
                f"{layer.cores} cores for one layer; a chip has {p.limits.cores_per_chip}",
                node=layer.layer,
                hint="its spikes cross chips; shrink the layer to stay on one chip",
                severity=Severity.WARNING,
                measured=layer.cores,
                limit=p.limits.cores_per_chip,
            )


def check_chips(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    if loihi_net(graph).problems:
        return
    p = placed(graph, limits_of(options))
    if p.chips > options.max_chips:
        yield Diagnostic(
            "LOIHI-CHIPS",
            f"{len(p.cores)} cores need {p.chips} chips of {p.limits.cores_per_chip} cores; "
            f"--max-chips is {options.max_chips}",
            hint="raise --max-chips, or shrink the network; with --emit lava, sum pools become layers of graded "
            "spikes, which need far fewer cores than pools folded into a NetX file's weights",
            measured=p.chips,
            limit=options.max_chips,
        )


CHECKS = (
    check_layers,
    check_netx_layers,
    check_netx_weights,
    check_reset,
    check_reset_timing,
    check_fire_op,
    check_spikes,
    check_current_order,
    check_v_min,
    check_initial_state,
    check_per_layer,
    check_gain,
    check_weight_width,
    check_state_width,
    check_delay,
    check_graded_bits,
    check_neurons_per_core,
    check_synapse_memory,
    check_fan_in,
    check_fan_out,
    check_cores_per_chip,
    check_chips,
)

STRUCTURAL = (
    check_layers,
    check_netx_layers,
    check_reset,
    check_reset_timing,
    check_spikes,
    check_current_order,
    check_v_min,
    check_initial_state,
    check_per_layer,
)
"""The rules that judge a graph quantize could not quantize (see LoihiTarget.check)."""
