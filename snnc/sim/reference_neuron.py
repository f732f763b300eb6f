"""The literal definition of the `Neuron` op (snnc/ir/ops.py), in float32 and in exact integers,
and the two integer rules of an `Arithmetic` (snnc/ir/quant.py) that its docstring states and the
synaptic ops share: a register's overflow rule R_r and the decay dec(y, m).

Part of snnc/sim/reference.py (which re-exports everything here); see its docstring. Each class
below follows one text line by line: `FloatNeuron` the per-step equations of the Neuron docstring
with the library float orders of `FloatOrder`, `IntNeuron` its "Integer semantics". Every rule is
applied at every place the text names it, whether or not a value can leave its register.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from snnc.ir.ops import FloatOrder, Neuron
from snnc.ir.quant import Arithmetic, IntRange

Array = np.ndarray
f32 = np.float32


# --- the integer rules of an Arithmetic -------------------------------------------------------


def in_register(y, register: IntRange, xp: ModuleType = np):
    """R_register(y), `IntRange`'s overflow rule (snnc/ir/quant.py), applied to exact integers.

    Written with the operations numpy arrays and torch tensors share (`xp` supplies `where`), so
    that the fast integer simulator applies this very definition to its tensors
    (snnc/sim/int_arith.py); here `y` holds exact Python integers (a numpy object array)."""
    half = 2 ** (register.bits - 1)
    if register.overflow == "wrap":  # two's complement: y modulo 2^b, into [−2^(b−1), 2^(b−1) − 1]
        return (y + half) % (2 * half) - half
    if register.overflow == "wrap_once":  # Lava u (docs/targets/loihi.md §1.3): one conditional ∓2^b
        return xp.where(y > half, y - 2 * half, xp.where(y <= -half, y + 2 * half, y))
    # saturate: [−2^(b−1), 2^(b−1) − 1]; saturate_symmetric: [−(2^(b−1) − 1), 2^(b−1) − 1] (IntRange.min/max)
    return y.clip(register.min, register.max)


def decayed(y, m, shift: int, rounding: str, xp: ModuleType = np):
    """dec(y, m) of the Neuron docstring: p = y·m exactly, then p >> k ("floor", an arithmetic
    shift) or sign(p)·(|p| >> k) ("toward_zero", Lava: docs/targets/loihi.md §1.3, §7.5), with
    k = `Arithmetic.decay_shift`. Shared with the fast simulator as `in_register` is."""
    p = y * m
    if rounding == "floor":
        return p >> shift
    return xp.sign(p) * (abs(p) >> shift)


# --- parameters -------------------------------------------------------------------------------


def broadcastable(value: Array, shape: tuple[int, ...]) -> Array:
    """A parameter of shape (), (C,) or `shape` (per neuron), shaped to broadcast against a
    per-step value [B, *shape]: a per-channel (C,) array over the spatial axes."""
    if value.ndim == 1 and len(shape) > 1:
        return value.reshape(value.shape[0], *([1] * (len(shape) - 1)))
    return value


def as_float(value: Array, shape: tuple[int, ...]) -> Array:
    return broadcastable(np.asarray(value, f32), shape)


def as_integer(value: Array, shape: tuple[int, ...]) -> Array:
    """An integer parameter as exact Python integers (a numpy object array)."""
    return broadcastable(np.asarray(value).astype(np.int64).astype(object), shape)


class _Traces:
    """h, v (and i) of every step, for tests that hold a fast neuron's traces to these."""

    def __init__(self) -> None:
        self.steps: dict[str, list[Array]] = {"h": [], "v": [], "i": []}

    def add(self, h: Array, v: Array, i: Array | None) -> None:
        for name, value in (("h", h), ("v", v), ("i", i)):
            if value is not None:
                self.steps[name].append(value)

    def stacked(self) -> dict[str, Array]:
        return {name: np.stack(values) for name, values in self.steps.items() if values}


# --- float -----------------------------------------------------------------------------------


class FloatNeuron(_Traces):
    """One Neuron node's state in float32, stepped by the equations of the Neuron docstring, each
    operation in the written order (`FloatOrder` for the library orders of charge and current)."""

    def __init__(self, op: Neuron, shape: tuple[int, ...], batch: int) -> None:
        super().__init__()
        self.op = op
        self.order = op.float_order or FloatOrder()
        self.theta, self.v_reset = as_float(op.threshold, shape), as_float(op.v_reset, shape)
        self.v_decay, self.gain, self.bias = (as_float(p, shape) for p in (op.v_decay, op.gain, op.bias))
        self.rate, self.v_rest = as_float(self.order.rate, shape), as_float(self.order.v_rest, shape)
        self.v_min = None if op.v_min is None else as_float(op.v_min, shape)
        full = (batch, *shape)
        self.v: Array = np.broadcast_to(as_float(op.v_init, shape), full)  # v[−1] = v_init
        self.i_decay, self.i = None, None  # a current state, if i_decay is set
        if op.i_decay is not None:
            self.i_decay, self.i = as_float(op.i_decay, shape), np.broadcast_to(as_float(op.i_init, shape), full)

    def __call__(self, x: Array, z: Array | None = None) -> Array:
        """One step: input x[t] (and the late input z[t]) → s[t], or v[t] for spikes "none"."""
        op, previous, i_decay = self.op, self.i, self.i_decay
        if previous is not None and i_decay is not None:
            self.i = self.current(previous, i_decay, x)  # i[t]
            current = self.i if op.input_order == "current_first" else previous  # I[t]
        else:
            current = x  # I[t] = x[t] without a current state
        u = self.v
        if op.reset_timing == "next_step_state":  # the previous state reset first, by r = fire(v[t−1])
            u = self.reset(self.v, self.fire(self.v))
        h = self.charge(u, current)
        if z is not None:
            h = h + z  # then h += z[t] (snnTorch RLeaky's feedback)
        if op.reset_timing == "next_step":  # r = fire(v[t−1]) applied to h
            h = self.reset(h, self.fire(self.v))
        s = self.fire(h)
        v = self.reset(h, s) if op.reset_timing == "same_step" else h
        if self.v_min is not None:
            v = np.maximum(v - self.v_min, f32(0)) + self.v_min  # sinabs' order (sinabs/layers/functional/lif.py)
        self.v = v
        self.add(h, v, self.i)
        return v if op.spikes == "none" else s

    def current(self, i: Array, i_decay: Array, x: Array) -> Array:
        """i[t] from i[t−1] and x[t] (FloatOrder.current)."""
        form = self.order.current
        if form == "affine":
            return i_decay * i + x
        if form == "decay_after":
            return i_decay * (i + x)
        return (i + i_decay * i) + x  # euler

    def charge(self, u: Array, current: Array) -> Array:
        """h[t] from u and I[t] (FloatOrder.charge; ∘k is ·rate, or /rate with rate_op "div")."""
        form, rest = self.order.charge, self.v_rest
        if form == "affine":
            return self.v_decay * u + self.gain * current + self.bias
        if form == "delta":
            return u + self.rated(current - (u - rest))
        if form == "delta_leak":
            return (u - self.rated(u - rest)) + current
        return u + self.rated((current + rest) - u)  # delta_box

    def rated(self, y: Array) -> Array:
        return y * self.rate if self.order.rate_op == "mul" else y / self.rate

    def fire(self, h: Array) -> Array:
        """s = fire(h): 0/1, or the multiples of θ reached (floor(h/θ) for "ge", max(ceil(h/θ) − 1, 1)
        for "gt") capped at max_spikes, 0 where h does not fire; always 0 for spikes "none"."""
        op, theta = self.op, self.theta
        if op.spikes == "none":
            return np.zeros_like(h)
        fired = h >= theta if op.fire_op == "ge" else h > theta
        if op.spikes == "single":
            return fired.astype(f32)
        ratio = h / theta
        count = np.floor(ratio) if op.fire_op == "ge" else np.maximum(np.ceil(ratio) - f32(1), f32(1))
        if op.max_spikes is not None:
            count = np.minimum(count, f32(op.max_spikes))
        return np.where(fired, count, f32(0))

    def reset(self, h: Array, s: Array) -> Array:
        """zero → v_reset where s > 0; subtract → h − s·θ; none → h."""
        if self.op.reset == "zero":
            return np.where(s > 0, self.v_reset, h)
        if self.op.reset == "subtract":
            return h - s * self.theta
        return h


# --- integer ---------------------------------------------------------------------------------


class IntNeuron(_Traces):
    """One quantized Neuron node's state in exact integers, stepped by the "Integer semantics"
    of the Neuron docstring with the graph's Arithmetic."""

    def __init__(self, op: Neuron, arith: Arithmetic, shape: tuple[int, ...], batch: int) -> None:
        super().__init__()
        self.op, self.arith = op, arith
        self.theta, self.v_reset = as_integer(op.threshold, shape), as_integer(op.v_reset, shape)
        self.v_decay, self.gain, self.bias = (as_integer(p, shape) for p in (op.v_decay, op.gain, op.bias))
        self.v_min = None if op.v_min is None else as_integer(op.v_min, shape)
        full = (batch, *shape)
        self.v: Array = np.broadcast_to(as_integer(op.v_init, shape), full)
        self.i_decay, self.i = None, None  # a current state, if i_decay is set
        if op.i_decay is not None:
            self.i_decay, self.i = as_integer(op.i_decay, shape), np.broadcast_to(as_integer(op.i_init, shape), full)

    def __call__(self, x: Array, z: Array | None = None) -> Array:
        """One step: integer input x[t] (and the late input z[t]) → s[t], or v[t] for spikes "none"."""
        op, arith, previous, i_decay = self.op, self.arith, self.i, self.i_decay
        a = in_register(self.gain * x, arith.input)  # the input, scaled where it enters the state
        if previous is not None and i_decay is not None:
            self.i = in_register(self.decay(previous, i_decay) + a, arith.current)  # i[t]
            current = self.i if op.input_order == "current_first" else previous  # I[t]
        else:
            current = a
        u = self.v
        if op.reset_timing == "next_step_state":
            u = self.reset(self.v, self.fire(self.v))
        h = self.decay(u, self.v_decay) + current + self.bias
        if z is not None:
            h = h + z
        h = in_register(h, arith.voltage)
        if op.reset_timing == "next_step":
            h = self.reset(h, self.fire(self.v))
        s = self.fire(h)
        v = self.reset(h, s) if op.reset_timing == "same_step" else h
        if self.v_min is not None:
            v = np.maximum(v, self.v_min)
        self.v = v
        self.add(h, v, self.i)
        return v if op.spikes == "none" else s

    def decay(self, y: Array, m: Array) -> Array:
        return decayed(y, m, self.arith.decay_shift, self.arith.decay_rounding)

    def fire(self, h: Array) -> Array:
        """fire(h) with fire_op; "multi" counts are floor(h/θ) ("ge") or floor((h−1)/θ) ("gt"),
        capped at max_spikes, 0 where h does not fire; always 0 for spikes "none"."""
        op, theta = self.op, self.theta
        if op.spikes == "none":
            return np.zeros(h.shape, dtype=object)
        fired = h >= theta if op.fire_op == "ge" else h > theta
        if op.spikes == "single":
            return fired.astype(np.int64).astype(object)
        count = h // theta if op.fire_op == "ge" else (h - 1) // theta
        if op.max_spikes is not None:
            count = np.minimum(count, op.max_spikes)
        return np.where(fired, count, 0)

    def reset(self, h: Array, s: Array) -> Array:
        """zero → v_reset where s > 0; subtract → R_voltage(h − θ·s); none → h."""
        if self.op.reset == "zero":
            return np.where(s > 0, self.v_reset, h)
        if self.op.reset == "subtract":
            return in_register(h - self.theta * s, self.arith.voltage)
        return h
