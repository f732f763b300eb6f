"""A float neuron mapped onto the Neuron's integer semantics (snnc/ir/ops.py), for `Quantize`:
decays as 2^k-based multipliers, state values in units σ = s·2^input_shift, gain as the target's
input shift."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Node
from snnc.ir.ops import Neuron, Op
from snnc.ir.quant import NumberFormat
from snnc.passes.quantize.scale import F32, scale_value
from snnc.passes.quantize.spec import QuantSpec
from snnc.passes.quantize.units import unsupported


@dataclass
class NeuronView:
    """A float neuron as the affine integer semantics sees it (Neuron docstring, snnc/ir/ops.py)."""

    node: Node
    a_v: np.ndarray
    gain: np.ndarray  # g·c: the factor on the input where it enters the state
    bias: np.ndarray
    a_i: np.ndarray | None
    i_init: np.ndarray  # g·i_init, in units of h

    @classmethod
    def of(cls, node: Node) -> NeuronView:
        op = _neuron(node).canonical()
        a_v, g, b = (np.asarray(p, np.float64) for p in (op.v_decay, op.gain, op.bias))
        a_i = np.asarray(op.i_decay, np.float64) if op.has_current else None
        return cls(node, a_v, g, b, a_i, combine(node.type.shape, g, op.i_init))

    @property
    def neuron(self) -> Neuron:
        """The node's op as the graph holds it (`of` views its canonical form)."""
        return _neuron(self.node)


def _neuron(node: Node) -> Neuron:
    assert isinstance(node.op, Neuron)  # units.find_units puts only neurons in a unit's neurons
    return node.op


def _aligned(value, shape: tuple[int, ...], dtype: DTypeLike = np.float64) -> np.ndarray:
    """A scalar, (C,) or per-neuron parameter that broadcasts over the per-sample `shape`."""
    v = np.asarray(value, dtype)
    return v.reshape(v.shape[0], *([1] * (len(shape) - 1))) if v.ndim == 1 and len(shape) > 1 else v


def _allowed(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A broadcast result back in a parameter shape the Neuron accepts: (C, 1, 1) becomes (C,)."""
    if value.ndim == len(shape) > 1 and value.shape[1:] == (1,) * (len(shape) - 1):
        return value.reshape(value.shape[0])
    return value


def combine(shape: tuple[int, ...], a: np.ndarray, b: np.ndarray, add: np.ndarray | None = None) -> np.ndarray:
    """a·b (+ add) for neuron parameters of any of the allowed shapes (scalar, (C,), `shape`),
    channel axes aligned, the result again of an allowed shape."""
    out = _aligned(a, shape) * _aligned(b, shape) + (0.0 if add is None else _aligned(add, shape))
    return _allowed(out, shape)


def _decay(view: NeuronView, factor: np.ndarray, what: str, k: int) -> tuple[np.ndarray, list[Diagnostic]]:
    """2^k − round((1 − a)·2^k) (Lava's dv = round(δ·4096), docs/targets/loihi.md §7.2),
    clipped to [0, 2^k]: QUANT-SATURATION outside, QUANT-ZEROED where a leak rounds away."""
    one = 1 << k
    m = one - np.round((1.0 - factor) * one)
    found = []
    bad = (m < 0) | (m > one)
    if bad.any():
        found.append(
            Diagnostic(
                "QUANT-SATURATION",
                f"{what} factor in [{float(factor.min()):.4g}, {float(factor.max()):.4g}] clipped to [0, 1]",
                node=view.node.name,
                severity=Severity.WARNING,
                hint="a factor above 1 grows without bound; below 0 it oscillates",
                measured=[float(factor.min()), float(factor.max())],
                limit=[0, 1],
            )
        )
    lost = (m == one) & (factor != 1)
    if lost.any():
        found.append(
            Diagnostic(
                "QUANT-ZEROED",
                f"{what} leak 1 − {float(factor[lost].flat[0]):.6g} rounds to none with {k}-bit decays",
                node=view.node.name,
                severity=Severity.WARNING,
                hint="the neuron integrates without leak; use a shorter time constant",
                measured=float(1 - factor[lost].flat[0]),
                limit=1 / one,
            )
        )
    return np.clip(m, 0, one).astype(np.int64), found


def quantize_neuron(view: NeuronView, scale, spec: QuantSpec) -> tuple[Op, list[Diagnostic]]:
    arith = spec.arithmetic
    op = view.neuron
    shape = view.node.type.shape
    sigma = np.asarray(scale, F32).reshape(()) if np.size(scale) == 1 else np.asarray(scale, F32)
    shift = 2.0**spec.input_shift

    def scaled(value) -> np.ndarray:
        """value·s in float32 (sinabs' product, unrounded), times the input shift."""
        return _allowed((_aligned(value, shape, F32) * _aligned(sigma, shape, F32)).astype(np.float64), shape) * shift

    def state(value, register) -> np.ndarray:
        return np.clip(np.round(scaled(value)), register.min, register.max).astype(np.int64)

    found = []
    if op.spikes == "none":  # never compared (s = 0): the smallest positive value the target holds
        threshold = np.full(np.shape(op.threshold), 1 << arith.threshold.min_exp, np.int64)
    else:
        threshold = arith.threshold.quantize(scaled(op.threshold))
    if np.any(threshold <= 0):
        found.append(
            Diagnostic(
                "QUANT-ZEROED",
                f"threshold {float(np.min(op.threshold)):.6g} rounds to 0 at scale {float(np.min(scale)):.6g}",
                node=view.node.name,
                hint="the neuron would fire on every step: a larger weight or threshold range is needed"
                + ("; an unset v_min counts as -32768 (sinabs)" if op.v_min is None and spec.v_min_default else ""),
                measured=float(np.min(op.threshold)),
                limit=float(0.5 / np.min(scale) / shift),
            )
        )
    v_decay, diags = _decay(view, view.a_v, "v_decay", arith.decay_shift)
    found += diags
    i_decay = None
    if view.a_i is not None:
        i_decay, diags = _decay(view, view.a_i, "i_decay", arith.decay_shift)
        found += diags
    elif spec.current == "always":
        i_decay = np.zeros((), np.int64)  # a memoryless current: i = g·x each step
    gain = arith.gain.quantize(np.asarray(view.gain, np.float64) * shift)
    if np.any((gain == 0) & (view.gain != 0)):
        hint = (
            "the gain times 2^input_shift must be an integer of the target's gain format: a neuron fed through a "
            "Linear/Conv folds its gain into the weights, one fed directly needs one gain for all its neurons "
            "(absorbed into its state scale); put a layer before it, or give it a single time constant"
        )
        found.append(
            unsupported(view.node.name, f"gain {float(np.max(view.gain)):.4g} does not fit {arith.gain}", hint)
        )
    v_min = op.v_min if op.v_min is not None else spec.v_min_default
    new = op.replace(
        threshold=threshold,
        v_decay=v_decay,
        gain=gain,
        bias=arith.bias.quantize(scaled(view.bias)),
        i_decay=i_decay,
        float_order=None,
        v_reset=state(op.v_reset, arith.voltage),
        v_min=None if v_min is None else state(v_min, arith.voltage),
        v_init=state(op.v_init, arith.voltage),
        i_init=state(view.i_init, arith.current) if i_decay is not None else np.zeros((), np.int64),
        state_format=NumberFormat(arith.voltage.bits, True, scale=scale_value(np.asarray(scale) * F32(shift))),
    )
    return new, found
