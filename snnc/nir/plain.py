"""Each IR node as the NIR primitive with the same meaning (nir/ir/*.py), and what NIR loses.

The mapping inverts the reader's forward-Euler rule (primitives.py): k = 1 − v_decay, τ = dt/k,
R = gain/k, v_leak = bias/k; an IF's R = gain/dt. What NIR has no field for — subtract or no
reset, v ≥ θ, next-step reset, multi-spikes, v_min, initial state, the late input, quantization
formats, a library's float order — is listed per node (`plain_node`'s second result), for the
writer's EXPORT-NIR-LOSSY warnings, and each neuron's switches are also written as readable text
into its NIR `metadata["snnc"]`. Ops with no NIR primitive raise `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from snnc.ir import ops
from snnc.ir.graph import Graph, Node
from snnc.ir.neuron_features import NeuronFeatures, unsupported

F32 = np.float32


def nir_key(name: str) -> str:
    """An IR node name as a NIR node key, which is an HDF5 group name: '/' would nest groups, NUL
    ends a C string, '', '.' and '..' name no group of their own; they are %-escaped (and '%')."""
    key = name.replace("%", "%25").replace("/", "%2F").replace("\x00", "%00")
    return {"": "%", ".": "%2E", "..": "%2E%2E"}.get(key, key)


class Unsupported(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def plain_node(node: Node, graph: Graph, dt: float) -> tuple[Any, list[str]]:
    """The NIR primitive for one IR node, and what a plain NIR reader loses (empty: nothing)."""
    writer = _WRITERS.get(type(node.op))
    if writer is None or (isinstance(node.op, ops.Elementwise) and node.op.fn != "add"):
        what = node.op.kind if writer is None else f"elementwise {node.op.fn}"
        raise Unsupported(f"NIR has no primitive for {what}", HINTS.get(node.op.kind, "remove or rewrite the node"))
    types = graph.input_types(node)
    shape = types[0].shape if types else node.type.shape
    return writer(node, shape, dt)


HINTS = {
    "batchnorm": "fold it into the neighbouring layer first (the fold-bn pass)",
    "relu": "convert the ANN to an SNN first (snnc convert)",
    "maxpool2d": "max pooling of spikes is written exactly (as OR); of other values pass maxpool='avg' "
    "(--maxpool avg) to write an average pool, or use average or sum pooling",
    "reshape": "reshape to 1-d (a flatten) only",
    "elementwise": "only additions have a NIR form (summed edges)",
    "crop": "crop the input data before the network instead (NIR 1.0.8 has no crop)",
    "flip": "mirror or transpose the input data before the network instead (NIR 1.0.8 has no flip)",
}


def _full(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A scalar, per-channel or per-neuron parameter at the full per-sample shape (float64)."""
    value = np.asarray(value, np.float64)
    if value.ndim == 1 and len(shape) > 1:
        value = value.reshape(-1, *([1] * (len(shape) - 1)))
    return np.broadcast_to(value, shape).copy()


def _quantized(node: Node) -> list[str]:
    formats = node.op.formats()
    return [f"integer parameters in {', '.join(sorted({str(f) for f in formats.values()}))}"] if formats else []


def _boundary(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    if isinstance(node.op, ops.Input):
        return nir.Input(input_type=np.array(node.op.shape)), []
    return nir.Output(output_type=np.array(shape)), []


def _linear(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    op = node.op
    if op.bias is None:
        return nir.Linear(weight=op.weight), _quantized(node)
    return nir.Affine(weight=op.weight, bias=op.bias), _quantized(node)


def _conv(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    op = node.op
    bias = op.bias if op.bias is not None else np.zeros(op.out_channels, op.weight.dtype)
    if isinstance(op, ops.Conv1d):
        (stride,), (padding,), (dilation,) = op.stride, op.padding, op.dilation
        conv = nir.Conv1d(int(shape[1]), op.weight, stride, padding, dilation, op.groups, bias)
    else:
        conv = nir.Conv2d(tuple(shape[1:]), op.weight, op.stride, op.padding, op.dilation, op.groups, bias)
    return conv, _quantized(node)


def _scale(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    if isinstance(node.op, ops.Elementwise):  # an add is a junction: NIR sums a node's input edges
        return nir.Scale(scale=np.ones(shape, F32)), []
    return nir.Scale(scale=_full(node.op.factor, shape).astype(F32)), []


def _pool(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    """Sum and average pools as NIR's; a max pool (NIR has none) as an average pool, which the
    writer allows only where the user chose it (write.py: maxpool="avg")."""
    import nir

    op = node.op
    cls = nir.SumPool2d if isinstance(op, ops.SumPool2d) else nir.AvgPool2d
    lost = ["windows in ceil mode; NIR pools in floor mode"] if op.ceil_mode else []
    if isinstance(op, ops.MaxPool2d):
        lost.insert(0, "max pooling has no NIR primitive: written as an average pool, a NIR reader computes the mean")
    if isinstance(op, ops.AvgPool2d) and not op.count_include_pad and any(op.padding):
        lost.append("padding excluded from the average; NIR counts it")
    return cls(np.array(op.kernel), np.array(op.stride), np.array(op.padding)), lost


def _flatten(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    op = node.op
    if isinstance(op, ops.Reshape):
        if len(op.shape) != 1:
            raise Unsupported(f"NIR has no reshape to {op.shape}", HINTS["reshape"])
        return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1), []
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=op.start, end_dim=op.end), []


def _delay(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    return nir.Delay(delay=np.full(shape, node.op.steps * dt, F32)), []


def _neuron(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    """IF, LIF or CubaLIF (I, LI or CubaLI for spikes "none") with the parameters whose Euler step
    is the neuron's affine view."""
    import nir

    op: ops.Neuron = node.op.canonical()  # a library's float order is not NIR's concern
    if _comparator(op):  # h = x, s = h > θ, nothing kept: NIR's stateless Threshold (nir/ir/threshold.py)
        return nir.Threshold(threshold=_full(op.threshold, shape).astype(F32)), _quantized(node)
    k, gain, bias = 1 - _full(op.v_decay, shape), _full(op.gain, shape), _full(op.bias, shape)
    spiking = op.spikes != "none"
    fire = {"v_threshold": _full(op.threshold, shape), "v_reset": _full(op.v_reset, shape)} if spiking else {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if op.has_current:
            # NIR's I = (1 − k_syn)·I + k_syn·w_in·x must equal the IR current i = a_i·i + x.
            k_syn = 1 - _full(op.i_decay, shape)
            cls, rest = (nir.CubaLIF if spiking else nir.CubaLI), bias / k
            fields = {"tau_syn": dt / k_syn, "tau_mem": dt / k, "r": gain / k, "v_leak": rest, "w_in": 1 / k_syn}
        elif not k.any() and not bias.any():
            cls, rest = (nir.IF, fire["v_reset"]) if spiking else (nir.I, np.zeros(shape))
            fields = {"r": gain / dt}
        else:
            cls, rest = (nir.LIF if spiking else nir.LI), bias / k
            fields = {"tau": dt / k, "r": gain / k, "v_leak": rest}
    out = cls(**_f32(fields | fire))
    out.metadata = {"snnc": {f: str(getattr(op, f)) for f in ("reset", "reset_timing", "fire_op", "spikes")}}
    return out, _neuron_losses(node, rest, shape) + _quantized(node)


def _comparator(op: ops.Neuron) -> bool:
    """A neuron that keeps nothing between steps and fires on h = x > θ (as maxpool-or lowering
    writes it, write.py): v_decay 0, gain 1, no bias, current or lower bound, same-step reset."""
    return (
        not op.v_decay.any()
        and bool(np.all(op.gain == 1))
        and not op.bias.any()
        and not op.has_current
        and op.v_min is None
        and op.fire_op == "gt"
        and op.spikes == "single"
        and op.reset_timing == "same_step"
        and op.state_format is None
    )


def _f32(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, F32) for name, value in fields.items()}


NIR_NEURONS = NeuronFeatures(
    "NIR",
    resets=frozenset({"zero"}),
    reset_timings=frozenset({"same_step"}),
    fire_ops=frozenset({"gt"}),
    spikes=frozenset({"single", "none"}),
    voltage_first=False,
    v_min=False,
    late_input=False,
)
"""What NIR's neurons state (nir/ir/neuron.py: IF, LIF, CubaLIF and their non-spiking I, LI,
CubaLI): fire on v > θ, reset to v_reset in the same step, one spike, continuous-time decays
(leak, bias and current expressible), no floor, every input summed before the neuron."""


def _neuron_losses(node: Node, rest: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    """The neuron's behaviour that NIR's neurons (nir/ir/neuron.py) cannot state."""
    op: ops.Neuron = node.op.canonical()
    lost = unsupported(op, NIR_NEURONS, late_input=len(node.inputs) > 1)
    if not np.isfinite(rest).all():
        lost.append(
            "no leak on some neurons with a constant drive, or a current without decay: NIR's τ is infinite there"
        )
    elif not np.array_equal(_full(op.v_init, shape), rest.astype(F32)):
        lost.append("an initial membrane other than NIR's resting value")
    if op.has_current and op.i_init.any():
        lost.append("a nonzero initial current")
    return lost


_WRITERS: dict[type, Callable[[Node, tuple[int, ...], float], tuple[Any, list[str]]]] = {
    ops.Input: _boundary,
    ops.Output: _boundary,
    ops.Linear: _linear,
    ops.Conv1d: _conv,
    ops.Conv2d: _conv,
    ops.Scale: _scale,
    ops.Elementwise: _scale,
    ops.SumPool2d: _pool,
    ops.AvgPool2d: _pool,
    ops.MaxPool2d: _pool,
    ops.Flatten: _flatten,
    ops.Reshape: _flatten,
    ops.Delay: _delay,
    ops.Neuron: _neuron,
}
