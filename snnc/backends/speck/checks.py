"""Speck's hardware rules as checks: one small function per rule (`CHECKS`), every limit read from
spec.py, every violation reported (never only the first). The rules are documented in rules.py.

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
from snnc.backends.speck.lower import MONITOR_WORDS, monitor_keys
from snnc.diagnostics import Diagnostic, Severity
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


def error(rule: str, message: str, node: str | None, hint: str, measured: Any = None, limit: Any = None, **kw):
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
            yield error(
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
        yield error(
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
        yield error(
            "SPECK-DVS-POOLING",
            f"the DVS layer pools {pooling[0]}x{pooling[1]}; it pools by 1, 2 or 4 on each axis",
            stage.pools[0].name,
            "pool the input by 1, 2 or 4 per axis",
            measured=list(pooling),
            limit=list(spec.DVS_POOL_SIZES.value),
        )


@check
def input_view(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    """SPECK-CROP-FLIP-PLACEMENT on host input, SPECK-DVS-POOL-AFTER-CROP: the DVS layer pools the
    sensor's events, then cuts and mirrors the pooled map (speck.md §2.5)."""
    stage = network(graph).input
    if stage is None or not stage.views:
        return
    first = stage.views[0]
    if not (options.dvs_input or stage.dvs_layer):
        yield error(
            "SPECK-CROP-FLIP-PLACEMENT",
            f"the input is cropped or mirrored ({first.op.kind}) before the first layer; host events go straight "
            "to a core, only the DVS layer crops and mirrors",
            first.name,
            "compile with --dvs-input (dvs_input=True) if the input comes from the sensor, else crop and mirror "
            "the events on the host",
        )
    for pool in stage.chain[stage.chain.index(first) :]:
        if pool in stage.pools:
            yield error(
                "SPECK-DVS-POOL-AFTER-CROP",
                f"{pool.name} pools the input after {first.name} crops or mirrors it; the DVS layer pools first, "
                "then cuts and mirrors (sinabs refuses this too)",
                pool.name,
                "pool before the crop: give the sinabs DVSLayer pool=... instead of a pooling layer after it, "
                "and its crop in pooled coordinates",
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
        yield error(
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
            yield error(
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
            yield error(
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
            yield error(
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
            yield error(
                "SPECK-VMIN-UNSET",
                "min_v_mem is None: sinabs then scales the lower threshold -32768 into 16 bits, which quantizes "
                "weights below 0.5 to 0 (docs/targets/speck.md §3.3); snnc refuses to write that",
                node.name,
                "set min_v_mem, e.g. -1.0 as sinabs.from_model does, or the threshold's negative",
            )
        else:
            yield error(
                "SPECK-VMIN-UNSET",
                "this neuron has no lower bound; on chip the membrane saturates at threshold_low = -32768",
                node.name,
                "snnc's event-driven Speck model saturates there too, so `snnc validate --target speck` shows "
                "whether it matters; to stop the membrane higher, bound it in the model (sinabs: min_v_mem; snnc IR: "
                "Neuron.v_min, e.g. the threshold's negative)",
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
            yield error(
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
            yield error(
                "SPECK-KERNEL-SQUARE",
                f"{via or 'the'} kernel is {kh}x{kw}; Speck's kernels are square",
                layer.name,
                "use a square kernel" + (" (a square input map before the linear layer)" if via else ""),
                measured=[kh, kw],
            )
        limit = spec.MAX_KERNEL.value
        if max(kh, kw) > limit:
            yield error(
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
            yield error(
                "SPECK-STRIDE",
                f"stride {op.stride}; Speck strides are {', '.join(map(str, strides))} per axis",  # type: ignore[attr-defined]
                layer.name,
                "use a stride of 1, 2, 4 or 8",
                measured=list(op.stride),  # type: ignore[attr-defined]
                limit=list(strides),
            )
        if max(op.padding) > spec.MAX_PADDING.value:  # type: ignore[attr-defined]
            yield error(
                "SPECK-PADDING",
                f"padding {op.padding}; Speck pads at most {spec.MAX_PADDING.value} per side",  # type: ignore[attr-defined]
                layer.name,
                "use padding of at most 7",
                measured=max(op.padding),  # type: ignore[attr-defined]
                limit=spec.MAX_PADDING.value,
            )
        if any(d != 1 for d in op.dilation):  # type: ignore[attr-defined]
            yield error(
                "SPECK-DILATION",
                f"dilation {op.dilation}; Speck has no dilated convolution (samna has no such field)",  # type: ignore[attr-defined]
                layer.name,
                "use dilation 1 (a larger kernel with zeros is exact, memory permitting)",
                measured=list(op.dilation),  # type: ignore[attr-defined]
                limit=[1, 1],
            )
        if op.groups != 1:  # type: ignore[attr-defined]
            yield error(
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
            yield error(
                "SPECK-CHANNELS",
                f"{f} output channels; a core has at most {spec.MAX_CHANNELS.value}",
                layer.name,
                f"reduce out_channels to at most {spec.MAX_CHANNELS.value}",
                measured=f,
                limit=spec.MAX_CHANNELS.value,
            )
        h, w = layer.in_shape[-2:]
        if max(h, w) > spec.MAX_INPUT_SIZE.value:
            yield error(
                "SPECK-INPUT-SIZE",
                f"the layer reads a {h}x{w} map; a core reads at most "
                f"{spec.MAX_INPUT_SIZE.value}x{spec.MAX_INPUT_SIZE.value}",
                layer.name,
                "pool before this layer",
                measured=[h, w],
                limit=spec.MAX_INPUT_SIZE.value,
            )
        if max(ho, wo) > spec.MAX_NEURON_MAP.value:
            yield error(
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
    return error(
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
                yield error(
                    "SPECK-POOL-SQUARE",
                    f"{layer.name} pools {py}x{px} towards {d.layer or 'the output'}; a destination pools squarely",
                    where,
                    "pool by the same size on both axes",
                    measured=[py, px],
                )
            elif py not in spec.POOL_SIZES.value:
                yield error(
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
                yield error(
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
                yield error(
                    "SPECK-EXIT-POOLING",
                    f"the output is {layer.name}'s events pooled {py}x{px}; the chip's monitor shows the events "
                    "before pooling, so the host must pool them",
                    where,
                    "read the output before pooling, or pool the monitored events on the host",
                    severity=Severity.WARNING,
                )


@check
def monitor(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    """--monitor names layers (by layer, neuron or module name) or the words of MONITOR_WORDS; "dvs"
    monitors the DVS layer, which exists only with --dvs-input or a DVS layer in the model (sinabs
    chips/dynapcnn.py: monitor_layers, which also warns that monitored events are not pooled)."""
    if not options.monitor:
        return
    net = network(graph)
    known = monitor_keys(net)
    unknown = [m for m in options.monitor if m not in known and m not in MONITOR_WORDS]
    if unknown:
        yield error(
            "SPECK-MONITOR",
            f"--monitor names {', '.join(unknown)}, but the network has no such layer",
            None,
            f"name layers ({', '.join(sorted({*known.values()}))}) or use {', '.join(MONITOR_WORDS)}",
            measured=unknown,
        )
    if "dvs" not in options.monitor:
        return
    stage = net.input
    if stage is None or not (options.dvs_input or stage.dvs_layer):
        yield error(
            "SPECK-MONITOR",
            "--monitor dvs, but the network has no DVS layer: its input comes from the host",
            None,
            "add --dvs-input to take the input from the sensor, or drop dvs from --monitor",
        )
    elif stage.pooling != (1, 1):
        py, px = stage.pooling
        yield error(
            "SPECK-MONITOR",
            f"the DVS layer pools {py}x{px}; its monitored events are reported before pooling",
            stage.node.name,
            "pool the monitored DVS events on the host, or monitor the first layer instead",
            severity=Severity.WARNING,
        )


@check
def fanout(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    net = network(graph)
    limit = spec.MAX_DESTINATIONS.value
    for layer in net.layers:
        targets = layer.to_layers
        if len(targets) > limit:
            yield error(
                "SPECK-FANOUT",
                f"{layer.name} sends its events to {len(targets)} layers ({', '.join(d.layer for d in targets)}); "  # type: ignore[misc]
                f"a core has {limit} destinations",
                layer.neuron.name,
                "send to at most 2 layers: merge branches later, or duplicate the layer",
                measured=len(targets),
                limit=limit,
            )
    if net.input is not None and (options.dvs_input or net.input.dvs_layer) and len(net.input.layers) > limit:
        yield error(
            "SPECK-FANOUT",
            f"the DVS layer sends to {len(net.input.layers)} layers ({', '.join(net.input.layers)}); it has {limit} "
            "destinations",
            net.input.node.name,
            "read the input with at most 2 layers",
            measured=len(net.input.layers),
            limit=limit,
        )
