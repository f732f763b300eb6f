"""Reading ANN graphs from ONNX files (as torch.onnx exports them) into the IR, without running them.

The file is parsed with the `onnx` package only (protobuf and `numpy_helper`; no runtime, no
custom-op code), so loading an untrusted file runs nothing; tensor data kept in another file (ONNX
external data) is read only from the model's own sibling data file, and initializers are checked
against their declared dims and the memory limit. Each ONNX operator maps onto the IR
op with the same meaning (the ONNX operator specification, onnx/docs/Operators.md, is cited as
"spec"); per-sample shapes drop ONNX's leading batch axis, so ONNX axis a is IR axis a − 1:

    Conv                 Conv1d / Conv2d; pads must be symmetric; auto_pad NOTSET, VALID, or
                         SAME_* where it pads evenly
    Gemm                 Linear; transA = 0; W = alpha·B (B transposed unless transB), bias beta·C
    MatMul (+ Add)       Linear with W = Bᵀ for a constant B; a following Add of a constant that
                         only this MatMul (or a Conv/Gemm) feeds becomes its bias
    BatchNormalization   BatchNorm (eval statistics; training_mode must be 0)
    Relu                 ReLU
    MaxPool              MaxPool2d (dilations 1; ONNX strides default to 1, not to the kernel)
    AveragePool          AvgPool2d (ONNX's count_include_pad defaults to 0)
    GlobalAveragePool    AvgPool2d over the whole (H, W)
    ReduceMean           the same, when it averages axes (2, 3) of an NCHW tensor: torch's dynamo
                         exporter writes adaptive_avg_pool2d(x, 1) so (keepdims=0 adds a Flatten)
    Flatten              Flatten; axis must be 1 (the batch axis stays)
    Reshape              Flatten (to 1-d) or Reshape, with a constant shape that keeps the batch
                         axis first (0, -1 or the exported batch size)
    Add                  Elementwise add of two tensors of one shape (or a bias, above)
    Concat               Concat along axis − 1 (axis ≥ 1)

Constant, Identity and (inference-mode) Dropout only carry values. Any other operator, or an
attribute with no exact IR form, is an error naming the ONNX node; every such node is reported
at once.
"""

from __future__ import annotations

import math
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.ir import ops
from snnc.ir.graph import Graph, GraphBuilder
from snnc.ir.types import FLOAT, DType
from snnc.limits import current, format_bytes

_PASS_THROUGH = ("Identity", "Dropout")
_BIASED = ("Conv", "Gemm", "MatMul")


def is_onnx_path(source: Any) -> bool:
    return isinstance(source, (str, Path)) and Path(str(source)).suffix.lower() == ".onnx"


def load_onnx(path: str | Path, input_shape: tuple[int, ...] | None = None, *, input_dtype: DType = FLOAT) -> Graph:
    """The IR graph of the ONNX file at `path` (not yet verified: the caller verifies).
    `input_shape` (per sample) is needed only where the file leaves input dimensions symbolic."""
    reader = _Reader(_read(Path(path)), Path(path).stem, input_shape, input_dtype)
    try:
        return reader.run()
    except SnncError:
        raise
    except Exception as e:  # a value of the file that the checks above let through: still the file's
        where = f" at node {reader.node.name!r} ({reader.node.op_type})" if reader.node is not None else ""
        raise input_error(
            "FE-ONNX-READ",
            f"{path}: the ONNX graph cannot be read{where} ({type(e).__name__}: {str(e)[:200]})",
            hint="export it again with torch.onnx.export",
        ) from e


def _read(path: Path) -> Any:
    """The model, with its external data read by snnc's own checked reader (`_load_external_data`),
    never onnx's, which follows any relative location below the model's directory."""
    import onnx

    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"{path}: no such file", hint="check the path to the .onnx file")
    limit = current().memory
    if path.stat().st_size > limit:
        raise input_error(
            "FE-ONNX-READ",
            f"{path} has {format_bytes(path.stat().st_size)}, more than the memory limit of {format_bytes(limit)}",
            hint=current().memory_hint(),
        )
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError, truncated file
        raise input_error(
            "FE-ONNX-READ",
            f"{path} is not a readable ONNX model ({type(e).__name__}: {str(e)[:200]})",
            hint="export it again with torch.onnx.export",
        ) from None
    _load_external_data(model, path)
    return model


def _load_external_data(model: Any, path: Path) -> None:
    """Tensor bytes kept in another file (ONNX external data: torch's dynamo exporter writes the
    weights to `<model>.onnx.data`), read only from a regular file beside the model that is named
    after it, so that a crafted model cannot make snnc read, say, `~/.ssh/id_rsa` into its weights
    and from there into an output. Offsets and lengths are checked against the file and the
    memory limit (onnx/external_data_helper.py: location, offset, length)."""
    import onnx

    limit, total = current().memory, 0
    for tensor in _tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL and not tensor.external_data:
            continue
        fields = {entry.key: entry.value for entry in tensor.external_data}
        location = fields.get("location", "")
        if not _beside(location, path):
            raise input_error(
                "FE-ONNX-READ",
                f"{path}: tensor {tensor.name!r} keeps its data in {location!r}; snnc reads external data only "
                f"from a file beside the model named after it (such as {path.name}.data)",
                hint="export the model again (torch.onnx.export writes <model>.onnx.data), or without external data",
            )
        try:
            fd = os.open(path.parent / location, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                offset = int(fields.get("offset", 0))
                length = int(fields.get("length", size - offset))
                if not (stat.S_ISREG(os.fstat(f.fileno()).st_mode) and 0 <= offset <= offset + length <= size):
                    raise ValueError(f"bytes {offset}..{offset + length} of a {size}-byte file")
                total += length
                if total > limit:
                    raise ValueError(f"the external data passes the memory limit of {format_bytes(limit)}")
                f.seek(offset)
                tensor.raw_data = f.read(length)
        except (OSError, ValueError) as e:
            raise input_error(
                "FE-ONNX-READ",
                f"{path}: the external data of tensor {tensor.name!r} in {location!r} cannot be read ({e})",
                hint="keep the .data file the exporter wrote beside the model, unchanged",
            ) from None
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]


def _beside(location: str, model: Path) -> bool:
    """A plain file name in the model's directory that starts with the model's name (`net.onnx.data`,
    `net.data`, `net_weights.bin` for `net.onnx`), not a path, not hidden."""
    name = Path(location).name
    rest = location[len(model.stem) :]
    return bool(location) and location == name and location.startswith(model.stem) and rest[:1] in (".", "_", "-")


def _tensors(graph: Any) -> Iterator[Any]:
    """The initializers and the constant tensors of node attributes."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def _constants(graph: Any) -> dict[str, np.ndarray]:
    """The initializers as arrays, each checked against its declared dims and the memory limit."""
    from onnx import helper, numpy_helper

    consts: dict[str, np.ndarray] = {}
    limit, total = current().memory, 0
    for t in graph.initializer:
        try:
            total += math.prod(t.dims) * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
            if total > limit:
                raise ValueError(f"the initializers declare more than the memory limit of {format_bytes(limit)}")
            consts[t.name] = numpy_helper.to_array(t)
        except Exception as e:  # dims that do not match the data, an unknown data type
            raise input_error(
                "FE-ONNX-READ",
                f"initializer {t.name!r} of dims {list(t.dims)} cannot be read ({type(e).__name__}: {str(e)[:200]})",
                hint="export the model again with torch.onnx.export",
            ) from None
    return consts


def _ir_name(name: str) -> str:
    """ONNX node names such as '/layer1/conv/Conv' as IR names 'layer1.conv.Conv'."""
    return name.strip("/").replace("/", ".")


class _Reader:
    def __init__(self, model: Any, name: str, input_shape: tuple[int, ...] | None, input_dtype: DType) -> None:
        self.graph = model.graph
        self.b = GraphBuilder(name)
        self.input_shape, self.input_dtype = input_shape, input_dtype
        self.node: Any = None  # the node being read, for diagnostics
        self.consts: dict[str, np.ndarray] = _constants(self.graph)
        self.env: dict[str, str] = {}  # ONNX tensor name -> IR node name
        self.readers = Counter(i for n in self.graph.node for i in n.input if i)
        self.readers.update(o.name for o in self.graph.output)
        self.fused: dict[str, np.ndarray] = {}  # layer output -> the constant a following Add adds
        self.absorbed: set[str] = set()  # outputs of those Adds: the layer's output itself
        self.skipped: set[str] = set()
        self.batch: int | None = None

    def run(self) -> Graph:
        diags: list[Diagnostic] = []
        for value in self.graph.input:
            if value.name not in self.consts:
                self._input(value)
        self._plan_bias_fusion()
        for index, node in enumerate(self.graph.node):
            if any(i in self.skipped for i in node.input):
                self.skipped.update(node.output)
                continue
            try:
                self._node(node, index)
            except SnncError as e:
                diags += e.diagnostics
                self.skipped.update(node.output)
            except Exception as e:  # an attribute or constant of a kind the file should not hold
                diags.append(
                    Diagnostic(
                        "FE-ONNX-READ",
                        f"ONNX node {node.name!r} ({node.op_type}) cannot be read: {type(e).__name__}: {str(e)[:200]}",
                        node=self.name,
                        hint="export the model again with torch.onnx.export",
                    )
                )
                self.skipped.update(node.output)
        if diags:
            raise SnncError(diags)
        for value in self.graph.output:
            if value.name not in self.env:
                raise input_error("FE-ONNX-READ", f"graph output {value.name!r} is computed by no node")
            self.b.output(self.b.fresh(_ir_name(value.name) or "output"), self.env[value.name])
        return self.b.build()

    # --- inputs -----------------------------------------------------------------------------------

    def _input(self, value: Any) -> None:
        dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        name = _ir_name(value.name) or "input"
        if not dims:
            raise input_error("FE-ONNX-READ", f"graph input {value.name!r} has no shape", node=name)
        self.batch = dims[0]
        shape = dims[1:]
        if None in shape:
            if self.input_shape is None:
                raise input_error(
                    "FE-INPUT-SHAPE",
                    f"ONNX input {value.name!r} has symbolic per-sample dimensions {shape}",
                    node=name,
                    hint="pass input_shape=(C, H, W) per sample (CLI: --input-shape C,H,W)",
                )
            shape = list(self.input_shape)
        self.env[value.name] = self.b.input(name, tuple(shape), self.input_dtype)

    def _plan_bias_fusion(self) -> None:
        """Add(layer, constant) where nothing else reads the layer: the constant is its bias."""
        producer = {o: n for n in self.graph.node for o in n.output}
        for node in self.graph.node:
            if node.op_type != "Add" or len(node.input) != 2:
                continue
            for x, c in (node.input, node.input[::-1]):
                layer = producer.get(x)
                if c in self.consts and layer is not None and layer.op_type in _BIASED and self.readers[x] == 1:
                    self.fused[x] = self.consts[c]
                    self.absorbed.add(node.output[0])
                    break

    # --- nodes ------------------------------------------------------------------------------------

    def _node(self, node: Any, index: int) -> None:
        self.node = node
        self.name = _ir_name(node.name) or f"{node.op_type.lower()}_{index}"
        if node.domain not in ("", "ai.onnx"):
            self._fail("FE-UNSUPPORTED-OP", f"operator {node.domain}::{node.op_type} is not a standard ONNX op")
        if node.op_type == "Constant":
            self.consts[node.output[0]] = self._constant()
            return
        if node.op_type in _PASS_THROUGH:
            self._alias(node.output[0], node.input[0])
            return
        if node.output[0] in self.absorbed:
            self.env[node.output[0]] = self.env[next(i for i in node.input if i not in self.consts)]
            return
        handler = _HANDLERS.get(node.op_type)
        if handler is None:
            self._fail(
                "FE-UNSUPPORTED-OP",
                f"ONNX operator {node.op_type} has no IR equivalent",
                f"snnc reads {', '.join(sorted(_HANDLERS))} (and Constant, Identity, Dropout)",
            )
        out = handler(self)
        self.env[node.output[0]] = out

    def _alias(self, out: str, source: str) -> None:
        if source in self.consts:
            self.consts[out] = self.consts[source]
        else:
            self.env[out] = self._tensor(source)

    def _fail(self, rule: str, message: str, hint: str | None = None) -> NoReturn:
        raise input_error(
            rule, f"ONNX node {self.node.name!r} ({self.node.op_type}): {message}", node=self.name, hint=hint
        )

    def _tensor(self, name: str) -> str:
        if name not in self.env:
            what = "a constant where an activation is expected" if name in self.consts else "computed by no node"
            self._fail(
                "FE-ONNX-READ" if name not in self.consts else "FE-UNSUPPORTED-ATTR", f"input {name!r} is {what}"
            )
        return self.env[name]

    def _const(self, position: int, what: str) -> np.ndarray:
        inputs = self.node.input
        if position >= len(inputs) or not inputs[position]:
            self._fail("FE-ONNX-READ", f"the {what} input is missing")
        if inputs[position] not in self.consts:
            self._fail("FE-UNSUPPORTED-ATTR", f"the {what} is computed at run time; snnc needs a constant")
        return self.consts[inputs[position]]

    def _optional_const(self, position: int, what: str) -> np.ndarray | None:
        inputs = self.node.input
        return self._const(position, what) if position < len(inputs) and inputs[position] else None

    def _attrs(self) -> dict[str, Any]:
        import onnx

        return {a.name: onnx.helper.get_attribute_value(a) for a in self.node.attribute}

    def _constant(self) -> np.ndarray:
        from onnx import numpy_helper

        attrs = self._attrs()
        if "value" in attrs:
            return numpy_helper.to_array(attrs["value"])
        for key in ("value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                return np.asarray(attrs[key], np.float32 if "float" in key else np.int64)
        self._fail("FE-UNSUPPORTED-ATTR", f"constant of kind {sorted(attrs)} is not numeric")

    def _rank(self, position: int = 0) -> int:
        return len(self.b.type_of(self._tensor(self.node.input[position])).shape)

    def _add(self, op: ops.Op, *inputs: str) -> str:
        return self.b.add(self.b.fresh(self.name), op, *inputs, origin=f"onnx.{self.node.op_type}")

    def _bias(self, bias: np.ndarray | None, channels: int, rank: int) -> np.ndarray | None:
        """The layer's bias plus the constant a following Add contributes, which must broadcast
        (numpy rules, right-aligned against [N, C, ...] of `rank` + 1 axes) along channels only."""
        extra = self.fused.get(self.node.output[0])
        if extra is None:
            return bias
        aligned = (1,) * (rank + 1 - extra.ndim) + extra.shape
        if (
            len(aligned) != rank + 1
            or aligned[1] not in (1, channels)
            or any(d != 1 for d in aligned[:1] + aligned[2:])
        ):
            self._fail("FE-UNSUPPORTED-ATTR", f"the added constant of shape {extra.shape} is not one value per channel")
        extra = np.broadcast_to(extra.astype(np.float32).reshape(-1), (channels,))
        return (extra if bias is None else bias + extra).astype(np.float32)


# --- operators ---------------------------------------------------------------------------------


def _symmetric_pads(
    r: _Reader, attrs: dict[str, Any], kernel: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[int, ...]:
    dims = len(kernel)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return (0,) * dims
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        strides = tuple(attrs.get("strides", (1,) * dims))
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(s != 1 for s in strides) or any(t % 2 for t in total):
            r._fail("FE-UNSUPPORTED-ATTR", f"auto_pad={auto} pads unevenly here", "export with explicit symmetric pads")
        return tuple(t // 2 for t in total)
    pads = tuple(int(p) for p in attrs.get("pads", (0,) * (2 * dims)))
    if pads[:dims] != pads[dims:]:
        r._fail("FE-UNSUPPORTED-ATTR", f"pads {list(pads)} are not symmetric", "pad the input symmetrically")
    return pads[:dims]


def _conv(r: _Reader) -> str:
    attrs = r._attrs()
    weight = r._const(1, "weight").astype(np.float32)
    dims = weight.ndim - 2
    if dims not in (1, 2):
        r._fail("FE-UNSUPPORTED-ATTR", f"{dims}-d convolution; snnc has Conv1d and Conv2d")
    dilation = tuple(int(d) for d in attrs.get("dilations", (1,) * dims))
    padding = _symmetric_pads(r, attrs, tuple(weight.shape[2:]), dilation)
    bias = r._optional_const(2, "bias")
    cls = ops.Conv1d if dims == 1 else ops.Conv2d
    op = cls(
        weight,
        r._bias(None if bias is None else bias.astype(np.float32), weight.shape[0], dims + 1),
        stride=tuple(int(s) for s in attrs.get("strides", (1,) * dims)),
        padding=padding,
        dilation=dilation,
        groups=int(attrs.get("group", 1)),
    )
    return r._add(op, r._tensor(r.node.input[0]))


def _gemm(r: _Reader) -> str:
    attrs = r._attrs()
    if attrs.get("transA", 0):
        r._fail("FE-UNSUPPORTED-ATTR", "transA=1 transposes the batch into the features")
    weight = r._const(1, "weight").astype(np.float32)
    weight = weight if attrs.get("transB", 0) else weight.T
    alpha, beta = np.float32(attrs.get("alpha", 1.0)), np.float32(attrs.get("beta", 1.0))
    if alpha != 1:
        weight = alpha * weight
    c = r._optional_const(2, "bias")
    bias = None
    if c is not None:
        if c.size not in (1, weight.shape[0]):
            r._fail("FE-UNSUPPORTED-ATTR", f"C of shape {c.shape} is not one value per output")
        bias = (beta * np.broadcast_to(c.astype(np.float32).reshape(-1), (weight.shape[0],))).astype(np.float32)
    return r._add(
        ops.Linear(np.ascontiguousarray(weight), r._bias(bias, weight.shape[0], 1)), r._tensor(r.node.input[0])
    )


def _matmul(r: _Reader) -> str:
    weight = r._const(1, "weight (the second operand)").astype(np.float32)
    if weight.ndim != 2:
        r._fail("FE-UNSUPPORTED-ATTR", f"the constant operand has shape {weight.shape}; snnc reads a 2-d matrix")
    return r._add(
        ops.Linear(np.ascontiguousarray(weight.T), r._bias(None, weight.shape[1], 1)), r._tensor(r.node.input[0])
    )


def _batchnorm(r: _Reader) -> str:
    attrs = r._attrs()
    if attrs.get("training_mode", 0):
        r._fail("FE-UNSUPPORTED-ATTR", "training_mode=1 normalizes by batch statistics", "export in eval mode")
    scale, bias, mean, var = (r._const(k, what) for k, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
    op = ops.BatchNorm(mean, var, scale, bias, eps=float(attrs.get("epsilon", 1e-5)))
    return r._add(op, r._tensor(r.node.input[0]))


def _relu(r: _Reader) -> str:
    return r._add(ops.ReLU(), r._tensor(r.node.input[0]))


def _pool(r: _Reader) -> str:
    attrs = r._attrs()
    kernel = tuple(int(k) for k in attrs.get("kernel_shape", ()))
    if len(kernel) != 2:
        r._fail("FE-UNSUPPORTED-ATTR", f"kernel {list(kernel)}; snnc pools over (H, W)")
    if any(int(d) != 1 for d in attrs.get("dilations", (1, 1))):
        r._fail("FE-UNSUPPORTED-ATTR", "dilated pooling", "use dilation 1")
    common = {
        "kernel": kernel,
        "stride": tuple(int(s) for s in attrs.get("strides", (1, 1))),
        "padding": _symmetric_pads(r, attrs, kernel, (1, 1)),
        "ceil_mode": bool(attrs.get("ceil_mode", 0)),
    }
    if r.node.op_type == "MaxPool":
        if len(r.node.output) > 1 and r.readers[r.node.output[1]]:
            r._fail("FE-UNSUPPORTED-ATTR", "the max indices output is used")
        return r._add(ops.MaxPool2d(**common), r._tensor(r.node.input[0]))
    op = ops.AvgPool2d(**common, count_include_pad=bool(attrs.get("count_include_pad", 0)))
    return r._add(op, r._tensor(r.node.input[0]))


def _global_pool(r: _Reader, flatten: bool = False) -> str:
    x = r._tensor(r.node.input[0])
    shape = r.b.type_of(x).shape
    if len(shape) != 3:
        r._fail("FE-UNSUPPORTED-ATTR", f"global pooling of a {len(shape) + 1}-d tensor; snnc pools NCHW")
    out = r._add(ops.AvgPool2d(shape[1:], shape[1:]), x)
    return r.b.add(r.b.fresh(f"{r.name}.flatten"), ops.Flatten(), out, origin="onnx.ReduceMean") if flatten else out


def _reduce_mean(r: _Reader) -> str:
    attrs = r._attrs()
    axes = attrs.get("axes")
    if axes is None and len(r.node.input) > 1 and r.node.input[1]:
        axes = r._const(1, "axes")
    rank = r._rank() + 1
    if axes is None or sorted(int(a) % rank for a in np.asarray(axes).ravel()) != [2, 3] or rank != 4:
        r._fail("FE-UNSUPPORTED-ATTR", f"a mean over axes {axes} of a {rank}-d tensor", "only the spatial (2, 3) mean")
    return _global_pool(r, flatten=not attrs.get("keepdims", 1))


def _flatten(r: _Reader) -> str:
    axis = int(r._attrs().get("axis", 1))
    if axis % (r._rank() + 1) != 1:
        r._fail("FE-UNSUPPORTED-ATTR", f"axis={axis} would mix the batch axis into the features", "flatten from axis 1")
    return r._add(ops.Flatten(0, -1), r._tensor(r.node.input[0]))


def _reshape(r: _Reader) -> str:
    x = r._tensor(r.node.input[0])
    shape = r.b.type_of(x).shape
    target = [int(d) for d in r._const(1, "shape").ravel()]
    zero_copies = not r._attrs().get("allowzero", 0)
    numel = int(np.prod(shape))
    rest = target[1:]
    if not target or target[0] not in (0, -1, r.batch) or (target[0] == -1 and -1 in rest):
        r._fail("FE-UNSUPPORTED-ATTR", f"reshape to {target} does not keep the batch axis first")
    per_sample = [shape[i] if d == 0 and zero_copies and i < len(shape) else d for i, d in enumerate(rest)]
    if -1 in per_sample:
        known = int(np.prod([d for d in per_sample if d != -1]))
        per_sample[per_sample.index(-1)] = numel // known if known else 0
    if int(np.prod(per_sample)) != numel:
        r._fail("FE-UNSUPPORTED-ATTR", f"reshape of {list(shape)} per sample to {target} changes the sample size")
    op = ops.Flatten(0, -1) if len(per_sample) == 1 else ops.Reshape(tuple(per_sample))
    return r._add(op, x)


def _add_tensors(r: _Reader) -> str:
    if any(i in r.consts for i in r.node.input):
        r._fail("FE-UNSUPPORTED-ATTR", "adds a constant that is not the bias of the layer before it")
    a, b = (r._tensor(i) for i in r.node.input)
    return r._add(ops.Elementwise("add"), a, b)


def _concat(r: _Reader) -> str:
    rank = r._rank() + 1
    axis = int(r._attrs().get("axis", 0)) % rank
    if axis == 0:
        r._fail("FE-UNSUPPORTED-ATTR", "concatenation along the batch axis")
    return r._add(ops.Concat(axis - 1), *(r._tensor(i) for i in r.node.input))


_HANDLERS: dict[str, Callable[[_Reader], str]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "BatchNormalization": _batchnorm,
    "Relu": _relu,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_pool,
    "ReduceMean": _reduce_mean,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Add": _add_tensors,
    "Concat": _concat,
}
