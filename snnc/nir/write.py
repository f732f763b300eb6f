"""Writing IR graphs as NIR, with a semantics sidecar so that IR → NIR → IR is exact.

Two readers must be served. A plain NIR reader (nirtorch, Norse, SpikingJelly, snnc without the
sidecar) gets the graph NIR can express: each IR node becomes the NIR primitive with the same
continuous-time meaning under snnc's forward-Euler rule (nir_primitives.py, inverted: k = 1 −
v_decay, τ = dt/k, R = gain/k, v_leak = bias/k; an IF's R = gain/dt). What NIR has no field for
— subtract or no reset, v ≥ θ, next-step reset, multi-spikes, v_min, initial state, the late
input, quantization formats, the float order — is reported per node as a EXPORT-NIR-LOSSY
warning (what that plain reader will compute differently), and each neuron's switches are also
written as readable text into its NIR `metadata["snnc"]`.

snnc itself reads the sidecar: the graph's `.snnc` bytes (snnc/ir/serialize.py, checksummed)
stored in the NIR graph's `metadata["snnc"]` with the dt they were written with. `restore`
returns that exact graph only when the NIR part still says what the writer wrote: every NIR
node is regenerated from the restored IR node and compared field by field, and the edges too.
A file edited by another tool since (new weights, a removed node) is read from its NIR part
instead, with a FE-NIR-SIDECAR warning. Ops with no NIR primitive (BatchNorm, ReLU, MaxPool2d,
Concat, Reshape other than to 1-d, Elementwise other than add) stop the export with
EXPORT-NIR-UNSUPPORTED, naming every such node.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from snnc.atomic import write_atomically
from snnc.diagnostics import Diagnostic, Severity, SnncError, input_error
from snnc.ir import ops
from snnc.ir.graph import Graph, Node
from snnc.ir.neuron_features import NeuronFeatures, unsupported

F32 = np.float32
SIDECAR_VERSION = 1
_NIR_ONLY = ("metadata", "input_type", "output_type")


def nir_key(name: str) -> str:
    """An IR node name as a NIR node key, which is an HDF5 group name: '/' would nest groups, NUL
    ends a C string, '', '.' and '..' name no group of their own; they are %-escaped (and '%')."""
    key = name.replace("%", "%25").replace("/", "%2F").replace("\x00", "%00")
    return {"": "%", ".": "%2E", "..": "%2E%2E"}.get(key, key)


def to_nir(graph: Graph, dt: float) -> tuple[Any, list[Diagnostic]]:
    """The NIRGraph of `graph` (sidecar included) and a warning per node a plain reader loses."""
    import nir

    from snnc.ir.serialize import dumps

    nodes, warnings, unsupported = {}, [], []
    for node in graph.nodes:
        try:
            nir_node, lost = plain_node(node, graph, dt)
        except _Unsupported as e:
            unsupported.append(Diagnostic("EXPORT-NIR-UNSUPPORTED", str(e), node=node.name, hint=e.hint))
            continue
        nodes[nir_key(node.name)] = nir_node
        if lost:
            warnings.append(
                Diagnostic(
                    "EXPORT-NIR-LOSSY",
                    "a plain NIR reader computes this node differently: " + "; ".join(lost),
                    node=node.name,
                    hint="snnc reads the exact node back from the file's snnc metadata",
                    severity=Severity.WARNING,
                )
            )
    if unsupported:
        raise SnncError(unsupported)
    edges = [(nir_key(i), nir_key(n.name)) for n in graph.nodes for i in n.inputs]
    sidecar = {"version": SIDECAR_VERSION, "dt": float(dt), "graph": np.frombuffer(dumps(graph), np.uint8)}
    return nir.NIRGraph(nodes, edges, metadata={"snnc": sidecar}, type_check=False), warnings


def _fold_batchnorm(graph: Graph) -> tuple[Graph, list[Diagnostic]]:
    """NIR has no BatchNorm primitive (nir/ir/__init__.py), so export folds eval-mode BatchNorm into
    the neighbouring layer first (snnc/passes/fold_bn.py: exact in real arithmetic, float sums may
    differ in the last bit); what cannot be folded stays and is reported as unsupported."""
    from snnc.passes.base import PassContext
    from snnc.passes.fold_bn import FoldBN

    if not any(n.op.kind == "batchnorm" for n in graph.nodes):
        return graph, []
    ctx = PassContext()
    folded = FoldBN()(graph, ctx)
    n = ctx.rewrites[FoldBN.name]
    note = Diagnostic(
        "EXPORT-BN-FOLDED",
        f"folded {n} BatchNorm node(s) into the neighbouring layers, since NIR has no BatchNorm",
        severity=Severity.INFO,
        hint="the exported weights and biases include the BatchNorm; results agree up to float rounding",
    )
    return folded, ([note] if n else []) + [d for d in ctx.diagnostics if d.severity is not Severity.ERROR]


def write_nir(graph: Graph, path: str | Path, dt: float) -> list[Diagnostic]:
    """Write `graph` as a NIR file, atomically (nothing is left at `path` if anything fails)."""
    import nir

    if not (np.isfinite(dt) and dt > 0):
        raise input_error("FE-NIR-DT", f"dt = {dt!r} is not a positive time step in seconds", hint="e.g. dt=1e-4")
    graph, folded = _fold_batchnorm(graph)
    nir_graph, warnings = to_nir(graph, dt)
    warnings = folded + warnings
    buffer = io.BytesIO()
    try:
        nir.write(buffer, nir_graph)
    except Exception as e:  # a value h5py cannot store (the graph itself is verified)
        raise input_error(
            "EXPORT-NIR-UNSUPPORTED",
            f"NIR's writer cannot store this graph ({type(e).__name__}: {str(e)[:200]})",
            hint="check the node names and parameters the message names; please report it if the graph is ordinary",
        ) from e
    write_atomically(path, buffer.getvalue(), rule="EXPORT-WRITE")
    return warnings


# --- IR node → plain NIR node -------------------------------------------------------------------


class _Unsupported(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def plain_node(node: Node, graph: Graph, dt: float) -> tuple[Any, list[str]]:
    """The NIR primitive for one IR node, and what a plain NIR reader loses (empty: nothing)."""
    writer = _WRITERS.get(type(node.op))
    if writer is None or (isinstance(node.op, ops.Elementwise) and node.op.fn != "add"):
        what = node.op.kind if writer is None else f"elementwise {node.op.fn}"
        raise _Unsupported(f"NIR has no primitive for {what}", _HINTS.get(node.op.kind, "remove or rewrite the node"))
    types = graph.input_types(node)
    shape = types[0].shape if types else node.type.shape
    return writer(node, shape, dt)


_HINTS = {
    "batchnorm": "fold it into the neighbouring layer first (the fold-bn pass)",
    "relu": "convert the ANN to an SNN first (snnc convert)",
    "maxpool2d": "use average or sum pooling",
    "reshape": "reshape to 1-d (a flatten) only",
    "elementwise": "only additions have a NIR form (summed edges)",
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
    import nir

    op = node.op
    cls = nir.SumPool2d if isinstance(op, ops.SumPool2d) else nir.AvgPool2d
    lost = ["windows in ceil mode; NIR pools in floor mode"] if op.ceil_mode else []
    if isinstance(op, ops.AvgPool2d) and not op.count_include_pad and any(op.padding):
        lost.append("padding excluded from the average; NIR counts it")
    return cls(np.array(op.kernel), np.array(op.stride), np.array(op.padding)), lost


def _flatten(node: Node, shape: tuple[int, ...], dt: float) -> tuple[Any, list[str]]:
    import nir

    op = node.op
    if isinstance(op, ops.Reshape):
        if len(op.shape) != 1:
            raise _Unsupported(f"NIR has no reshape to {op.shape}", _HINTS["reshape"])
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
    ops.Flatten: _flatten,
    ops.Reshape: _flatten,
    ops.Delay: _delay,
    ops.Neuron: _neuron,
}


# --- the sidecar, read back ---------------------------------------------------------------------


def restore(nir_graph: Any, name: str, notes: list[Diagnostic]) -> tuple[Graph | None, float | None]:
    """The exact IR graph the file's snnc sidecar holds, if the NIR part still matches it, and
    the dt it was written with (None, None without a sidecar)."""
    from snnc.ir.serialize import loads

    entry = (getattr(nir_graph, "metadata", None) or {}).get("snnc")
    if not isinstance(entry, dict):
        return None, None
    try:
        version, dt = int(np.asarray(entry["version"])), float(np.asarray(entry["dt"]))
        if version != SIDECAR_VERSION:
            raise ValueError(f"sidecar version {version}; this snnc reads version {SIDECAR_VERSION}")
        graph = loads(np.asarray(entry["graph"], np.uint8).tobytes(), source=f"{name} (snnc sidecar)")
    except (KeyError, TypeError, ValueError, SnncError) as e:
        notes.append(_stale(f"its snnc sidecar cannot be used ({str(e).splitlines()[0]})"))
        return None, None
    differences = _differences(nir_graph, graph, dt)
    if differences:
        notes.append(_stale("its NIR part was changed after snnc wrote it: " + "; ".join(differences[:5])))
        return None, dt
    return graph, dt


def _stale(why: str) -> Diagnostic:
    return Diagnostic(
        "FE-NIR-SIDECAR",
        f"the file carries snnc metadata, but {why}; the NIR graph is read as any NIR file",
        hint="export the model from snnc again to keep snnc's exact semantics",
        severity=Severity.WARNING,
    )


def _differences(nir_graph: Any, graph: Graph, dt: float) -> list[str]:
    keys = {nir_key(n.name): n for n in graph.nodes}
    if set(keys) != set(nir_graph.nodes):
        return [f"nodes {sorted(set(keys) ^ set(nir_graph.nodes))[:5]} were added or removed"]
    edges = {(nir_key(i), key) for key, n in keys.items() for i in n.inputs}
    if edges != {tuple(e) for e in nir_graph.edges}:
        return ["the edges differ"]
    found = []
    for key, node in keys.items():
        try:
            expected, _ = plain_node(node, graph, dt)
        except _Unsupported:
            return [f"{node.name} has no NIR form"]
        if not _same(expected, nir_graph.nodes[key]):
            found.append(f"node {node.name!r} differs")
    return found


def _values(node: Any) -> dict[str, Any]:
    out = {f.name: getattr(node, f.name, None) for f in dataclasses.fields(node) if f.name not in _NIR_ONLY}
    if type(node).__name__ in ("Input", "Output", "Flatten"):
        types = getattr(node, "input_type", None) or getattr(node, "output_type", None) or {}
        out["shape"] = next(iter(types.values()), None)
    return out


def _same(a: Any, b: Any) -> bool:
    if type(a).__name__ != type(b).__name__:
        return False
    va, vb = _values(a), _values(b)
    return va.keys() == vb.keys() and all(_equal(va[k], vb[k]) for k in va)


def _equal(a: Any, b: Any) -> bool:
    if hasattr(b, "detach"):
        b = b.detach().cpu().numpy()
    if isinstance(a, str) or isinstance(b, (str, bytes)):
        return str(a) == (b.decode() if isinstance(b, bytes) else str(b))
    try:
        return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)
    except (TypeError, ValueError):
        return False
