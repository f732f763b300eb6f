"""Speck's hardware rules: each one documented here (`RULES`) and checked by one small function
(`CHECKS`), every limit read from spec.py, every violation reported (never only the first).

The checks run on the lowered graph (the speck pipeline's output). Where an earlier stage refused
the model (e.g. quantization), they still run on what the pipeline left, so `snnc check` lists
every problem at once; the checks that need integers (thresholds) then wait for a quantized graph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from snnc.backends.speck import spec
from snnc.backends.speck.grouping import Layer, Network, group
from snnc.backends.speck.placement import LARGEST, Memory, Placement, capacity_table, clog2, place
from snnc.diagnostics import Diagnostic, Severity
from snnc.diagnostics.rules import Rule
from snnc.ir.graph import Graph
from snnc.ir.neuron_features import unsupported
from snnc.ir.ops import Neuron
from snnc.ir.types import Count, Spike

Check = Callable[[Graph, Any], Iterator[Diagnostic]]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


@functools.lru_cache(maxsize=8)
def network(graph: Graph) -> Network:
    """The grouping of `graph` into layers (cached: every check reads it)."""
    return group(graph)


def placement(graph: Graph, options: Any) -> Placement | None:
    """sinabs' assignment, with the user's valid fixed cores; None if the override is unusable."""
    net = network(graph)
    override = options.cores or {}
    if _override_problems(net, override):
        return None
    return place(net, _resolved(net, override))


def _error(rule: str, message: str, node: str | None, hint: str, measured: Any = None, limit: Any = None, **kw):
    return Diagnostic(rule, message, node=node, hint=hint, measured=measured, limit=limit, **kw)


# --- structure --------------------------------------------------------------------------------


@check
def structure(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    """SPECK-OP-UNSUPPORTED, SPECK-LAYER-STRUCTURE, SPECK-RECURRENCE, SPECK-DVS-POOLING: what the
    grouping into cores found (grouping.py)."""
    yield from network(graph).problems


@check
def input_events(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for node in graph.inputs:
        if not isinstance(node.type.dtype, (Spike, Count)):
            yield _error(
                "SPECK-INPUT-EVENTS",
                f"the input holds {node.type.dtype} values; Speck's input is events (DVS pixels or host spikes)",
                node.name,
                "feed events: load the model with --input-dtype spike, or leave the input float (read as counts)",
                measured=str(node.type.dtype),
                limit="spike or count",
            )


@check
def input_pooling(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    stage = network(graph).input
    if stage is None or not stage.pools:
        return
    pooling = stage.pooling
    if not (options.dvs_input or stage.dvs_layer):
        yield _error(
            "SPECK-INPUT-POOLING",
            f"the input is pooled {pooling[0]}x{pooling[1]} before the first layer; only the DVS layer pools "
            "events before a core (sinabs: a network may not start with pooling unless a DVS layer absorbs it)",
            stage.pools[0].name,
            "compile with --dvs-input (dvs_input=True) if the input comes from the sensor, or pool after a layer",
        )
    bad = [p for p in pooling if p not in spec.DVS_POOL_SIZES.value]
    for p in stage.pools:
        if p.op.stride != p.op.kernel or any(p.op.padding):
            yield _pool_window(p)
    if bad:
        yield _error(
            "SPECK-DVS-POOLING",
            f"the DVS layer pools {pooling[0]}x{pooling[1]}; it pools by 1, 2 or 4 on each axis",
            stage.pools[0].name,
            "pool the input by 1, 2 or 4 per axis",
            measured=list(pooling),
            limit=list(spec.DVS_POOL_SIZES.value),
        )


@check
def dvs_size(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    stage = network(graph).input
    if stage is None or not (options.dvs_input or stage.dvs_layer):
        return
    shape = stage.node.type.shape
    c, h, w = shape if len(shape) == 3 else (0, 0, 0)
    limit = spec.DVS_SIZE.value
    if len(shape) != 3 or c > spec.DVS_CHANNELS.value or h > limit or w > limit:
        yield _error(
            "SPECK-DVS-SIZE",
            f"the DVS input is {'x'.join(map(str, shape))}; the sensor gives at most "
            f"{spec.DVS_CHANNELS.value}x{limit}x{limit} (polarities x height x width)",
            stage.node.name,
            "crop or pool the sensor image to at most 128x128 with 1 or 2 channels",
            measured=list(shape),
            limit=[spec.DVS_CHANNELS.value, limit, limit],
        )


# --- neurons ----------------------------------------------------------------------------------


QUANTIZER_FEATURES = {"leak": True, "current": True}
"""Reported by quantization (QUANT-UNSUPPORTED, from the same NeuronFeatures), not again here."""


@check
def neuron_features(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    decay_one = graph.arithmetic.decay_one if graph.arithmetic is not None else None
    features = replace(spec.NEURON, **QUANTIZER_FEATURES)
    for layer in network(graph).layers:
        reasons = unsupported(layer.neuron.op, features, decay_one=decay_one)  # type: ignore[arg-type]
        if reasons:
            yield _error(
                "SPECK-NEURON",
                f"Speck's IAF neuron cannot run this neuron: {'; '.join(reasons)}",
                layer.neuron.name,
                "use an integrate-and-fire neuron firing on v >= threshold, one threshold per layer, reset to 0 or "
                "by subtraction (sinabs IAFSqueeze, SpikingJelly IFNode)",
            )


@check
def neuron_scalars(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    """One threshold_low per core, one leak word (bias) per channel."""
    for layer in network(graph).layers:
        op: Neuron = layer.neuron.op  # type: ignore[assignment]
        shape = layer.neuron.type.shape
        if op.v_min is not None and np.ptp(op.v_min) != 0:
            yield _error(
                "SPECK-NEURON-SCALAR",
                f"v_min differs between neurons ({np.unique(op.v_min).size} values); a core has one threshold_low",
                layer.neuron.name,
                "train with one min_v_mem for the whole layer",
                measured=np.unique(op.v_min).size,
                limit=1,
            )
        bias = np.asarray(op.bias)
        per_channel = bias.reshape(-1, *([1] * (len(shape) - 1))) if bias.ndim == 1 else bias
        rows = np.broadcast_to(per_channel, shape).reshape(shape[0], -1)
        if np.any(np.ptp(rows, axis=1) != 0):
            yield _error(
                "SPECK-NEURON-SCALAR",
                "the neuron bias differs within a channel; a core has one leak word per output channel",
                layer.neuron.name,
                "use one bias per channel (a convolution's bias)",
                measured=int(np.ptp(rows, axis=1).astype(bool).sum()),
                limit=0,
            )


@check
def vmin_unset(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for layer in network(graph).layers:
        node = layer.neuron
        if node.op.v_min is not None:  # type: ignore[attr-defined]
            continue
        sinabs = (node.origin or "").startswith("sinabs")
        if sinabs:
            yield _error(
                "SPECK-VMIN-UNSET",
                "min_v_mem is None: sinabs then scales the lower threshold -32768 into 16 bits, which quantizes "
                "weights below 0.5 to 0 (docs/targets/speck.md §3.3); snnc refuses to write that",
                node.name,
                "set min_v_mem, e.g. -1.0 as sinabs.from_model does, or the threshold's negative",
            )
        else:
            yield _error(
                "SPECK-VMIN-UNSET",
                "this neuron has no lower bound; on chip the membrane saturates at threshold_low = -32768",
                node.name,
                "give the neuron a lower bound (v_min) to decide where it stops",
                severity=Severity.WARNING,
            )


@check
def threshold_low(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for layer in network(graph).layers:
        op: Neuron = layer.neuron.op  # type: ignore[assignment]
        if op.state_format is None or op.v_min is None:
            continue
        low = int(np.max(op.v_min))
        if low > spec.THRESHOLD_LOW_MAX.value:
            yield _error(
                "SPECK-THRESHOLD-LOW",
                f"the lower bound quantizes to threshold_low = {low}; it must be at most "
                f"{spec.THRESHOLD_LOW_MAX.value} (0 is a known silicon bug)",
                layer.neuron.name,
                "use a negative min_v_mem that stays below 0 after quantization, e.g. the threshold's negative",
                measured=low,
                limit=spec.THRESHOLD_LOW_MAX.value,
            )


# --- per layer shapes -------------------------------------------------------------------------


def _conv_label(layer: Layer) -> str:
    return "a linear layer, as a convolution over its whole input map," if "Linear" in (layer.conv.origin or "") else ""


@check
def kernel(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for layer in network(graph).layers:
        kh, kw = layer.conv.op.kernel  # type: ignore[attr-defined]
        via = _conv_label(layer)
        if kh != kw:
            yield _error(
                "SPECK-KERNEL-SQUARE",
                f"{via or 'the'} kernel is {kh}x{kw}; Speck's kernels are square",
                layer.name,
                "use a square kernel" + (" (a square input map before the linear layer)" if via else ""),
                measured=[kh, kw],
            )
        limit = spec.MAX_KERNEL.value
        if max(kh, kw) > limit:
            yield _error(
                "SPECK-KERNEL-SIZE",
                f"{via or 'the'} kernel is {kh}x{kw}; Speck's kernels are at most {limit}x{limit}",
                layer.name,
                "pool or stride before the linear layer so its input map is at most 16x16"
                if via
                else "use a kernel of at most 16x16",
                measured=max(kh, kw),
                limit=limit,
            )


@check
def stride_padding(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for layer in network(graph).layers:
        op = layer.conv.op
        strides = spec.STRIDES.value
        if any(s not in strides for s in op.stride):  # type: ignore[attr-defined]
            yield _error(
                "SPECK-STRIDE",
                f"stride {op.stride}; Speck strides are {', '.join(map(str, strides))} per axis",  # type: ignore[attr-defined]
                layer.name,
                "use a stride of 1, 2, 4 or 8",
                measured=list(op.stride),  # type: ignore[attr-defined]
                limit=list(strides),
            )
        if max(op.padding) > spec.MAX_PADDING.value:  # type: ignore[attr-defined]
            yield _error(
                "SPECK-PADDING",
                f"padding {op.padding}; Speck pads at most {spec.MAX_PADDING.value} per side",  # type: ignore[attr-defined]
                layer.name,
                "use padding of at most 7",
                measured=max(op.padding),  # type: ignore[attr-defined]
                limit=spec.MAX_PADDING.value,
            )
        if any(d != 1 for d in op.dilation):  # type: ignore[attr-defined]
            yield _error(
                "SPECK-DILATION",
                f"dilation {op.dilation}; Speck has no dilated convolution (samna has no such field)",  # type: ignore[attr-defined]
                layer.name,
                "use dilation 1 (a larger kernel with zeros is exact, memory permitting)",
                measured=list(op.dilation),  # type: ignore[attr-defined]
                limit=[1, 1],
            )
        if op.groups != 1:  # type: ignore[attr-defined]
            yield _error(
                "SPECK-GROUPS",
                f"groups={op.groups}; Speck's kernel memory holds a full in x out block (no grouped or depthwise "  # type: ignore[attr-defined]
                "convolution)",
                layer.name,
                "use groups=1 (a block-diagonal weight is exact, memory permitting)",
                measured=op.groups,  # type: ignore[attr-defined]
                limit=1,
            )


@check
def sizes(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    for layer in network(graph).layers:
        f, ho, wo = layer.conv.type.shape
        if f > spec.MAX_CHANNELS.value:
            yield _error(
                "SPECK-CHANNELS",
                f"{f} output channels; a core has at most {spec.MAX_CHANNELS.value}",
                layer.name,
                f"reduce out_channels to at most {spec.MAX_CHANNELS.value}",
                measured=f,
                limit=spec.MAX_CHANNELS.value,
            )
        h, w = layer.in_shape[-2:]
        if max(h, w) > spec.MAX_INPUT_SIZE.value:
            yield _error(
                "SPECK-INPUT-SIZE",
                f"the layer reads a {h}x{w} map; a core reads at most "
                f"{spec.MAX_INPUT_SIZE.value}x{spec.MAX_INPUT_SIZE.value}",
                layer.name,
                "pool before this layer",
                measured=[h, w],
                limit=spec.MAX_INPUT_SIZE.value,
            )
        if max(ho, wo) > spec.MAX_NEURON_MAP.value:
            yield _error(
                "SPECK-NEURON-MAP",
                f"the convolution's output map is {ho}x{wo}; a core's neurons form at most "
                f"{spec.MAX_NEURON_MAP.value}x{spec.MAX_NEURON_MAP.value}",
                layer.name,
                "use a stride of 2 or pool before this layer",
                measured=[ho, wo],
                limit=spec.MAX_NEURON_MAP.value,
            )


# --- destinations -----------------------------------------------------------------------------


def _pool_window(node) -> Diagnostic:
    op = node.op
    return _error(
        "SPECK-POOL-WINDOW",
        f"sum pooling with kernel {op.kernel}, stride {op.stride}, padding {op.padding}; Speck pools "
        "non-overlapping windows (stride = kernel, no padding)",
        node.name,
        "use stride equal to the kernel and no padding",
        measured={"kernel": list(op.kernel), "stride": list(op.stride), "padding": list(op.padding)},
    )


@check
def pooling(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for layer in network(graph).layers:
        for d in layer.destinations:
            for p in d.pools:
                if p.name not in seen and (p.op.stride != p.op.kernel or any(p.op.padding)):
                    seen.add(p.name)
                    yield _pool_window(p)
            if not d.pools:
                continue
            py, px = d.pooling
            where = d.pools[-1].name
            if py != px:
                yield _error(
                    "SPECK-POOL-SQUARE",
                    f"{layer.name} pools {py}x{px} towards {d.layer or 'the output'}; a destination pools squarely",
                    where,
                    "pool by the same size on both axes",
                    measured=[py, px],
                )
            elif py not in spec.POOL_SIZES.value:
                yield _error(
                    "SPECK-POOL-SIZE",
                    f"{layer.name} pools {py}x{px} towards {d.layer or 'the output'} (the product of its pools); "
                    f"a destination pools by {', '.join(map(str, spec.POOL_SIZES.value))}",
                    where,
                    "pool by 1, 2 or 4 between two layers",
                    measured=py,
                    limit=list(spec.POOL_SIZES.value),
                )
            _, ho, wo = layer.conv.type.shape
            if ho % py or wo % px:
                yield _error(
                    "SPECK-POOL-REMAINDER",
                    f"pooling the {ho}x{wo} map by {py}x{px} leaves a remainder; sinabs drops the last "
                    "rows/columns, what the chip does with their events is not documented",
                    where,
                    "choose sizes that the pooling divides",
                    severity=Severity.WARNING,
                    measured=[ho, wo],
                    limit=[py, px],
                )
            if d.layer is None:
                yield _error(
                    "SPECK-EXIT-POOLING",
                    f"the output is {layer.name}'s events pooled {py}x{px}; the chip's monitor shows the events "
                    "before pooling, so the host must pool them",
                    where,
                    "read the output before pooling, or pool the monitored events on the host",
                    severity=Severity.WARNING,
                )


@check
def fanout(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    net = network(graph)
    limit = spec.MAX_DESTINATIONS.value
    for layer in net.layers:
        targets = layer.to_layers
        if len(targets) > limit:
            yield _error(
                "SPECK-FANOUT",
                f"{layer.name} sends its events to {len(targets)} layers ({', '.join(d.layer for d in targets)}); "  # type: ignore[misc]
                f"a core has {limit} destinations",
                layer.neuron.name,
                "send to at most 2 layers: merge branches later, or duplicate the layer",
                measured=len(targets),
                limit=limit,
            )
    if net.input is not None and (options.dvs_input or net.input.dvs_layer) and len(net.input.layers) > limit:
        yield _error(
            "SPECK-FANOUT",
            f"the DVS layer sends to {len(net.input.layers)} layers ({', '.join(net.input.layers)}); it has {limit} "
            "destinations",
            net.input.node.name,
            "read the input with at most 2 layers",
            measured=len(net.input.layers),
            limit=limit,
        )


# --- memory and placement ---------------------------------------------------------------------


def _override_problems(net: Network, override: dict[str, int]) -> list[Diagnostic]:
    found = []
    names = _layer_keys(net)
    for key, core in override.items():
        if key not in names:
            found.append(
                _error(
                    "SPECK-CORE-OVERRIDE",
                    f"--cores names {key!r}, which is no layer; the layers are {', '.join(l.name for l in net.layers)}",
                    None,
                    "name layers by their convolution or linear module",
                )
            )
        elif not 0 <= core < spec.CORES.value:
            found.append(
                _error(
                    "SPECK-CORE-OVERRIDE",
                    f"--cores puts {key} on core {core}; the cores are 0..{spec.CORES.value - 1}",
                    names[key],
                    "pick a core from 0 to 8",
                    measured=core,
                    limit=[0, spec.CORES.value - 1],
                )
            )
    cores = list(override.values())
    for core in sorted({c for c in cores if cores.count(c) > 1}):
        keys = [k for k, c in override.items() if c == core]
        found.append(
            _error(
                "SPECK-CORE-OVERRIDE",
                f"--cores puts {', '.join(keys)} on the same core {core}",
                None,
                "one layer per core",
            )
        )
    return found


def _layer_keys(net: Network) -> dict[str, str]:
    """The names a user may give a layer by (its conv/linear node, that node's module, its neuron) → the layer."""
    keys = {}
    for layer in net.layers:
        for key in (layer.neuron.name, layer.conv.source, layer.name):
            keys[key] = layer.name
    return keys


def _resolved(net: Network, override: dict[str, int]) -> dict[str, int]:
    keys = _layer_keys(net)
    return {keys[k]: core for k, core in override.items()}


def _hint_kernel(layer: Layer) -> str:
    f, c, kh, kw = layer.conv.op.weight.shape  # type: ignore[attr-defined]
    words = 2 ** clog2(kh * kw)
    best = LARGEST.kernel // (c * words)
    fewer_inputs = LARGEST.kernel // (words * 2 ** clog2(f))
    inputs = f" or in_channels from {c} to {fewer_inputs}" if fewer_inputs >= 1 else ""
    if best >= 1:
        most = 2 ** (best.bit_length() - 1)
        return f"reduce out_channels from {f} to {most}{inputs} (kernel words count out_channels rounded up to 2^n)"
    return f"reduce in_channels from {c} or the kernel {kh}x{kw}"


def _hint_neuron(layer: Layer) -> str:
    f, ho, wo = layer.conv.type.shape
    cells = 2 ** (clog2(ho) + clog2(wo))
    most = LARGEST.neuron // cells
    fewer = f" or out_channels from {f} to {most}" if most >= 1 else ""
    return (
        f"pool or stride before it so its {ho}x{wo} map (counted as {2 ** clog2(ho)}x{2 ** clog2(wo)}) shrinks{fewer}"
    )


@check
def memory(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    net = network(graph)
    override = options.cores or {}
    yield from _override_problems(net, override)
    if len(net.layers) > spec.CORES.value:
        yield _error(
            "SPECK-CORES",
            f"the network has {len(net.layers)} layers; Speck has {spec.CORES.value} cores, one layer each",
            net.layers[spec.CORES.value].name,
            "merge or remove layers (a core runs one conv → IAF → pooling)",
            measured=len(net.layers),
            limit=spec.CORES.value,
        )
        return
    placed = placement(graph, options)
    if placed is None:
        return
    alone = True
    for layer in net.layers:
        need = placed.memory[layer.name]
        found = list(_memory_problems(layer, need))
        alone &= not found
        yield from found
        core = placed.cores[layer.name]
        if core is not None and not need.fits(spec.capacities()[core]):
            yield _error(
                "SPECK-CORE-OVERRIDE",
                f"--cores puts {layer.name} on core {core}, which it does not fit ({_words(need)}; core {core} has "
                f"{_words(spec.capacities()[core])})",
                layer.name,
                f"pick one of the cores it fits: {', '.join(map(str, placed.fits[layer.name])) or 'none'}",
            )
    if alone and not placed.complete:
        unplaced = [name for name, core in placed.cores.items() if core is None]
        yield _error(
            "SPECK-MEMORY-ASSIGNMENT",
            f"every layer fits some core, but no assignment gives each its own: {', '.join(unplaced)} find no free "
            f"core\n{capacity_table(placed)}",
            unplaced[0],
            "make a layer smaller so that it fits more cores (kernel memory is largest on cores 5 and 6, neuron "
            "memory on cores 0-2)",
            measured={name: placed.memory[name].as_dict() for name in placed.cores},
            limit=[c.__dict__ for c in spec.capacities()],
        )
    for layer in net.layers:
        core = placed.cores[layer.name]
        if core is not None:
            need = placed.memory[layer.name]
            yield Diagnostic(
                "SPECK-PLACEMENT",
                f"core {core}: {_words(need)} of {_words(spec.capacities()[core])}; fits cores "
                f"{', '.join(map(str, placed.fits[layer.name]))}",
                node=layer.name,
                severity=Severity.INFO,
                measured={"core": core, **need.as_dict()},
                limit=spec.capacities()[core].__dict__,
            )


def _words(m: Memory | spec.Capacity) -> str:
    return f"kernel {m.kernel:,}, neuron {m.neuron:,}, bias {m.bias:,} words"


def _memory_problems(layer: Layer, need: Memory) -> Iterator[Diagnostic]:
    """Why a layer fits no core: one memory too large for every core, or no core holding all three."""
    if need.kernel > LARGEST.kernel:
        yield _error(
            "SPECK-MEMORY-KERNEL",
            f"kernel memory {need.kernel:,} words > {LARGEST.kernel:,} on every core",
            layer.name,
            _hint_kernel(layer),
            measured=need.kernel,
            limit=LARGEST.kernel,
        )
    if need.neuron > LARGEST.neuron:
        yield _error(
            "SPECK-MEMORY-NEURON",
            f"neuron memory {need.neuron:,} words > {LARGEST.neuron:,} on every core",
            layer.name,
            _hint_neuron(layer),
            measured=need.neuron,
            limit=LARGEST.neuron,
        )
    if need.bias > LARGEST.bias:
        yield _error(
            "SPECK-MEMORY-BIAS",
            f"bias memory {need.bias:,} words > {LARGEST.bias:,} on every core",
            layer.name,
            "reduce out_channels to 1024 or drop the bias",
            measured=need.bias,
            limit=LARGEST.bias,
        )
    fits_each = need.kernel <= LARGEST.kernel and need.neuron <= LARGEST.neuron and need.bias <= LARGEST.bias
    if fits_each and not any(need.fits(c) for c in spec.capacities()):
        yield _error(
            "SPECK-MEMORY-PAIRING",
            f"{_words(need)}: no core holds both (cores with kernel memory for it have less neuron memory)\n"
            + "\n".join(f"  core {c.core}: {_words(c)}" for c in spec.capacities()),
            layer.name,
            f"{_hint_kernel(layer)}; or {_hint_neuron(layer)}",
            measured=need.as_dict(),
        )


RULES = (
    Rule(
        "SPECK-OP-UNSUPPORTED",
        "the network uses an operation Speck has no hardware for",
        "Speck's cores run Conv2d → IAF → sum pooling, nothing else (docs/targets/speck.md §2.2). Linear "
        "layers run as convolutions, average pooling as sum pooling with the next weights rescaled, "
        "BatchNorm folded into the layer before it; max pooling, multiplications, concatenation, "
        "ReLU and other ops have no counterpart. Replace the operation or convert the network first.",
        "sinabs connectivity_specs.py::SupportedNodeTypes",
    ),
    Rule(
        "SPECK-LAYER-STRUCTURE",
        "a node does not fit the conv → IAF → pooling pipeline of a core",
        "Each core convolves the events it receives, integrates them in one IAF neuron per output and "
        "sends the spikes, each destination with its own sum pooling, to up to two cores. A convolution "
        "feeding anything but one IAF, a neuron not fed by a convolution, a layer adding raw input events "
        "to other layers' events, or several graph inputs cannot be placed. Restructure as the message says.",
        "sinabs connectivity_specs.py::VALID_SINABS_EDGE_TYPES (speck.md §2.2)",
    ),
    Rule(
        "SPECK-RECURRENCE",
        "the network is recurrent",
        "Speck (and sinabs' DynapcnnNetwork) run feed-forward networks. A connection back to an earlier "
        "layer is possible in hardware but can deadlock the chip and is not supported. Remove it.",
        "sinabs faqs/available_network_arch.md; nir_graph_extractor.py (self loops, cycles)",
    ),
    Rule(
        "SPECK-INPUT-EVENTS",
        "the network's input is not events",
        "Speck receives events: pixel events of its DVS or spikes sent by the host, each to one input "
        "neuron. A real-valued or integer input has no way onto the chip. Feed spike or count input "
        "(a float input is read as counts by the speck pipeline).",
    ),
    Rule(
        "SPECK-INPUT-POOLING",
        "the input is pooled before the first layer without the DVS layer",
        "Only the DVS pre-processing layer pools events before a core; host events go straight to a "
        "core. sinabs refuses a network that starts with pooling unless a DVS layer absorbs it. Compile "
        "with --dvs-input if the input comes from the sensor, or pool after the first layer.",
        "sinabs dynapcnn_layer_utils.py::consolidate_dvs_pooling (speck.md §2.5)",
    ),
    Rule(
        "SPECK-DVS-POOLING",
        "the DVS layer's pooling is not 1, 2 or 4 per axis, or differs between its destinations",
        "The DVS layer sum-pools by 1, 2 or 4 on each axis (x and y may differ), once for all its "
        "destinations. Pool the input by those sizes, once, before it branches.",
        spec.DVS_POOL_SIZES.cite(),
    ),
    Rule(
        "SPECK-DVS-SIZE",
        "the DVS input is larger than the sensor",
        "Speck's sensor has 128x128 pixels and 2 polarities (1 when merged). A larger input cannot come "
        "from it; sinabs does not check this. Crop or pool the input to the sensor's size.",
        spec.DVS_SIZE.cite(),
    ),
    Rule(
        "SPECK-NEURON",
        "a neuron uses a feature Speck's IAF does not have",
        "A core's neuron integrates, fires when v >= threshold_high, and resets to 0 or subtracts the "
        "threshold in the same update; it has no leak (except a constant bias per slow-clock tick), no "
        "synaptic current and no second input. Leak and current are refused by quantization "
        "(QUANT-UNSUPPORTED); this rule names the other switches. Use sinabs IAFSqueeze or SpikingJelly IFNode.",
        "sinabs chips/dynapcnn.py (return_to_zero); [DS §3.2.4.6] (speck.md §4)",
    ),
    Rule(
        "SPECK-NEURON-SCALAR",
        "a layer's threshold or lower bound differs between neurons",
        "A core holds one threshold_high and one threshold_low for all its neurons (samna CNNLayerConfig; "
        "sinabs calls int() on them). Train with one threshold and one min_v_mem per layer.",
        "[DS §3.2.4.4]; sinabs chips/dynapcnn.py::get_dynapcnn_layer_config_dict (speck.md §2.1)",
    ),
    Rule(
        "SPECK-VMIN-UNSET",
        "a neuron has no lower bound (sinabs min_v_mem=None)",
        "sinabs quantizes a layer whose min_v_mem is None as if the lower bound were -32768 in float units, "
        "which forces a scale of at most 1: weights below 0.5 become 0 and small thresholds 0 (speck.md "
        "§3.3, §8). snnc refuses to write such a sinabs model (an error). For other libraries' neurons, "
        "which have no lower bound at all, the chip's membrane saturates at threshold_low = -32768 "
        "(a warning). Set min_v_mem (sinabs.from_model uses -1.0).",
        "sinabs chips/dynapcnn.py (threshold_low = -2^15); discretize.py",
    ),
    Rule(
        "SPECK-THRESHOLD-LOW",
        "a layer's lower bound quantizes to 0 or above",
        "threshold_low must be negative: 0 is a known silicon bug (use -1), and a positive bound would "
        "clamp every membrane above zero. Use a negative min_v_mem whose quantized value stays below 0.",
        spec.THRESHOLD_LOW_MAX.cite(),
    ),
    Rule(
        "SPECK-KERNEL-SQUARE",
        "a kernel is not square",
        "samna's kernel_size is one number: kernels are square (sinabs raises for others). A linear "
        "layer becomes a convolution whose kernel is its whole input map, so that map must be square.",
        "samna CNNLayerConfig.dimensions.kernel_size; sinabs chips/dynapcnn.py",
    ),
    Rule(
        "SPECK-KERNEL-SIZE",
        "a kernel is larger than 16x16",
        "Speck's kernels are at most 16x16. sinabs does not check it: a linear layer on a 17x17 map "
        "silently becomes a 17x17 kernel (speck.md §8). Use smaller kernels, or pool before a linear layer.",
        spec.MAX_KERNEL.cite(),
    ),
    Rule(
        "SPECK-STRIDE",
        "a stride is not 1, 2, 4 or 8",
        "Speck's convolution strides are 1, 2, 4 or 8 per axis; sinabs does not check it. Use one of them.",
        spec.STRIDES.cite(),
    ),
    Rule(
        "SPECK-PADDING",
        "padding is larger than 7",
        "Speck pads a convolution by 0 to 7 per axis; sinabs does not check it. Use at most 7.",
        spec.MAX_PADDING.cite(),
    ),
    Rule(
        "SPECK-DILATION",
        "a convolution is dilated",
        "samna has no dilation field: sinabs uses dilation for "
        "shapes but never writes it, so the chip would convolve undilated. Use dilation 1.",
        "samna CNNLayerConfig (no dilation field); speck.md §2.1 (inferred)",
    ),
    Rule(
        "SPECK-GROUPS",
        "a convolution is grouped or depthwise",
        "A core's kernel memory always holds a full "
        "in x out block; samna has no groups field. Use groups=1 (a block-diagonal weight computes the same).",
        "speck.md §2.1 (inferred)",
    ),
    Rule(
        "SPECK-CHANNELS",
        "a layer has more than 1024 output channels",
        "A core has at most 1024 output features (its neurons' channel address and its bias memory "
        "both end there). Reduce out_channels to 1024 or split the layer.",
        spec.MAX_CHANNELS.cite(),
    ),
    Rule(
        "SPECK-INPUT-SIZE",
        "a layer reads a map larger than 128x128",
        "A core's input is at most 128x128; sinabs does not check it. Pool before the layer.",
        spec.MAX_INPUT_SIZE.cite(),
    ),
    Rule(
        "SPECK-NEURON-MAP",
        "a convolution's output map is larger than 64x64",
        "A core's neurons form at most "
        "a 64x64 map per channel (the conv output, before pooling). Use a stride or pool before the layer.",
        spec.MAX_NEURON_MAP.cite(),
    ),
    Rule(
        "SPECK-POOL-WINDOW",
        "a sum pool overlaps or pads",
        "Speck pools by remapping addresses: windows do "
        "not overlap (stride = kernel) and are not padded (sinabs raises for stride != kernel).",
        "sinabs dynapcnn_layer_utils.py::extract_pooling_from_module; [DS §2.4]",
    ),
    Rule(
        "SPECK-POOL-SQUARE",
        "a destination's pooling is not square",
        "Each destination of a core pools by one size on both axes (sinabs raises for others). Pool squarely.",
        "sinabs chips/dynapcnn.py (collapse_pair); [DS §2.4]",
    ),
    Rule(
        "SPECK-POOL-SIZE",
        "a destination pools by other than 1, 2 or 4",
        "A core's destination pools by 1, 2 "
        "or 4 (the product of chained pools counts); sinabs accepts 3 unchecked (speck.md §2.1).",
        spec.POOL_SIZES.cite(),
    ),
    Rule(
        "SPECK-POOL-REMAINDER",
        "pooling leaves a remainder of the map",
        "Shapes follow floor division "
        "(sinabs get_output_shape): pooling a 17-wide map by 2 feeds an 8-wide layer. What the chip does "
        "with the events of the last row or column is not documented. Choose sizes the pooling divides.",
        "sinabs dynapcnn_layer.py::get_output_shape (speck.md §2.3, inferred)",
    ),
    Rule(
        "SPECK-EXIT-POOLING",
        "an output is read after pooling",
        "The chip's monitor shows a core's events at "
        "their un-pooled addresses (sinabs chips/dynapcnn.py::monitor_layers warns the same), so pooling "
        "towards an output must happen on the host. snnc's simulations pool as the graph does.",
        "sinabs chips/dynapcnn.py::monitor_layers",
    ),
    Rule(
        "SPECK-FANOUT",
        "a core or the DVS layer sends to more than 2 layers",
        "Each core and the DVS layer "
        "has 2 destination slots; sinabs crashes with an IndexError on a third. Merge branches, or send to "
        "at most two layers.",
        spec.MAX_DESTINATIONS.cite(),
    ),
    Rule(
        "SPECK-CORES",
        "the network has more than 9 layers",
        "Each layer (conv → IAF → pooling) takes one of Speck's 9 cores. Use at most 9 layers.",
        spec.CORES.cite(),
    ),
    Rule(
        "SPECK-MEMORY-KERNEL",
        "a layer's kernel memory exceeds every core's",
        "Kernel memory is c·2^(clog2(kh·kw)"
        " + clog2(f)) words; the largest cores (5, 6) hold 65,536. Reduce the channels or the kernel; the hint "
        "gives the largest out_channels that fits.",
        spec.KERNEL_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-NEURON",
        "a layer's neuron memory exceeds every core's",
        "Neuron memory is "
        "f·2^(clog2(Ho) + clog2(Wo)) words; the largest cores (0-2) hold 65,536. Pool or stride before the "
        "layer, or reduce out_channels.",
        spec.NEURON_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-BIAS",
        "a layer's bias memory exceeds every core's",
        "A layer with a bias (or a folded BatchNorm) needs one leak word per output channel; every "
        "core holds 1,024. Reduce out_channels or drop the bias.",
        spec.BIAS_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-PAIRING",
        "no core holds both a layer's kernel and neuron memory",
        "Cores trade kernel "
        "memory for neuron memory (16/64, 32/32, 64/16 Ki words): a layer needing much of both fits none. "
        "The message lists every core; shrink the side the hint names.",
        spec.KERNEL_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-ASSIGNMENT",
        "every layer fits some core, but they cannot all be placed at once",
        "Layers are matched to cores as sinabs does (Edmonds-Karp, speck.md §1.3); when several layers "
        "compete for the few cores they fit, no assignment exists (sinabs: 'No valid mapping found'). The "
        "message carries each layer's needs against each core's capacity. Make a layer fit more cores.",
        "sinabs mapping.py::get_valid_mapping",
    ),
    Rule(
        "SPECK-CORE-OVERRIDE",
        "a --cores entry is unusable",
        "--cores layer=core,... (cores={...}) fixes "
        "layers to cores: the names must be layers (their conv/linear module or neuron), the cores 0..8, one "
        "layer per core, and each layer must fit its core. Unnamed layers are matched to the remaining cores.",
        "sinabs dynapcnn_network.py::_make_config (layer2core_map)",
    ),
    Rule(
        "SPECK-BANDWIDTH",
        "a core's synaptic operations per second exceed the limit on the calibration data",
        "Each input event of a core updates every output neuron whose receptive field holds it; a core "
        "above its throughput stalls and then behaves unpredictably (sinabs docs/speck/faqs/"
        "tips_for_training.md). SynSense publishes no number, so the limit is yours (--max-sops-per-core); "
        "the count is exact on the --calib data, each step lasting --seconds-per-step, and the message names the "
        "core, its layer and the worst step. Lower the input rate or the layer's fan-out (channels, kernel).",
        "user-given (speck.md §4: the bandwidth is not published)",
    ),
    Rule(
        "SPECK-CONFIG",
        "a Speck configuration file cannot be used",
        "snnc reads .speck.json files back (snnc simulate, to_samna) as untrusted input: the file's size, "
        "every field's type and range, every array's shape and the memory it implies on its core are "
        "checked before anything is built, and the cores' destinations must fit each other's shapes and "
        "form no cycle. The message names the JSON path. Use a file written by snnc compile --target speck.",
        "docs/targets/speck.md §9",
    ),
    Rule(
        "SPECK-SAMNA",
        "the configuration cannot be converted to samna's object",
        "to_samna needs SynSense's samna, which snnc never installs or requires; or the installed samna "
        "does not know a field of the file (another samna version than sinabs 3.1.3 targets). Install samna "
        "to program a chip, or hand the .speck.json to your own tools.",
    ),
    Rule(
        "SPECK-PLACEMENT",
        "where a layer is placed and how much of its core it uses",
        "One note per layer: "
        "its core, its kernel, neuron and bias words against the core's, and every core it would fit.",
        spec.KERNEL_MEMORY.cite(),
    ),
)
