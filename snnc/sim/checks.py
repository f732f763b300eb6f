"""What `run` checks before simulating: the device exists, the inputs fit the graph's inputs, and
the `record` requests name real variables (int_ops.py checks that a quantized graph runs in integers).

Bad input is a user error (exit code 2), not a crash deep inside torch: every problem becomes a
diagnostic with a stable rule id naming the graph input or node, and all of them are reported.
A static input (`Input.time`) may also be given as one frame [B, *shape], held for the steps the
source model makes. Float data for a quantized real-valued input (one with `Input.format`) are real values and are
encoded as the compiled graph defines (`NumberFormat.encode`: round half to even, saturate);
integer data for it are taken as its integers already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Input, Neuron, Output
from snnc.ir.quant import NumberFormat
from snnc.ir.types import Count, DType, Int, Spike
from snnc.sim.neuron import NEURON_VARS

OUT = "out"  # the variable every node has: its output
ACTIVITY = "activity"  # what every node but an Output can be measured for: its events (result.py Activity)


def check_device(device: str | torch.device) -> torch.device:
    """The torch device to simulate on: the CPU, or a CUDA GPU that is present."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise input_error("SIM-DEVICE", f"unknown device {device!r}", hint='use "cpu" or "cuda"')
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise input_error("SIM-DEVICE", "CUDA was asked for but is not available", hint='use device="cpu"')
    return dev


# --- inputs -----------------------------------------------------------------------------------


def check_inputs(graph: Graph, x: Any) -> dict[str, np.ndarray]:
    """The input arrays by graph input name, each [T, B, *shape] with values its dtype allows."""
    names = [n.name for n in graph.inputs]
    if isinstance(x, Mapping):
        missing = [n for n in names if n not in x]
        extra = [str(k) for k in x if k not in names]
        if missing or extra:
            raise input_error(
                "SIM-INPUT-MISSING",
                f"the graph's inputs are {_listing(names)}; missing {_listing(missing)}, unknown {_listing(extra)}",
                node=missing[0] if missing else None,
                hint="pass a dict with exactly one array per graph input",
            )
        given = dict(x)
    elif len(names) != 1:
        raise input_error(
            "SIM-INPUT-MISSING",
            f"the graph has {len(names)} inputs ({_listing(names)}) but one array was given",
            hint="pass a dict input name → array",
        )
    else:
        given = {names[0]: x}
    arrays: dict[str, np.ndarray] = {}
    found: list[Diagnostic] = []
    for node in graph.inputs:
        array = _as_numpy(given[node.name])
        array, problems = _held_frame(node, array)
        problems = problems or _input_problems(node, array)
        fmt = _format(node)
        if not problems and fmt is not None and array.dtype.kind == "f":
            array = fmt.encode(array)  # real data into the quantized input's integers
        found += problems
        if not problems:
            arrays[node.name] = array
    found += _mismatched_steps(arrays)
    if found:
        raise SnncError(found)
    return arrays


def _held_frame(node: Node, array: np.ndarray) -> tuple[np.ndarray, list[Diagnostic]]:
    """A static input given as one frame [B, *shape]: held for the steps the source model makes."""
    op = node.op
    if not isinstance(op, Input) or op.time != "static" or array.ndim != len(node.type.shape) + 1:
        return array, []
    if op.steps is None:
        return array, [
            Diagnostic(
                "SIM-INPUT-SHAPE",
                f"input {node.name!r} is static but states no number of steps, and one frame "
                f"{list(array.shape)} was given",
                node=node.name,
                hint="repeat the frame over time: np.broadcast_to(x, (T, *x.shape))",
                measured=list(array.shape),
            )
        ]
    return np.broadcast_to(array, (op.steps, *array.shape)), []


def _listing(names: Iterable[str], limit: int = 12) -> str:
    """Names for a message, the first `limit` of them (a graph can have hundreds of nodes)."""
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return (", ".join(repr(n) for n in names[:limit]) or "none") + more


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in (torch.float16, torch.float32, torch.float64):
            value = value.float()  # bfloat16 and friends have no numpy dtype
        return value.numpy()
    return np.asarray(value)


def _format(node: Node) -> NumberFormat | None:
    """A graph input's format (None: its data are not quantized real values)."""
    assert isinstance(node.op, Input)  # graph.inputs holds the Input nodes
    return node.op.format


def _input_problems(node: Node, array: np.ndarray) -> list[Diagnostic]:
    shape = node.type.shape
    if array.dtype.kind not in "biuf":
        return [_dtype_error(node, f"has non-numeric dtype {array.dtype}", "pass a numeric array")]
    if array.ndim != len(shape) + 2 or array.shape[2:] != shape or 0 in array.shape[:2]:
        want = ", ".join(["T", "B", *map(str, shape)])
        got = ", ".join(map(str, array.shape))
        return [
            Diagnostic(
                "SIM-INPUT-SHAPE",
                f"input {node.name!r} expects [{want}], got [{got}]",
                node=node.name,
                hint="data is time-major: [time steps, batch, *per-sample shape], with T, B >= 1",
                measured=list(array.shape),
                limit=[None, None, *shape],
            )
        ]
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(array.size - np.isfinite(array).sum())
        return [_dtype_error(node, f"holds {bad} NaN or infinite value(s)", "clean the data", measured=bad)]
    return _value_problems(node, array, node.type.dtype)


def _value_problems(node: Node, array: np.ndarray, dtype: DType) -> list[Diagnostic]:
    """Values outside what the input's dtype allows: {0, 1} for spikes, bounded non-negative
    integers for counts, the format's range for ints. A quantized real input (Input.format) takes
    float arrays as real values, to be encoded (round half to even, saturate), and integer arrays
    as its integers."""
    if isinstance(dtype, Int) and _format(node) is not None and array.dtype.kind == "f":
        return []
    if isinstance(dtype, Spike):
        lo, hi, what = 0, 1, "spike values in {0, 1}"
    elif isinstance(dtype, Count):
        lo, hi, what = 0, dtype.max, f"non-negative integer counts{'' if dtype.max is None else f' <= {dtype.max}'}"
    elif isinstance(dtype, Int):
        lo, hi, what = dtype.min, dtype.max, f"integers in [{dtype.min}, {dtype.max}]"
    else:
        return []
    low, high = array.min(), array.max()
    integral = array.dtype.kind != "f" or bool((array == np.floor(array)).all())
    if low >= lo and (hi is None or high <= hi) and integral:
        return []
    return [
        _dtype_error(
            node,
            f"is declared {dtype} and needs {what}, but holds values in [{low}, {high}]"
            + ("" if integral else " including non-integers"),
            "convert the data (e.g. threshold it to spikes) or declare the input with a wider dtype",
            measured=[float(low), float(high)],
        )
    ]


def _dtype_error(node: Node, what: str, hint: str, measured: Any = None) -> Diagnostic:
    return Diagnostic("SIM-INPUT-DTYPE", f"input {node.name!r} {what}", node=node.name, hint=hint, measured=measured)


def _mismatched_steps(arrays: dict[str, np.ndarray]) -> list[Diagnostic]:
    shapes = {name: a.shape[:2] for name, a in arrays.items()}
    if len(set(shapes.values())) <= 1:
        return []
    listing = ", ".join(f"{name!r} [T={t}, B={b}]" for name, (t, b) in shapes.items())
    return [
        Diagnostic(
            "SIM-INPUT-SHAPE",
            f"inputs disagree on time steps or batch size: {listing}",
            hint="every input needs the same T and B",
        )
    ]


# --- record -----------------------------------------------------------------------------------


def variables(node: Node) -> tuple[str, ...]:
    """What `record` can ask of a node: its output, its activity (not an Output's: it is its
    source's), and a neuron's membrane (and current)."""
    measured = () if isinstance(node.op, Output) else (ACTIVITY,)
    if not isinstance(node.op, Neuron):
        return (OUT, *measured)
    return (OUT, *measured, *(v for v in NEURON_VARS if v != "i" or node.op.has_current))


def parse_record(graph: Graph, record: Iterable[str]) -> dict[str, frozenset[str]]:
    """node name → variables to record. "var" asks every node that has it, "node:var" one node."""
    if isinstance(record, str):
        record = (record,)
    wanted: dict[str, set[str]] = {}
    found: list[Diagnostic] = []
    for request in record:
        name, sep, var = str(request).rpartition(":")
        if not sep:
            nodes = [n for n in graph if var in variables(n)]
            if not nodes:
                found.append(_record_error(request, f"no node has a variable {var!r}", _choices(graph)))
        elif name not in graph:
            found.append(_record_error(request, f"there is no node {name!r}", _choices(graph)))
            nodes = []
        elif var not in variables(graph.node(name)):
            node_vars = ", ".join(f"{name}:{v}" for v in variables(graph.node(name)))
            found.append(_record_error(request, f"node {name!r} has no variable {var!r}", node_vars, name))
            nodes = []
        else:
            nodes = [graph.node(name)]
        for node in nodes:
            wanted.setdefault(node.name, set()).add(var)
    if found:
        raise SnncError(found)
    return {name: frozenset(vs) for name, vs in wanted.items()}


def _choices(graph: Graph) -> str:
    present = sorted({v for n in graph for v in variables(n)}, key=(OUT, ACTIVITY, *NEURON_VARS).index)
    return f"{', '.join(present)}, or node:var for one node (nodes: {_listing(n.name for n in graph)})"


def _record_error(request: str, what: str, choices: str, node: str | None = None) -> Diagnostic:
    return Diagnostic(
        "SIM-RECORD",
        f"cannot record {request!r}: {what}",
        node=node,
        hint=f"record one of {choices}",
    )
