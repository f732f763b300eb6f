"""The algebra fold_bn and absorb_scale share: moving a per-channel affine map y = α·x + β
across a synaptic layer or into a neuron, exactly in real arithmetic.

- into the layer before it: layer'(x) = α·layer(x) + β (weights and bias scaled per output channel);
- into the layer after it: layer(α·x + β) = layer'(x) (weights scaled per input channel, W·β
  added to the bias), exact for a convolution only if its zero padding is not shifted (β = 0);
- into the neuron after it: with the affine charge, g·(α·x + β) + b = (g·α)·x + (g·β + b);
- a positive factor s in front of a neuron: every voltage divided by s (`divide_voltages`).

In float32 each of these rounds differently from the original order, so spikes agree exactly
only where every product is exact (e.g. powers of two); the tests measure the agreement otherwise.
"""

from __future__ import annotations

import numpy as np

from snnc.ir.ops import SYNAPTIC, Conv1d, Conv2d, FloatOrder, Linear, Neuron
from snnc.passes.rewrite import Rewriter, describe, synaptic_reader

Array = np.ndarray
Synaptic = Linear | Conv1d | Conv2d


def _f32(x: Array) -> Array:
    return np.asarray(x, dtype=np.float32)


def _channels(value: Array, channels: int) -> Array:
    """A scalar or (C,) array as (C,) float32."""
    return _f32(np.broadcast_to(value, (channels,)))


def into_output(op: Synaptic, alpha: Array, beta: Array) -> Synaptic:
    """`op` followed by y = α·x + β per output channel, as one layer."""
    out = op.weight.shape[0]
    alpha, beta = _channels(alpha, out), _channels(beta, out)
    weight = op.weight * alpha.reshape(out, *([1] * (op.weight.ndim - 1)))
    bias = beta if op.bias is None else op.bias * alpha + beta
    return op.replace(weight=_f32(weight), bias=_f32(bias))


def input_factors(op: Synaptic, shape: tuple[int, ...], per_channel: Array) -> Array:
    """Per-channel values of the layer's input map (shape (C, ...)) laid out like its weight's
    input part: (in,) for a Linear over the flattened map (channel-major, as nn.Flatten orders
    it), (out, in/groups) for a convolution (input channel of W[o, j]: group of o, then j)."""
    channels = shape[0] if shape else 1
    values = _channels(per_channel, channels)
    if isinstance(op, Linear):
        return np.repeat(values, int(np.prod(shape[1:], dtype=np.int64)))
    out, per_group = op.weight.shape[:2]
    group = np.arange(out) // (out // op.groups)
    return values[group[:, None] * per_group + np.arange(per_group)[None, :]]


def into_input(op: Synaptic, shape: tuple[int, ...], alpha: Array, beta: Array | None) -> Synaptic:
    """y = α·x + β per channel of the map `shape` (C, ...), followed by `op`, as one layer.
    The caller ensures a convolution has no zero padding when β is not 0."""
    weight = op.weight * _spread(op, input_factors(op, shape, alpha))
    bias = op.bias
    if beta is not None and np.any(beta != 0):
        products = op.weight.astype(np.float64) * _spread(op, input_factors(op, shape, beta).astype(np.float64))
        shift = products.reshape(products.shape[0], -1).sum(axis=1)
        bias = shift if op.bias is None else op.bias + shift
    return op.replace(weight=_f32(weight), bias=None if bias is None else _f32(bias))


def _spread(op: Synaptic, factors: Array) -> Array:
    """`input_factors` shaped to multiply the weight: (1, in) or (out, in/groups, 1, …)."""
    if isinstance(op, Linear):
        return factors[None, :]
    return factors.reshape(*factors.shape, *([1] * (op.weight.ndim - 2)))


def _lift(value: Array, shape: tuple[int, ...]) -> Array:
    """A (C,) array as (C, 1, …) so that it broadcasts against per-neuron (C, H, W) parameters."""
    return value.reshape(-1, *([1] * (len(shape) - 1))) if value.ndim == 1 and len(shape) > 1 else value


def _lower(value: Array, shape: tuple[int, ...]) -> Array:
    """Back to a neuron parameter's shape: a scalar, (C,), or the per-neuron `shape`."""
    if len(shape) > 1 and value.ndim == len(shape) and value.shape != tuple(shape):
        return _f32(value.reshape(value.shape[0]))
    return _f32(value)


def into_neuron(op: Neuron, shape: tuple[int, ...], alpha: Array, beta: Array) -> Neuron:
    """y = α·x + β per channel, followed by the affine-charge neuron `op` without a current
    state (h = a_v·u + g·y + b), as the neuron alone: g' = g·α, b' = g·β + b."""
    gain = _lift(op.gain, shape)
    new_gain = gain * _lift(_f32(alpha), shape)
    new_bias = gain * _lift(_f32(beta), shape) + _lift(op.bias, shape)
    return op.replace(gain=_lower(new_gain, shape), bias=_lower(new_bias, shape))


VOLTAGES = ("threshold", "bias", "v_reset", "v_init", "v_min", "i_init")
"""Neuron parameters in units of the membrane (with the float order's v_rest): with its input
scaled by s > 0, dividing these by s gives the same spikes (v and i are s times smaller at every
step; fire, reset and clamp compare or add quantities in the same units). Decays, gain and rate
are unitless and stay."""


def divide_voltages(op: Neuron, shape: tuple[int, ...], factor: Array) -> Neuron:
    """The neuron that, fed x, spikes as `op` fed factor·x (factor > 0, scalar or per channel)."""
    divisor = _lift(_f32(factor), shape)

    def divided(value: Array) -> Array:
        return _lower(_lift(value, shape) / divisor, shape)

    changes: dict[str, Array | FloatOrder] = {
        name: divided(getattr(op, name)) for name in VOLTAGES if getattr(op, name) is not None
    }
    if op.float_order is not None:
        changes["float_order"] = op.float_order.replace(v_rest=divided(op.float_order.v_rest))
    return op.replace(**changes)


def fold_into_reader(rw: Rewriter, name: str, alpha: Array, beta: Array | None, *, record: bool = False) -> str | None:
    """Fold the per-channel map α·x + β computed by node `name` into the one synaptic layer that
    reads it (through a Flatten for a Linear), removing the node. None when done, else the reason
    it cannot be done exactly. `record`: the layer lists the node's layer as folded into it."""
    reader, why = synaptic_reader(rw, name)
    if reader is None:
        return why
    layer = reader.layer
    assert isinstance(layer.op, SYNAPTIC)  # what synaptic_reader finds
    if layer.op.formats():
        return f"{describe(layer)} is already quantized"
    padding = getattr(layer.op, "padding", ())
    if any(padding) and beta is not None and np.any(beta != 0):
        shifted = int(np.count_nonzero(np.broadcast_to(beta, (rw.node(name).type.channels,))))
        return (
            f"{describe(layer)} pads its input with zeros (padding {padding}), and the shift β is "
            f"non-zero on {shifted} channel(s): the padded border would not be shifted, so no bias can express it"
        )
    rw.set_op(layer.name, into_input(layer.op, rw.node(name).type.shape, alpha, beta))
    rw.bypass(name, folded_into=(layer.name,) if record else ())
    return None
