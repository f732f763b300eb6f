"""Each NIR primitive as an IR op: the neurons by one discretization rule (which nir_write.py
inverts), the stateless layers as the torch operations nirtorch maps them to.

NIR (nir 1.0.8) states its neurons as ODEs (nir/ir/neuron.py; nir/ir/threshold.py):

    I       ṽ = R·I                                      (no spikes: the output is v)
    IF      ṽ = R·I;  z = v > v_threshold;  v := v_reset where z
    LI      τ·ṽ = (v_leak − v) + R·I                     (no spikes)
    LIF     τ·ṽ = (v_leak − v) + R·I;  z, reset as IF
    CubaLI  τ_syn·İ = −I + w_in·S;  τ_mem·ṽ = (v_leak − v) + R·I
    CubaLIF CubaLI's current and voltage;  z, reset as IF
    Threshold  z = v > threshold                         (stateless)

snnc discretizes them by **forward Euler with step dt**, current first, then the voltage from
the new current (k = dt/τ):

    I[t] = I[t−1] + k_syn·(−I[t−1] + w_in·x[t])
    h[t] = v[t−1] + k·((v_leak − v[t−1]) + R·I[t])       (IF/I: h = v[t−1] + dt·R·I[t])
    z[t] = h[t] > v_threshold;  v[t] = v_reset where z[t], else h[t]      (same step, as NIR)

This is the rule the exporters that state a dt follow: SpikingJelly writes τ_nir = τ·dt, r = 1
and an IF's r = 1/dt (spikingjelly/activation_based/nir_exchange/to_nir.py: map_lif, map_if),
snnTorch writes τ = dt/(1−β), r = τ/dt, w_in = τ_syn/dt (snntorch/export_nir.py:
_extract_snntorch_module), and Euler then gives back their own updates v = v + (x − v)/τ and
v = β·v + x. Where an exporter departs from it (Norse's τ, sinabs' dt-free IF), the difference
is documented and measured in tests/integration/test_nir_libraries.py.

Choices, each a convention of the NIR sources cited:
- spikes have amplitude 1 (NIR's z ∈ {0, 1}); the fire test is strict (v > θ → fire_op "gt");
- the initial state is the resting potential: v_leak for LI/LIF/CubaLI/CubaLIF (Norse's LIFBox
  and LIF start there, norse/torch/module/lif_box.py), v_reset for IF (Norse's IAF and
  SpikingJelly's IFNode start there), 0 for I and for every current;
- float order: with R ≡ 1 the LIF step is the IR's "delta" charge with τ/dt as a divisor,
  h = v + (x − (v − v_leak))/(τ/dt), SpikingJelly's order (spikingjelly/activation_based/_ops/
  lif/reference.py); otherwise the affine view v_decay = 1 − k, gain = k·R, bias = k·v_leak,
  each computed in float64 and rounded once (snnTorch's β·v + x when R = τ/dt);
- the non-spiking I, LI and CubaLI are the same Euler steps in a Neuron with spikes "none", whose
  output is the membrane v[t] (snnc/ir/ops.py; Norse's LI readout is converted so too);
- Threshold (z = v > θ, stateless) is a Neuron that keeps nothing: h = 0·v + x, no reset.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from snnc.diagnostics import input_error
from snnc.ir import ops
from snnc.ir.ops import FloatOrder, Neuron
from snnc.ir.types import TensorType

F32 = np.float32


def as_array(value: Any) -> np.ndarray:
    """A NIR parameter (numpy, torch tensor, list or Python number) as a float64 numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


class NodeParams:
    """The parameters of one NIR neuron, normalized to the IR's shapes: one value for all neurons
    (a 0-d array, or an array of one element), or one per neuron of the layer's shape. `changes`
    says, per field, what was normalized, for the reader's info note."""

    def __init__(self, node: Any, name: str, shape: tuple[int, ...]) -> None:
        self.node, self.name, self.shape = node, name, shape
        self.changes: dict[str, str] = {}

    def __call__(self, field: str) -> np.ndarray:
        value = as_array(getattr(self.node, field))
        if value.shape == self.shape:
            return value
        if value.size == 1:
            self.changes[field] = "one value, broadcast to every neuron"
            return value.reshape(())
        if value.size == int(np.prod(self.shape)):  # e.g. a flat (N,) parameter on a (C, H, W) layer
            self.changes[field] = f"shape {value.shape} read row-major as the layer's {self.shape}"
            return value.reshape(self.shape)
        raise input_error(
            "FE-UNSUPPORTED-ATTR",
            f"NIR {type(self.node).__name__} parameter {field} has shape {value.shape}, "
            f"but the layer's input has shape {self.shape}",
            node=self.name,
            hint="give one value per neuron of the layer, or a single value",
        )


def _f32(value: np.ndarray) -> np.ndarray:
    return np.asarray(value, dtype=F32)


def _euler(p: NodeParams, dt: float, *, tau: str | None, current: bool, spiking: bool, v_init: str | None) -> Neuron:
    """The Neuron of one NIR neuron under the Euler rule above: IF/I without τ, LIF/LI with τ,
    CubaLIF/CubaLI with a current. An infinite τ (no leak, which NIR cannot state) gives inf or
    nan here; the verifier then names the node (IR-NONFINITE), so numpy need not warn."""
    r = p("r")
    if spiking:
        fixed = {"threshold": _f32(p("v_threshold")), "reset": "zero", "v_reset": _f32(p("v_reset")), "fire_op": "gt"}
    else:
        fixed = {"spikes": "none", "reset": "none"}
    fixed["v_init"] = _f32(p(v_init)) if v_init else F32(0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if tau is None:  # IF, I: h = v + dt·R·x
            return Neuron(v_decay=F32(1), gain=_f32(dt * r), **fixed)
        k, v_leak = dt / p(tau), p("v_leak")
        if current:
            k_syn = dt / p("tau_syn")
            # I = (1 − k_syn)·I + k_syn·w_in·x: the IR current i = i_decay·i + x is I/(k_syn·w_in).
            gain = k * r * k_syn * p("w_in")
            return Neuron(v_decay=_f32(1 - k), gain=_f32(gain), bias=_f32(k * v_leak), i_decay=_f32(1 - k_syn), **fixed)
        if np.all(r == 1):
            order = FloatOrder("delta", rate=_f32(p(tau) / dt), rate_op="div", v_rest=_f32(v_leak))
            return Neuron(float_order=order, **fixed)
        return Neuron(v_decay=_f32(1 - k), gain=_f32(k * r), bias=_f32(k * v_leak), **fixed)


def _threshold(p: NodeParams, dt: float) -> Neuron:
    """A stateless fire test: h = 0·v + x, so nothing carries over from step to step."""
    return Neuron(threshold=_f32(p("threshold")), v_decay=F32(0), reset="none", fire_op="gt")


NEURONS: dict[str, Callable[[NodeParams, float], Neuron]] = {
    "IF": partial(_euler, tau=None, current=False, spiking=True, v_init="v_reset"),
    "LIF": partial(_euler, tau="tau", current=False, spiking=True, v_init="v_leak"),
    "CubaLIF": partial(_euler, tau="tau_mem", current=True, spiking=True, v_init="v_leak"),
    "I": partial(_euler, tau=None, current=False, spiking=False, v_init=None),
    "LI": partial(_euler, tau="tau", current=False, spiking=False, v_init="v_leak"),
    "CubaLI": partial(_euler, tau="tau_mem", current=True, spiking=False, v_init="v_leak"),
    "Threshold": _threshold,
}
"""NIR neuron type → its Neuron under step dt (nir/ir/neuron.py, nir/ir/threshold.py)."""

SPIKING = ("IF", "LIF", "CubaLIF", "Threshold")


# --- stateless primitives (nir/ir/linear.py, conv.py, pooling.py, flatten.py) -----------------------


def _weight(key: str, node: Any, ndim: int) -> np.ndarray:
    weight = as_array(node.weight).astype(np.float32)
    if weight.ndim != ndim:
        raise input_error(
            "FE-UNSUPPORTED-ATTR",
            f"NIR {type(node).__name__} weight has shape {weight.shape}; snnc reads {ndim}-d weights",
            node=key,
        )
    return weight


def _affine(key: str, node: Any, x: TensorType) -> ops.Op:
    bias = getattr(node, "bias", None)
    return ops.Linear(_weight(key, node, 2), None if bias is None else as_array(bias).astype(np.float32))


def _scale(key: str, node: Any, x: TensorType) -> ops.Op:
    """NIR scales each element; the IR's Scale takes one factor, or one per channel."""
    factor = as_array(node.scale)
    if factor.size == 1:
        return ops.Scale(factor.reshape(()).astype(np.float32))
    per_channel = factor.reshape(x.channels, -1) if factor.size == x.numel else None
    if per_channel is None or not (per_channel == per_channel[:, :1]).all():
        raise input_error(
            "FE-UNSUPPORTED-ATTR",
            f"NIR Scale of shape {factor.shape} varies within a channel of its input {x}",
            node=key,
            hint="give one factor per channel",
        )
    return ops.Scale(per_channel[:, 0].astype(np.float32))


def _ints(value: Any, n: int) -> tuple[int, ...]:
    arr = np.asarray(value).ravel()
    return tuple(int(v) for v in (np.repeat(arr, n) if arr.size == 1 else arr))


def _conv(key: str, node: Any, x: TensorType) -> ops.Op:
    dims = 1 if type(node).__name__ == "Conv1d" else 2
    weight = _weight(key, node, dims + 2)
    dilation = _ints(node.dilation, dims)
    padding = node.padding
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        if padding == "same" and (any(t % 2 for t in total) or _ints(node.stride, dims) != (1,) * dims):
            raise input_error(
                "FE-UNSUPPORTED-ATTR",
                "NIR conv padding 'same' pads asymmetrically for this kernel or stride",
                node=key,
                hint="use an odd kernel with stride 1, or explicit padding",
            )
        padding = [t // 2 if padding == "same" else 0 for t in total]
    bias = getattr(node, "bias", None)
    cls = ops.Conv1d if dims == 1 else ops.Conv2d
    return cls(
        weight,
        None if bias is None else as_array(bias).astype(np.float32),
        stride=_ints(node.stride, dims),
        padding=_ints(padding, dims),
        dilation=dilation,
        groups=int(np.asarray(node.groups)),
    )


def _pool(key: str, node: Any, x: TensorType) -> ops.Op:
    cls = ops.SumPool2d if type(node).__name__ == "SumPool2d" else ops.AvgPool2d
    return cls(_ints(node.kernel_size, 2), _ints(node.stride, 2), _ints(node.padding, 2))


def _flatten(key: str, node: Any, x: TensorType) -> ops.Op:
    return ops.Flatten(int(np.asarray(node.start_dim)), int(np.asarray(node.end_dim)))


LAYERS: dict[str, Callable[[str, Any, TensorType], ops.Op]] = {
    "Affine": _affine,
    "Linear": _affine,
    "Scale": _scale,
    "Conv1d": _conv,
    "Conv2d": _conv,
    "SumPool2d": _pool,
    "AvgPool2d": _pool,
    "Flatten": _flatten,
}
"""NIR type → the IR op of a stateless primitive, given the node's name, the node and its input type."""
