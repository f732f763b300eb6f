"""quantize: replace a float graph's parameters by a target's integers, and attach its Arithmetic.

Why: a chip stores weights, thresholds, decays and biases in narrow integer formats and computes
in fixed-width registers; the integer simulator runs the quantized graph exactly as the chip
would (ARCHITECTURE §2.4), so every later figure (spikes, activity, energy) is the target's.

What it preserves: the float graph's function up to rounding. Each Linear/Conv and the neurons it
feeds form a unit with one common scale s (or one per output channel): weights become
round(w·s), and the neurons' state is in units σ = s·2^input_shift (the integer semantics in the
Neuron docstring, snnc/ir/ops.py: threshold, bias, v_reset, v_min, v_init ×σ; decays as 2^k-based
multipliers; gain 2^input_shift once the float gain is folded into the weights). s is the largest
scale at which no value leaves its format, chosen group by group (weights, synapse bias,
thresholds with v_min, v_init, v_reset, neuron bias, current) with sinabs' float32 rule
(snnc/passes/quantize/scale.py), so the Speck spec reproduces sinabs' discretization bit for bit
(docs/targets/speck.md §3.2) and nothing clips unless `clip_quantile` < 1.

A real-valued graph input becomes an integer input of the spec's `input_bits` with a scale s_x
(snnc/passes/quantize/inputs.py: from `input_range`, else the calibration data, else [0, 1] assumed),
and a synapse reading values of scale s_x holds weights of scale s/s_x, so its integer sum still
has the unit's scale s (snnc/passes/quantize/units.py `value_scales`). A non-spiking neuron (a leaky
integrator readout) outputs its integer membrane; with calibration data its measured float range
is one more group, so the membrane fits its register.

It reports, per node: QUANT-SATURATION (values clipped), QUANT-ZEROED (weights, thresholds, gains
or leaks rounded to 0), QUANT-THRESHOLD (a threshold or lower bound set the scale, costing weight
bits, or does not fit at all), QUANT-UNSUPPORTED (a layer the target's formats cannot express) and
one QUANT-LOSS info per layer with its measured error (and, given `calib` data, the spike
agreement of the float and integer simulations), one for each quantized input, and
QUANT-INPUT-RANGE where an input's range had to be assumed. On any error the graph is returned
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, errors
from snnc.ir.graph import Graph, Node
from snnc.ir.neuron_features import NeuronFeatures
from snnc.ir.neuron_features import unsupported as missing
from snnc.ir.ops import SYNAPTIC, Conv1d, Conv2d, Elementwise, Input, Linear, Neuron, Op
from snnc.ir.quant import NumberFormat
from snnc.ir.types import Int
from snnc.passes.base import PassContext
from snnc.passes.quantize.inputs import check_range, input_formats
from snnc.passes.quantize.neuron import NeuronView, combine, quantize_neuron
from snnc.passes.quantize.report import Membranes, calibrate, loss_info, membrane_ranges, zeroed_weights
from snnc.passes.quantize.scale import F32, channel_scale, fit_rows, quantile_scale, rounded, scale_value
from snnc.passes.quantize.spec import QuantSpec
from snnc.passes.quantize.units import Unit, find_units, real_valued, unsupported, value_scales
from snnc.passes.rewrite import Rewriter


@dataclass(frozen=True)
class Quantize:
    """Quantize to `spec`. `calib` ([T, B, *input shape], or a dict by input name) sets the range
    of real-valued inputs and of non-spiking neurons' membranes, and adds the measured spike
    agreement per layer; `input_range` (lo, hi) declares the range of real-valued inputs."""

    spec: QuantSpec
    calib: np.ndarray | None = field(default=None, compare=False, repr=False)
    input_range: tuple[float, float] | None = None
    name: ClassVar[str] = "quantize"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        if graph.arithmetic is not None or any(n.op.formats() for n in graph):
            ctx.emit(unsupported(None, "the graph is already quantized", "quantize the float graph"))
            return graph
        formats, found = input_formats(graph, self.spec, self.calib, check_range(self.input_range))
        quantized = self._quantized(graph, formats, found)
        if quantized is None:  # nothing was quantized: no losses to report
            found = [d for d in found if d.rule != "QUANT-LOSS"]
        elif self.calib is not None:
            found += calibrate(graph, quantized, self.calib)
        for d in found:
            ctx.emit(d)
        if quantized is None:
            return graph
        ctx.count(self.name, len(formats) + sum(1 for n in quantized if n.op.formats()))
        return quantized

    def _quantized(self, graph: Graph, formats: dict[str, NumberFormat], found: list[Diagnostic]) -> Graph | None:
        """The quantized graph, or None if an error was found (every error is in `found`)."""
        membranes = membrane_ranges(graph, self.calib)  # of the float graph, on real data
        graph = _with_inputs(graph, formats)
        rw = Rewriter(graph)
        for unit in find_units(graph, found, value_scales(graph, formats)):
            ops, diags = _quantize_unit(unit, graph, self.spec, membranes)
            found += diags
            for name, op in ops.items():
                rw.set_op(name, op)
        if errors(found):
            return None
        built = rw.build()
        quantized = Graph(built.nodes, built.name, self.spec.arithmetic)
        found += real_valued(quantized)
        return None if errors(found) else quantized


def _with_inputs(graph: Graph, formats: dict[str, NumberFormat]) -> Graph:
    """`graph` with each quantized input typed as the integers it now carries."""
    if not formats:
        return graph
    rw = Rewriter(graph)
    for name, fmt in formats.items():
        op = graph.node(name).op
        assert isinstance(op, Input)  # `formats` are keyed by input name
        rw.set_op(name, op.replace(dtype=Int(fmt.bits, fmt.signed), format=fmt))
    return rw.build()


# --- one unit ---------------------------------------------------------------------------------


def _quantize_unit(
    unit: Unit, graph: Graph, spec: QuantSpec, membranes: Membranes
) -> tuple[dict[str, Op], list[Diagnostic]]:
    found: list[Diagnostic] = []
    views = [NeuronView.of(n) for n in unit.neurons]
    found += [d for v in views for d in _features(v, spec)]
    # per integer of the input: a sum in units s needs weights w·s/s_x (s_x = 1 for events)
    layers = {s.name: _layer(s) for s in unit.synapses}
    weights = {name: np.asarray(op.weight, np.float64) / unit.input_scales[name] for name, op in layers.items()}
    biases = {name: None if op.bias is None else np.asarray(op.bias, np.float64) for name, op in layers.items()}
    direct = unit.pair and [u.name for u in graph.users(unit.synapses[0].name)] == [unit.neurons[0].name]
    if (direct or _summed(unit, graph)) and all(_per_channel_ok(views[0].gain, weights[s.name]) for s in unit.synapses):
        view = views[0]
        for s in unit.synapses:  # fold the gain into the weights: g·Σ W_k x_k = Σ (g·W_k) x_k
            weights[s.name] = weights[s.name] * _rows(view.gain, weights[s.name].ndim)
            if biases[s.name] is not None:
                biases[s.name] = biases[s.name] * view.gain
        view.gain = np.ones(())
    for s in unit.synapses:
        bias = biases[s.name]
        if bias is None or not np.any(bias):
            biases[s.name] = None
        elif (spec.bias_to_neuron or not spec.synapse_bias) and direct and views[0].a_i is None:
            view = views[0]  # exact: with no current the synapse's sum enters v unchanged
            view.bias = combine(view.node.type.shape, view.gain, bias, add=view.bias)
            biases[s.name] = None
        elif not spec.synapse_bias:
            found.append(unsupported(s.name, f"{spec.name} synapses have no bias", "use a bias-free layer"))
    per_channel = spec.per_channel and direct
    chosen, groups = _scale(unit, views, weights, biases, spec, per_channel, membranes)
    scale = chosen
    if spec.lossless_scale and unit.synapses and not per_channel:
        scale = _lossless(chosen, [*weights.values(), *biases.values()], views)
    if errors(found):
        return {}, found
    ops: dict[str, Op] = {}
    for s in unit.synapses:
        op, diags = _quantize_synapse(s, weights[s.name], biases[s.name], scale, spec, unit.input_scales[s.name])
        ops[s.name] = op
        found += diags
    for view in views:
        op, diags = quantize_neuron(view, scale, spec)
        ops[view.node.name] = op
        found += diags
    # which group limits the scale is judged on the scale the rule chose (a lossless snap loses nothing)
    found += _binding(unit, chosen, groups, spec) if unit.synapses else _misfit(unit, groups, spec, float(chosen[0]))
    found += loss_info(unit, weights, ops, scale, spec)
    return ops, found


def _lossless(scale: np.ndarray, synaptic: list[np.ndarray | None], views: list[NeuronView]) -> np.ndarray:
    """The largest power of two p ≤ the layer's scale if every value the scale multiplies is an exact
    integer at p (then rounding changes nothing: quantization is exact), else the scale unchanged.
    p ≤ the scale keeps every group within its range; if a value is not an integer at p, it is not
    one at any smaller power of two either, so p is the only candidate."""
    s = float(np.min(scale))
    if not (np.isfinite(s) and s > 0):
        return scale
    p = 2.0 ** np.floor(np.log2(s))
    values = [x for x in synaptic if x is not None]
    for view in views:
        op = view.neuron
        values += [view.bias, view.i_init, op.v_reset, op.v_init]
        values += [] if op.spikes == "none" else [op.threshold]
        values += [] if op.v_min is None else [op.v_min]
    exact = all(np.array_equal(np.asarray(x, np.float64) * p, np.round(np.asarray(x, np.float64) * p)) for x in values)
    return np.full_like(scale, p, dtype=F32) if exact else scale


def _layer(node: Node) -> Linear | Conv1d | Conv2d:
    assert isinstance(node.op, SYNAPTIC)  # units.find_units puts only synaptic layers in a unit's synapses
    return node.op


def _rows(value: np.ndarray, ndim: int) -> np.ndarray:
    """A scalar or per-output-channel value shaped to scale a weight of rank `ndim` row by row."""
    value = np.asarray(value, np.float64)
    return value if value.ndim == 0 else value.reshape(-1, *([1] * (ndim - 1)))


def _summed(unit: Unit, graph: Graph) -> bool:
    """One neuron whose input is the plain sum of the unit's synapses: each synapse read only by
    adds that are read only by the next add or the neuron (a recurrent layer's input and
    recurrent weights), so a gain on the sum moves exactly into every synapse."""
    if len(unit.neurons) != 1 or not unit.synapses:
        return False
    names = {s.name for s in unit.synapses}
    stack, reached = [unit.neurons[0].inputs[0]], set()
    while stack:
        name = stack.pop()
        node = graph.node(name)
        if name in names:
            reached.add(name)
        elif isinstance(node.op, Elementwise) and node.op.fn == "add" and len(graph.users(name)) == 1:
            stack.extend(node.inputs)
        else:
            return False
        if len(graph.users(name)) != 1:
            return False
    return reached == names


def _per_channel_ok(value: np.ndarray, weight: np.ndarray) -> bool:
    return np.ndim(value) == 0 or np.shape(value) == (weight.shape[0],)


def _features(view: NeuronView, spec: QuantSpec) -> list[Diagnostic]:
    """What the neuron uses that the target's number formats have no place for."""
    features = NeuronFeatures(spec.name, leak=spec.leak, current=spec.current != "never")
    hint = f"use a neuron {spec.name} runs (e.g. integrate-and-fire), or compile for another target"
    return [unsupported(view.node.name, reason, hint) for reason in missing(view.neuron, features)]


def _broadcast_rows(value: np.ndarray | None, shape: tuple[int, ...], per_channel: bool) -> np.ndarray:
    """A neuron parameter as rows: (C, n) per channel, or (1, n) for one layer-wide scale."""
    if value is None:
        return np.zeros((shape[0] if per_channel else 1, 0))
    full = np.broadcast_to(np.asarray(value, np.float64).reshape(_param_shape(value, shape)), shape)
    return full.reshape(shape[0], -1) if per_channel else full.reshape(1, -1)


def _param_shape(value: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    value = np.asarray(value)
    if value.ndim == 1 and len(shape) > 1:
        return (value.shape[0], *([1] * (len(shape) - 1)))
    return value.shape


def _unweighted_scale(views: list[NeuronView], source: float, spec: QuantSpec, limit: float) -> float:
    """The state scale of a neuron fed without weights, by events or a quantized input of scale
    `source`: its input enters the state as gain·2^shift·x at s = source, which must be an integer
    of the target's gain format. A gain that is not (Norse's c_m = dt/τ = 0.1 on the input) is
    absorbed into the scale instead: s = n·source/g for the largest n ≤ limit·g/source (`limit`:
    the largest scale the state values fit, with the threshold headroom units with weights keep)
    and n at most the largest weight, as if the gain were the weight of a one-to-one synapse, with
    n·2^shift representable: the input enters with the exact integer gain n·2^shift (the view's
    gain becomes n). Otherwise `source`."""
    if len(views) != 1 or np.ndim(views[0].gain) != 0 or not views[0].gain > 0:
        return source
    view, shift, fmt = views[0], 2**spec.input_shift, spec.arithmetic.gain
    g = float(view.gain)
    if np.array_equal(fmt.quantize(np.asarray(g * shift, np.float64)), g * shift):
        return source
    n = _largest_multiplier(fmt, shift, min(limit * g / source / 2**spec.threshold_headroom_bits, spec.weight_max))
    if n is None:
        return source
    view.gain = np.asarray(float(n))
    return n * source / g


def _largest_multiplier(fmt, shift: int, most: float) -> int | None:
    """The largest integer n ≤ `most` with n·shift a value of the gain format, None if none is."""
    best = None
    for e in range(fmt.min_exp, fmt.max_exp + 1):
        m = min(int(np.floor(most * shift / 2.0**e)), fmt.mantissa_max)
        value = m << e
        if m >= 1 and value % shift == 0 and (best is None or value // shift > best):
            best = value // shift
    return best


def _scale(unit, views, weights, biases, spec: QuantSpec, per_channel: bool, membranes: Membranes):
    """The unit's scale s (float32, one value or one per channel) and each group's own limit."""
    arith = spec.arithmetic
    shift = F32(2**spec.input_shift)
    groups: dict[str, np.ndarray] = {}
    theta_max = arith.threshold.max  # with room above θ where a scale is chosen (not for events' 1)
    if unit.synapses:
        theta_max >>= spec.threshold_headroom_bits
        weight_rows = [w.reshape(w.shape[0], -1) if per_channel else w.reshape(1, -1) for w in weights.values()]
        w_rows = np.concatenate(weight_rows, axis=1)
        if spec.clip_quantile < 1:
            groups["weights"] = quantile_scale(w_rows, spec.clip_quantile, spec.weight_max)
        else:
            groups["weights"] = fit_rows(w_rows, spec.weight_min, spec.weight_max)
        kept = [b for b in biases.values() if b is not None]
        if kept:
            b_rows = np.concatenate([b.reshape(-1, 1) if per_channel else b.reshape(1, -1) for b in kept], axis=1)
            groups["synapse bias"] = fit_rows(b_rows, spec.weight_min, spec.weight_max)
    for view in views:
        op = view.neuron
        shape = view.node.type.shape

        def rows(value, _shape=shape):
            return _broadcast_rows(value, _shape, per_channel)

        v_min = op.v_min if op.v_min is not None else spec.v_min_default
        # sinabs' [min_v_mem, threshold]; a non-spiking neuron never compares its threshold
        theta = rows(None) if op.spikes == "none" else rows(op.threshold)
        pair = np.concatenate([rows(v_min), theta], axis=1)
        limits = {
            _pair_name(op, spec): (pair, arith.voltage.min, theta_max),
            "v_init": (rows(op.v_init), arith.voltage.min, arith.voltage.max),
            "v_reset": (rows(op.v_reset), arith.voltage.min, arith.voltage.max),
            "neuron bias": (rows(view.bias), arith.bias.min, arith.bias.max),
            "i_init": (rows(view.i_init), arith.current.min, arith.current.max),
        }
        if view.node.name in membranes:  # the readout's membrane range on the calibration data
            low, high = membranes[view.node.name]
            both = np.concatenate([rows(low), rows(high)], axis=1)
            limits["membrane on the calibration data"] = (both, arith.voltage.min, arith.voltage.max)
        for what, (values, lo, hi) in limits.items():
            s = fit_rows(values, lo, hi) / shift
            groups[what] = np.minimum(groups[what], s) if what in groups else s
    if not unit.synapses:  # neurons fed by events (scale 1) or an input: its scale, or the one the gain sets
        limit = float(np.min(np.minimum.reduce(list(groups.values())))) if groups else float("inf")
        return np.full(1, _unweighted_scale(views, unit.source_scale, spec, limit), F32), groups
    return np.minimum.reduce(list(groups.values())).astype(F32), groups


def _pair_name(op: Neuron, spec: QuantSpec) -> str:
    theta = "" if op.spikes == "none" else "threshold and "
    if op.v_min is not None:
        return f"{theta}v_min"
    if spec.v_min_default is not None:
        return f"{theta}the v_min {spec.v_min_default:g} of a neuron without one (sinabs' min_v_mem=None)"
    return "threshold" if theta else "lower bound"  # a readout without one: an empty group


def _quantize_synapse(
    node: Node, weight, bias, scale, spec: QuantSpec, input_scale: float
) -> tuple[Op, list[Diagnostic]]:
    """Weights round(w'·s) for w' = w / input_scale, so they have scale s / input_scale (what the
    format records); a bias adds to the sum, round(b·s)."""
    s = channel_scale(scale, weight.shape)
    q = rounded(weight, s)
    clipped = (q < spec.weight_min) | (q > spec.weight_max)
    weight_scale = (np.asarray(scale, F32) / F32(input_scale)).astype(F32)  # exact for events' 1
    found = zeroed_weights(node.name, weight, q, weight_scale)
    if clipped.any():
        found.append(
            Diagnostic(
                "QUANT-SATURATION",
                f"{int(clipped.sum())} weight(s) clipped to [{spec.weight_min}, {spec.weight_max}] "
                f"(clip_quantile {spec.clip_quantile}); largest |w·s| {float(np.abs(q).max()):.0f}",
                node=node.name,
                severity=Severity.WARNING,
                hint="raise clip_quantile to 1.0 to clip nothing",
                measured=int(clipped.sum()),
                limit=[spec.weight_min, spec.weight_max],
            )
        )
    q = np.clip(q, spec.weight_min, spec.weight_max).astype(np.int64)
    qb = None if bias is None else rounded(bias, np.asarray(scale, F32).reshape(-1)).astype(np.int64)
    fmt = NumberFormat(spec.weight_bits, True, scale=scale_value(weight_scale))
    return node.op.replace(weight=q, bias=qb, weight_format=fmt), found


def _binding(unit: Unit, scale, groups: dict[str, np.ndarray], spec: QuantSpec) -> list[Diagnostic]:
    """QUANT-THRESHOLD where a neuron's group, not the weights, set the scale: the weights then
    use fewer bits than the format has."""
    if "weights" not in groups:
        return []
    lost = np.log2(groups["weights"].astype(np.float64) / scale.astype(np.float64))
    if not np.any(lost > 1e-6):
        return []
    binding = min((g for g in groups if g != "weights"), key=lambda g: float(np.min(groups[g])))
    node = unit.neurons[0].name if unit.neurons else unit.synapses[0].name
    bits = float(np.max(lost))
    return [
        Diagnostic(
            "QUANT-THRESHOLD",
            f"the {binding} range sets the scale ({float(np.min(scale)):.6g} instead of "
            f"{float(np.min(groups['weights'])):.6g} for the weights): "
            f"weights lose {bits:.2f} of {spec.weight_bits} bits",
            node=node,
            severity=Severity.WARNING,
            hint=f"the {binding} is large (or v_min very negative) relative to the weights; "
            "scale the weights up or the threshold down in training",
            measured=bits,
            limit=0,
        )
    ]


def _misfit(unit: Unit, groups: dict[str, np.ndarray], spec: QuantSpec, fixed: float) -> list[Diagnostic]:
    """Neurons fed without weights keep the scale `fixed` (their input's, 1 for events, or the one
    that absorbs their gain), so a group that needs a smaller scale cannot fit (QUANT-THRESHOLD, an
    error: its values would clip)."""
    return [
        Diagnostic(
            "QUANT-THRESHOLD",
            f"the {what} does not fit {spec.name}'s formats at its input's scale {fixed:g} "
            f"(it needs {float(np.min(s)):.4g})",
            node=unit.neurons[0].name,
            hint="lower the threshold or the state values of this neuron fed without weights",
            measured=float(np.min(s)),
            limit=fixed,
        )
        for what, s in groups.items()
        if np.min(s) < fixed
    ]
