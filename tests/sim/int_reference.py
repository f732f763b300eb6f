"""A literal numpy int64 reading of the integer semantics (the `Neuron` docstring in snnc/ir/ops.py,
`IntRange` and `Arithmetic` in snnc/ir/quant.py): the oracle the torch integer engine is held to.

Slow and plain on purpose: every register rule is applied at every place the text names, whether
or not the value can leave the register, and synaptic sums are exact int64 loops.
"""

from __future__ import annotations

import numpy as np

from snnc.ir.ops import Conv2d, Linear, Neuron
from snnc.ir.quant import Arithmetic, IntRange


def register(y: np.ndarray, r: IntRange) -> np.ndarray:
    half = 2 ** (r.bits - 1)
    if r.overflow == "wrap":
        return (y + half) % (2 * half) - half
    if r.overflow == "wrap_once":
        return np.where(y > half, y - 2 * half, np.where(y <= -half, y + 2 * half, y))
    if r.overflow == "saturate":
        return np.clip(y, -half, half - 1)
    return np.clip(y, -(half - 1), half - 1)


def decay(y: np.ndarray, m: np.ndarray, arith: Arithmetic) -> np.ndarray:
    p = y * m
    if arith.decay_rounding == "floor":
        return p >> arith.decay_shift
    return np.sign(p) * (np.abs(p) >> arith.decay_shift)


def per_channel(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(value, np.int64)
    return value.reshape(value.shape[0], *([1] * (len(shape) - 1))) if value.ndim == 1 and len(shape) > 1 else value


def neuron(op: Neuron, arith: Arithmetic, x: np.ndarray) -> dict[str, np.ndarray]:
    """Spikes and traces h, v (and i) of a quantized neuron driven by integer x [T, B, *shape]."""
    shape = x.shape[2:]

    def p(value):
        return None if value is None else per_channel(value, shape)

    theta, m_v, m_i, gain, bias = p(op.threshold), p(op.v_decay), p(op.i_decay), p(op.gain), p(op.bias)
    v_reset, v_min = p(op.v_reset), p(op.v_min)

    def fire(h):
        if op.spikes == "none":  # a leaky integrator never fires
            return np.zeros_like(h)
        fired = h >= theta if op.fire_op == "ge" else h > theta
        if op.spikes == "single":
            return fired.astype(np.int64)
        count = (h if op.fire_op == "ge" else h - 1) // theta
        if op.max_spikes is not None:
            count = np.minimum(count, op.max_spikes)
        return np.where(fired, count, 0)

    def reset(h, s):
        if op.reset == "subtract":
            return register(h - s * theta, arith.voltage)
        if op.reset == "zero":
            return np.where(s > 0, v_reset, h)
        return h

    full = x.shape[1:]
    v = np.broadcast_to(p(op.v_init), full).astype(np.int64)
    i = np.broadcast_to(p(op.i_init), full).astype(np.int64)
    out: dict[str, list[np.ndarray]] = {"s": [], "h": [], "v": [], "i": []}
    for xt in x.astype(np.int64):
        a = register(gain * xt, arith.input)
        if op.has_current:
            previous = i
            i = register(decay(i, m_i, arith) + a, arith.current)
            current = i if op.input_order == "current_first" else previous
        else:
            current = a
        u = v
        if op.reset_timing == "next_step_state":
            u = reset(u, fire(u))
        h = register(decay(u, m_v, arith) + current + bias, arith.voltage)
        if op.reset_timing == "next_step":
            h = reset(h, fire(v))
        s = fire(h)
        v = reset(h, s) if op.reset_timing == "same_step" else h
        if v_min is not None:
            v = np.maximum(v, v_min)
        s = v if op.spikes == "none" else s  # its output is the membrane
        for name, value in (("s", s), ("h", h), ("v", v), ("i", i)):
            out[name].append(value)
    return {name: np.stack(steps) for name, steps in out.items()}


def synapse(op: Linear | Conv2d, arith: Arithmetic, x: np.ndarray) -> np.ndarray:
    """Exact int64 sums of a Linear or a Conv2d (groups 1) over x [T, B, ...], then the register."""
    x = x.astype(np.int64)
    w = op.weight.astype(np.int64)
    if isinstance(op, Linear):
        y = x @ w.T
        if op.bias is not None:
            y = y + op.bias
        return register(y, arith.synapse)
    (py, px), (sy, sx), (dy, dx) = op.padding, op.stride, op.dilation
    xp = np.pad(x, [(0, 0)] * 3 + [(py, py), (px, px)])
    f, _, kh, kw = w.shape
    ho = (xp.shape[3] - dy * (kh - 1) - 1) // sy + 1
    wo = (xp.shape[4] - dx * (kw - 1) - 1) // sx + 1
    y = np.zeros((*x.shape[:2], f, ho, wo), np.int64)
    for r in range(kh):
        for c in range(kw):
            patch = xp[:, :, :, r * dy : r * dy + sy * (ho - 1) + 1 : sy, c * dx : c * dx + sx * (wo - 1) + 1 : sx]
            y += np.einsum("tbchw,fc->tbfhw", patch, w[:, :, r, c])
    if op.bias is not None:
        y = y + op.bias.reshape(-1, 1, 1)
    return register(y, arith.conv_range())
