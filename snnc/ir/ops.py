"""The closed op set of the IR (ARCHITECTURE §2.2), one frozen dataclass per op.

Each op owns its attributes and its numpy parameters and knows two things about itself:
`infer(inputs)` computes its output `TensorType` from its input types, raising `ShapeError` when
its attributes do not fit them (the verifier turns that into a diagnostic naming the node), and
`params()` lists its parameter arrays by name (for the finiteness check, serialization and
printing). Constructors only normalise values (lists to arrays, ints to pairs); they never
judge: the verifier does (STYLE.md, "Constructors build; the verifier judges").

Spatial shapes follow PyTorch: per-sample `(C, L)` for 1-d and `(C, H, W)` for 2-d tensors;
weights `(out, in/groups, k...)`; pairs are `(y, x)` = `(H, W)`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

import numpy as np

from snnc.ir.quant import NumberFormat
from snnc.ir.types import FLOAT, SPIKE, Count, DType, Int, Spike, TensorType, count_max

Array = np.ndarray


class ShapeError(Exception):
    """An op's attributes or parameters do not fit its inputs."""

    def __init__(self, message: str, hint: str | None = None, rule: str = "IR-SHAPE"):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.rule = rule


def as_param(value, quantized: bool = False) -> Array:
    """Parameters are numpy arrays: float32 (the IR's real type), or int64 once quantized.

    Whether a parameter is quantized is decided by its op carrying a NumberFormat for it, never by
    the Python type of the value (`Neuron(threshold=2)` is a float neuron). A quantized parameter
    given non-integral values stays float32, for the verifier to report.
    """
    arr = np.asarray(value)
    integral = np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
    if quantized and not integral and np.issubdtype(arr.dtype, np.floating):
        integral = bool(np.isfinite(arr).all() and (arr == np.round(arr)).all())
    if quantized and integral:
        return np.array(arr, dtype=np.int64, order="C")
    return np.array(arr, dtype=np.float32, order="C")


def _pair(value) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    a, b = value
    return (int(a), int(b))


def _single(value) -> tuple[int]:
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    (a,) = value
    return (int(a),)


def infer_type(op: Op, inputs: Sequence[TensorType]) -> TensorType:
    """The output type of `op` applied to `inputs`; ShapeError if the arity or attributes do not fit."""
    if op.arity is None and not inputs:
        raise ShapeError(f"{op.kind} needs at least one input", rule="IR-ARITY")
    if op.arity is not None and len(inputs) != op.arity:
        raise ShapeError(f"{op.kind} takes {op.arity} input(s), got {len(inputs)}", rule="IR-ARITY")
    return op.infer(inputs)


def _accumulated(weight_format: NumberFormat | None) -> DType:
    """Output dtype of a synaptic op: real values, or integers once its weights are quantized."""
    return FLOAT if weight_format is None else Int(32, signed=True)


@dataclass(frozen=True, eq=False)
class Op:
    """Base class. `kind` is the op's stable name in files, printouts and diagnostics."""

    kind: ClassVar[str] = "op"
    arity: ClassVar[int | None] = 1  # None: one or more inputs

    def infer(self, inputs: Sequence[TensorType]) -> TensorType:
        raise NotImplementedError

    def params(self) -> Iterator[tuple[str, Array]]:
        """The op's parameter arrays (not None), by field name."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                yield f.name, value

    def formats(self) -> dict[str, NumberFormat]:
        """Which parameter arrays are quantized, and to what (empty for a float op)."""
        return {}

    def replace(self, **changes) -> Self:
        return dataclasses.replace(self, **changes)


# --- graph boundary ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Input(Op):
    """A graph input; data enters time-major as [T, B, *shape].

    `format` marks a quantized real-valued input: the data are integers of dtype
    `int<bits>`/`uint<bits>` standing for real values x ≈ integer / format.scale (one scale for
    the whole input). Real data are turned into them by `format.encode` (round half to even,
    saturate), as `snnc.simulate` does with float arrays given for such an input.

    `time` "static" marks an input that holds one frame per sample for the whole run (an image
    the source model repeats over its time steps itself): data may then come as [B, *shape], which
    is held for `steps` steps (the number of steps the source model makes, None if it takes them
    from the data), or as [T, B, *shape] like any input."""

    kind: ClassVar[str] = "input"
    arity: ClassVar[int | None] = 0
    shape: tuple[int, ...] = ()
    dtype: DType = SPIKE
    format: NumberFormat | None = None
    time: Literal["sequence", "static"] = "sequence"
    steps: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    def infer(self, inputs):
        if any(d <= 0 for d in self.shape):
            raise ShapeError(f"input shape {self.shape} has a non-positive dimension")
        if self.time not in ("sequence", "static") or (self.steps is not None and self.steps < 1):
            raise ShapeError(f"input time={self.time!r} with steps={self.steps} is not a sequence or a static input")
        if self.steps is not None and self.time != "static":
            raise ShapeError("input steps are given only for a static input", "set time='static' or drop steps")
        fmt = self.format
        if fmt is not None and self.dtype != Int(fmt.bits, fmt.signed):
            raise ShapeError(
                f"input format {fmt} does not match its dtype {self.dtype}",
                f"declare the input {Int(fmt.bits, fmt.signed)}",
                rule="IR-QUANT-FORMAT",
            )
        if fmt is not None and not (isinstance(fmt.scale, float) and math.isfinite(fmt.scale) and fmt.scale > 0):
            raise ShapeError(
                f"input format scale {fmt.scale} is not one positive finite number",
                "quantize the input with one scale (snnc.passes.quantize)",
                rule="IR-QUANT-FORMAT",
            )
        return TensorType(self.shape, self.dtype)


@dataclass(frozen=True, eq=False)
class Output(Op):
    """A graph output; its node name is the output's name."""

    kind: ClassVar[str] = "output"

    def infer(self, inputs):
        return inputs[0]


# --- synaptic ops -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Linear(Op):
    """y = W x + b over the flattened per-sample input; W is (out, in)."""

    kind: ClassVar[str] = "linear"
    weight: Array = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    bias: Array | None = None
    weight_format: NumberFormat | None = None

    def __post_init__(self) -> None:
        quantized = self.weight_format is not None
        object.__setattr__(self, "weight", as_param(self.weight, quantized))
        if self.bias is not None:
            object.__setattr__(self, "bias", as_param(self.bias, quantized))

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    def formats(self):
        return _layer_formats(self.weight_format, self.bias)

    def infer(self, inputs):
        if self.weight.ndim != 2:
            raise ShapeError(f"linear weight must be 2-d (out, in), got shape {self.weight.shape}")
        (x,) = inputs
        if len(x.shape) != 1:
            raise ShapeError(f"linear expects a 1-d input, got {x}", "insert a flatten before it")
        if x.shape[0] != self.in_features:
            raise ShapeError(f"linear has {self.in_features} input features but its input is {x}")
        _check_bias(self.bias, self.out_features)
        return TensorType((self.out_features,), _accumulated(self.weight_format))


def _layer_formats(weight_format: NumberFormat | None, bias: Array | None) -> dict[str, NumberFormat]:
    """A synaptic layer's formats: weight and bias share the layer's format."""
    if weight_format is None:
        return {}
    return {"weight": weight_format} | ({"bias": weight_format} if bias is not None else {})


def _check_bias(bias: Array | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise ShapeError(f"bias has shape {bias.shape}, expected ({channels},)")


def _window_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """PyTorch's output length of a sliding window (conv and pooling docs)."""
    span = size + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p:  # the last window must start inside the input or left padding
            out -= 1
        return out
    return span // s + 1


@dataclass(frozen=True, eq=False)
class _ConvNd(Op):
    weight: Array = field(default_factory=lambda: np.zeros((0, 0, 1), np.float32))
    bias: Array | None = None
    stride: tuple[int, ...] = (1,)
    padding: tuple[int, ...] = (0,)
    dilation: tuple[int, ...] = (1,)
    groups: int = 1
    weight_format: NumberFormat | None = None

    dims: ClassVar[int] = 1

    def __post_init__(self) -> None:
        norm = _single if self.dims == 1 else _pair
        quantized = self.weight_format is not None
        object.__setattr__(self, "weight", as_param(self.weight, quantized))
        if self.bias is not None:
            object.__setattr__(self, "bias", as_param(self.bias, quantized))
        for name in ("stride", "padding", "dilation"):
            object.__setattr__(self, name, norm(getattr(self, name)))
        object.__setattr__(self, "groups", int(self.groups))

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1] * self.groups

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(self.weight.shape[2:])

    def formats(self):
        return _layer_formats(self.weight_format, self.bias)

    def infer(self, inputs):
        if self.weight.ndim != self.dims + 2:
            raise ShapeError(f"{self.kind} weight must be {self.dims + 2}-d, got shape {self.weight.shape}")
        (x,) = inputs
        if len(x.shape) != self.dims + 1:
            raise ShapeError(f"{self.kind} expects a {self.dims + 1}-d input (C, ...), got {x}")
        if any(v < 1 for v in self.stride + self.dilation) or any(p < 0 for p in self.padding):
            raise ShapeError(f"{self.kind} needs stride, dilation >= 1 and padding >= 0")
        if self.groups < 1 or self.out_channels % self.groups:
            raise ShapeError(f"{self.kind} groups={self.groups} does not divide {self.out_channels} output channels")
        if x.shape[0] != self.in_channels:
            raise ShapeError(f"{self.kind} expects {self.in_channels} input channels, its input is {x}")
        _check_bias(self.bias, self.out_channels)
        spatial = tuple(
            _window_out(n, k, s, p, d)
            for n, k, s, p, d in zip(x.shape[1:], self.kernel, self.stride, self.padding, self.dilation)
        )
        if any(n < 1 for n in spatial):
            raise ShapeError(f"{self.kind} kernel {self.kernel} does not fit input {x}")
        return TensorType((self.out_channels, *spatial), _accumulated(self.weight_format))


@dataclass(frozen=True, eq=False)
class Conv1d(_ConvNd):
    """Cross-correlation as torch.nn.functional.conv1d; input (C, L)."""

    kind: ClassVar[str] = "conv1d"
    dims: ClassVar[int] = 1


@dataclass(frozen=True, eq=False)
class Conv2d(_ConvNd):
    """Cross-correlation as torch.nn.functional.conv2d; input (C, H, W), pairs are (y, x)."""

    kind: ClassVar[str] = "conv2d"
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    dims: ClassVar[int] = 2


# --- per-channel affine ops -------------------------------------------------------------------


def _channel_param(name: str, value: Array, x: TensorType, allow_scalar: bool) -> None:
    ok = value.shape == (x.channels,) or (allow_scalar and value.ndim == 0)
    if not ok:
        want = f"() or ({x.channels},)" if allow_scalar else f"({x.channels},)"
        raise ShapeError(f"{name} has shape {value.shape}, expected {want} for input {x}")


@dataclass(frozen=True, eq=False)
class BatchNorm(Op):
    """Eval-mode batch norm per channel: y = (x − mean) / sqrt(var + eps) · weight + bias."""

    kind: ClassVar[str] = "batchnorm"
    mean: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    var: Array = field(default_factory=lambda: np.ones(0, np.float32))
    weight: Array = field(default_factory=lambda: np.ones(0, np.float32))
    bias: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("mean", "var", "weight", "bias"):
            object.__setattr__(self, name, as_param(getattr(self, name)))
        object.__setattr__(self, "eps", float(self.eps))

    def infer(self, inputs):
        (x,) = inputs
        for name, value in self.params():
            _channel_param(name, value, x, allow_scalar=False)
        if (self.var < 0).any() or self.eps < 0:
            raise ShapeError("batchnorm running variance and eps must be non-negative")
        return TensorType(x.shape, FLOAT)


@dataclass(frozen=True, eq=False)
class Scale(Op):
    """y = x · factor, one factor per channel or one for all."""

    kind: ClassVar[str] = "scale"
    factor: Array = field(default_factory=lambda: np.ones((), np.float32))

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", as_param(self.factor))

    def infer(self, inputs):
        (x,) = inputs
        _channel_param("factor", self.factor, x, allow_scalar=True)
        return TensorType(x.shape, FLOAT)


# --- pooling ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Pool2d(Op):
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None  # None: equal to kernel, as in PyTorch
    padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _pair(self.kernel))
        object.__setattr__(self, "stride", _pair(self.kernel if self.stride is None else self.stride))
        object.__setattr__(self, "padding", _pair(self.padding))

    def out_dtype(self, x: DType) -> DType:
        return x

    def infer(self, inputs):
        (x,) = inputs
        stride = self.stride
        assert stride is not None  # __post_init__ replaced None by the kernel
        if len(x.shape) != 3:
            raise ShapeError(f"{self.kind} expects a (C, H, W) input, got {x}")
        if min(self.kernel + stride) < 1 or min(self.padding) < 0:
            raise ShapeError(f"{self.kind} needs kernel, stride >= 1 and padding >= 0")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise ShapeError(f"{self.kind} padding {self.padding} exceeds half the kernel {self.kernel}")
        hw = tuple(
            _window_out(n, k, s, p, 1, self.ceil_mode)
            for n, k, s, p in zip(x.shape[1:], self.kernel, stride, self.padding)
        )
        if min(hw) < 1:
            raise ShapeError(f"{self.kind} kernel {self.kernel} does not fit input {x}")
        return TensorType((x.shape[0], *hw), self.out_dtype(x.dtype))


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """torch.nn.functional.avg_pool2d (divides by the window size, padding counted if asked)."""

    kind: ClassVar[str] = "avgpool2d"
    count_include_pad: bool = True

    def out_dtype(self, x):
        return FLOAT


@dataclass(frozen=True, eq=False)
class SumPool2d(_Pool2d):
    """Sum over each window (sinabs SumPool2d; Speck's event pooling): avg_pool2d · kernel area."""

    kind: ClassVar[str] = "sumpool2d"

    def out_dtype(self, x):
        if x.is_event:
            m = count_max(x) * math.prod(self.kernel)
            return Count(None if math.isinf(m) else int(m))
        if isinstance(x, Int):  # the exact sum of kh·kw integers needs log2(kh·kw) more bits
            return Int(x.bits + math.ceil(math.log2(math.prod(self.kernel))), signed=x.signed)
        return x


@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool2d):
    """torch.nn.functional.max_pool2d; on spikes it is an OR over the window."""

    kind: ClassVar[str] = "maxpool2d"


# --- shape ops --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Flatten(Op):
    """Flattens per-sample axes start..end (inclusive, negative from the end), as nn.Flatten(1)."""

    kind: ClassVar[str] = "flatten"
    start: int = 0
    end: int = -1

    def infer(self, inputs):
        (x,) = inputs
        n = len(x.shape)
        s, e = self.start % max(n, 1), self.end % max(n, 1)
        if n == 0 or s > e:
            raise ShapeError(f"flatten axes {self.start}..{self.end} are invalid for {x}")
        shape = (*x.shape[:s], math.prod(x.shape[s : e + 1]), *x.shape[e + 1 :])
        return TensorType(shape, x.dtype)


@dataclass(frozen=True, eq=False)
class Reshape(Op):
    """Row-major reshape of the per-sample tensor (same element count)."""

    kind: ClassVar[str] = "reshape"
    shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    def infer(self, inputs):
        (x,) = inputs
        if math.prod(self.shape) != x.numel or any(d <= 0 for d in self.shape):
            raise ShapeError(f"cannot reshape {x} ({x.numel} elements) to {self.shape}")
        return TensorType(self.shape, x.dtype)


def _join(dtypes: Sequence[DType]) -> DType:
    """The dtype that can hold values of every input (for concat)."""
    if all(d == dtypes[0] for d in dtypes):
        return dtypes[0]
    if all(d.is_event for d in dtypes):
        m = max(count_max(d) for d in dtypes)
        return Count(None if math.isinf(m) else int(m))
    return FLOAT


@dataclass(frozen=True, eq=False)
class Concat(Op):
    """Concatenation along a per-sample axis (0 = channels), as torch.cat(dim=axis + 1)."""

    kind: ClassVar[str] = "concat"
    arity: ClassVar[int | None] = None
    axis: int = 0

    def infer(self, inputs):
        if len(inputs) < 1:
            raise ShapeError("concat needs at least one input")
        rank = len(inputs[0].shape)
        if not 0 <= self.axis < rank:
            raise ShapeError(f"concat axis {self.axis} is out of range for {inputs[0]}")
        rest = [x.shape[: self.axis] + x.shape[self.axis + 1 :] for x in inputs]
        if any(len(x.shape) != rank for x in inputs) or any(r != rest[0] for r in rest):
            raise ShapeError(f"concat inputs differ outside axis {self.axis}: {', '.join(map(str, inputs))}")
        shape = list(inputs[0].shape)
        shape[self.axis] = sum(x.shape[self.axis] for x in inputs)
        return TensorType(tuple(shape), _join([x.dtype for x in inputs]))


def _spatial(op: Op, x: TensorType) -> tuple[int, int]:
    if len(x.shape) != 3:
        raise ShapeError(f"{op.kind} expects a (C, H, W) input, got {x}")
    return x.shape[1], x.shape[2]


@dataclass(frozen=True, eq=False)
class Crop(Op):
    """The rows top ≤ i < bottom and columns left ≤ j < right of a (C, H, W) tensor:
    y = x[:, top:bottom, left:right], of shape (C, bottom − top, right − left), any dtype.

    sinabs' `Crop2d(((top, bottom), (left, right)))` (backend/dynapcnn/crop2d.py: `Crop2d.forward`
    slices `[:, :, top_crop:bottom_crop, left_crop:right_crop]`), the region of interest of Speck's
    DVS layer (docs/targets/speck.md §2.5). Unlike a Python slice, the bounds are not clipped or
    counted from the end: 0 ≤ top < bottom ≤ H and 0 ≤ left < right ≤ W."""

    kind: ClassVar[str] = "crop"
    top: int = 0
    bottom: int = 1
    left: int = 0
    right: int = 1

    def __post_init__(self) -> None:
        for name in ("top", "bottom", "left", "right"):
            object.__setattr__(self, name, int(getattr(self, name)))

    def infer(self, inputs):
        (x,) = inputs
        h, w = _spatial(self, x)
        if not (0 <= self.top < self.bottom <= h and 0 <= self.left < self.right <= w):
            raise ShapeError(
                f"crop rows {self.top}:{self.bottom}, columns {self.left}:{self.right} do not lie inside {x}",
                f"give 0 <= top < bottom <= {h} and 0 <= left < right <= {w}",
            )
        return TensorType((x.shape[0], self.bottom - self.top, self.right - self.left), x.dtype)


@dataclass(frozen=True, eq=False)
class Flip(Op):
    """Mirrors and transposes the spatial axes of a (C, H, W) tensor, in sinabs' order
    (backend/dynapcnn/flipdims.py: `FlipDims.forward`): first flip_y reverses the rows
    (x[:, ::-1, :]), then flip_x the columns (x[:, :, ::-1]), then swap_xy transposes them
    (y[c, j, i] = x[c, i, j]), so that the output is (C, W, H) with swap_xy, else (C, H, W);
    any dtype. Speck's DVS layer does this as `mirror.y`, `mirror.x`, `mirror_diagonal`
    (docs/targets/speck.md §2.5, §5). With every switch off it is the identity."""

    kind: ClassVar[str] = "flip"
    flip_y: bool = False
    flip_x: bool = False
    swap_xy: bool = False

    def __post_init__(self) -> None:
        for name in ("flip_y", "flip_x", "swap_xy"):
            object.__setattr__(self, name, bool(getattr(self, name)))

    def infer(self, inputs):
        (x,) = inputs
        h, w = _spatial(self, x)
        return TensorType((x.shape[0], w, h) if self.swap_xy else x.shape, x.dtype)


# --- elementwise ------------------------------------------------------------------------------

ElementwiseKind = Literal["add", "sub", "mul", "and", "or", "iand"]
LOGIC_KINDS = ("and", "or", "iand")


@dataclass(frozen=True, eq=False)
class Elementwise(Op):
    """Two same-shaped inputs a, b. add/sub/mul are arithmetic; and/or/iand take spikes:
    iand(a, b) = (not a) and b, SpikingJelly's SEW IAND with a the block's residual branch."""

    kind: ClassVar[str] = "elementwise"
    arity: ClassVar[int | None] = 2
    fn: ElementwiseKind = "add"

    def infer(self, inputs):
        a, b = inputs
        if a.shape != b.shape:
            raise ShapeError(f"elementwise {self.fn} inputs differ in shape: {a} vs {b}")
        if self.fn in LOGIC_KINDS:
            if not (isinstance(a.dtype, Spike) and isinstance(b.dtype, Spike)):
                raise ShapeError(f"elementwise {self.fn} needs spike inputs, got {a} and {b}")
            return TensorType(a.shape, SPIKE)
        if self.fn not in ("add", "sub", "mul"):
            raise ShapeError(f"unknown elementwise function {self.fn!r}")
        return TensorType(a.shape, _arith_dtype(self.fn, a.dtype, b.dtype))


def _arith_dtype(fn: str, a: DType, b: DType) -> DType:
    if a.is_event and b.is_event and fn != "sub":
        if fn == "mul" and isinstance(a, Spike) and isinstance(b, Spike):
            return SPIKE
        m = count_max(a) + count_max(b) if fn == "add" else count_max(a) * count_max(b)
        return Count(None if math.isinf(m) else int(m))
    if isinstance(a, Int) and isinstance(b, Int):  # a sum needs one more bit, a product both widths
        return Int(a.bits + b.bits if fn == "mul" else max(a.bits, b.bits) + 1, signed=True)
    return FLOAT


@dataclass(frozen=True, eq=False)
class ReLU(Op):
    """max(x, 0). Only in ANN graphs: ANN→SNN conversion turns it into a neuron."""

    kind: ClassVar[str] = "relu"

    def infer(self, inputs):
        return inputs[0]


# --- stateful ops -----------------------------------------------------------------------------

NEURON_FLOAT_PARAMS = (
    "threshold", "v_decay", "gain", "bias", "v_reset", "v_init", "i_decay", "i_init", "v_min",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class FloatOrder:
    """How a source library orders the float operations of a neuron's charge and current.

    These choices change float32 results, never the real-valued function, so they exist only to
    reproduce a library's forward pass bit for bit (docs/library-semantics.md); the frontends set
    them, and the canonicalize-neuron pass erases them (`Neuron.canonical()`) before anything that
    computes in other arithmetic: quantization, the hardware backends, the NIR writer. With k =
    rate, or 1/rate with rate_op "div" (written ∘k below), and E = v_rest:

        charge  "affine"      h = v_decay · u + gain · I + bias        (the canonical form)
                "delta"       h = u + (I − (u − E)) ∘ k             (SpikingJelly LIF decay_input, Norse LIF)
                "delta_leak"  h = (u − (u − E) ∘ k) + I             (SpikingJelly LIF, decay_input=False)
                "delta_box"   h = u + ((I + E) − u) ∘ k             (Norse LIFBox)
        current "affine"      i = i_decay · i[t-1] + x[t]           (the canonical form)
                "decay_after" i = i_decay · (i[t-1] + x[t])         (sinabs LIF with tau_syn)
                "euler"       i = (i[t-1] + i_decay · i[t-1]) + x[t], i_decay = −dt/τ_syn (Norse LIF)

    A delta charge leaves the Neuron's v_decay, gain and bias at 1, 1, 0 and keeps its leak here.
    """

    charge: Literal["affine", "delta", "delta_leak", "delta_box"] = "affine"
    rate: Array = field(default_factory=lambda: np.ones((), np.float32))
    rate_op: Literal["mul", "div"] = "mul"
    v_rest: Array = field(default_factory=lambda: np.zeros((), np.float32))
    current: Literal["affine", "decay_after", "euler"] = "affine"

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "charge": ("affine", "delta", "delta_leak", "delta_box"),
        "rate_op": ("mul", "div"),
        "current": ("affine", "decay_after", "euler"),
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", as_param(self.rate))
        object.__setattr__(self, "v_rest", as_param(self.v_rest))

    def replace(self, **changes) -> FloatOrder:
        return dataclasses.replace(self, **changes)

    @property
    def canonical(self) -> bool:
        """Whether this is the canonical order: affine charge and current (rate and v_rest are
        then unused)."""
        return self.charge == "affine" and self.current == "affine"

    def leak(self) -> tuple[Array, Array, Array]:
        """(a_v, g, b) of the charge with h = a_v · u + g · I + b, in float32 (for a delta charge;
        the affine charge's come from the Neuron)."""
        k = self.rate if self.rate_op == "mul" else np.float32(1) / self.rate
        gain = np.ones_like(k) if self.charge == "delta_leak" else k
        return (np.float32(1) - k).astype(np.float32), gain.astype(np.float32), _channel_product(k, self.v_rest)


@dataclass(frozen=True, eq=False)
class Neuron(Op):
    """The one spiking neuron of the IR (ARCHITECTURE §2.3). Per step t, with input x[t] and an
    optional second, "late" input z[t]:

        i[t]  = i_decay · i[t-1] + x[t]          the current, only if i_decay is set
        I[t]  = i[t] ("current_first") or i[t-1] ("voltage_first": a one-step synaptic delay);
                I[t] = x[t] without a current state
        u     = v[t-1], or with reset_timing "next_step_state" the previous state reset first:
                r = fire(v[t-1]); zero → u = v_reset where r > 0; subtract → u = v[t-1] − θ·r
        h[t]  = v_decay · u + gain · I[t] + bias     the charge
                then h += z[t] if the late input is connected (snnTorch RLeaky's feedback)
                reset_timing "next_step": r = fire(v[t-1]) (v[-1] = v_init) is applied to h:
                subtract → h −= θ · r; zero → h = v_reset where r > 0
        s[t]  = fire(h[t]): fire_op "ge": h ≥ θ, "gt": h > θ. spikes "single": s ∈ {0, 1};
                "multi": the number of multiples of θ that h reaches (floor(h/θ) for "ge",
                max(ceil(h/θ) − 1, 1) for "gt"), capped at max_spikes, 0 where fire(h) is false
                "none": a non-spiking leaky integrator (Norse LI): s = 0 always, and the op's
                output is the membrane v[t] (float; once quantized, the integer v[t] of its
                state_format, int<bits>) instead of spikes
        v[t]  = same_step reset of h: zero → v_reset where s > 0; subtract → h − s · θ; none → h;
                with a next_step timing v[t] = h[t] (the reset comes at the next step)
        v[t]  = max(v[t] − v_min, 0) + v_min          if v_min is set (sinabs' clamp order)

    Parameters are scalars (0-d), per channel (C,) or per neuron (the full per-sample shape).
    `float_order` (a FloatOrder, None for the canonical order above) reproduces a library's float
    evaluation order of the charge and current; `canonical()` gives the same neuron in the
    canonical order, exact in real arithmetic. `state_format` marks a quantized neuron: every
    parameter is then an integer of that format and the order is canonical.

    Integer semantics (a quantized neuron, run by the integer simulator and the chips). Every
    parameter is an integer and the graph's `Arithmetic` (snnc/ir/quant.py) fixes the rest. With
    k = its decay_shift, p = y·m computed exactly, dec(y, m) = p >> k ("floor") or
    sign(p)·(|p| >> k) ("toward_zero"), and R_r the overflow rule of register r (wrap, wrap_once,
    saturate, saturate_symmetric):

        a     = R_input(gain · x[t])                 the input, scaled where it enters the state
        i[t]  = R_current(dec(i[t-1], i_decay) + a)   if i_decay is set; I[t] = i[t] or, with
                                                      "voltage_first", i[t-1]; else I[t] = a
        h[t]  = R_voltage(dec(u, v_decay) + I[t] + bias + z[t])   (z: the late input, if any)
        s[t]  = fire(h[t]) with fire_op; "multi" counts are floor(h/θ) ("ge") or floor((h−1)/θ)
                ("gt"), capped at max_spikes
        v[t]  = the reset as above; h − θ·s (and u's and the next_step reset's h − θ·r) pass
                R_voltage; then v[t] = max(v[t], v_min) if v_min is set

    So v_decay and i_decay are multipliers m in [0, 2^k], the factor being m / 2^k (m = 2^k keeps
    the state exactly: an IF neuron has v_decay = 2^k); threshold, bias, v_reset, v_min, v_init
    and i_init are in state units, and `state_format.scale` σ maps them back (float ≈ int / σ).
    A float neuron maps onto this through its canonical form: v_decay = 2^k − round((1 − a_v)·2^k)
    (Lava's dv = round(δ·4096), docs/targets/loihi.md §7.2), likewise i_decay, gain = σ·g / s_x
    for an input of scale s_x, bias = σ·b, i_init = σ·g·i_init (snnc/passes/quantize/ does this).
    """

    kind: ClassVar[str] = "neuron"
    arity: ClassVar[int | None] = None  # the input, and optionally the late input
    threshold: Array = field(default_factory=lambda: np.ones((), np.float32))
    v_decay: Array = field(default_factory=lambda: np.ones((), np.float32))
    gain: Array = field(default_factory=lambda: np.ones((), np.float32))
    bias: Array = field(default_factory=lambda: np.zeros((), np.float32))
    i_decay: Array | None = None
    input_order: Literal["current_first", "voltage_first"] = "current_first"
    reset: Literal["zero", "subtract", "none"] = "subtract"
    v_reset: Array = field(default_factory=lambda: np.zeros((), np.float32))
    reset_timing: Literal["same_step", "next_step", "next_step_state"] = "same_step"
    fire_op: Literal["ge", "gt"] = "ge"
    spikes: Literal["single", "multi", "none"] = "single"
    max_spikes: int | None = None
    v_min: Array | None = None
    v_init: Array = field(default_factory=lambda: np.zeros((), np.float32))
    i_init: Array = field(default_factory=lambda: np.zeros((), np.float32))
    float_order: FloatOrder | None = None
    state_format: NumberFormat | None = None

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "input_order": ("current_first", "voltage_first"),
        "reset": ("zero", "subtract", "none"),
        "reset_timing": ("same_step", "next_step", "next_step_state"),
        "fire_op": ("ge", "gt"),
        "spikes": ("single", "multi", "none"),
    }

    def __post_init__(self) -> None:
        for name in NEURON_FLOAT_PARAMS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_param(value, self.state_format is not None))
        if self.max_spikes is not None:
            object.__setattr__(self, "max_spikes", int(self.max_spikes))
        if self.float_order is not None and self.float_order.canonical:
            object.__setattr__(self, "float_order", None)

    @property
    def has_current(self) -> bool:
        return self.i_decay is not None

    def params(self) -> Iterator[tuple[str, Array]]:
        yield from super().params()
        if self.float_order is not None:
            yield "rate", self.float_order.rate
            yield "v_rest", self.float_order.v_rest

    def affine(self) -> tuple[Array, Array, Array]:
        """(a_v, g, b) with h = a_v · v + g · I + b, exact in real arithmetic for every charge form."""
        order = self.float_order
        if order is None or order.charge == "affine":
            return self.v_decay, self.gain, self.bias
        return order.leak()

    def canonical(self) -> Neuron:
        """This neuron in the canonical float order (float_order None), equal in real arithmetic:
        the charge as v_decay·u + gain·I + bias, and the current as i_decay·i + x. A
        "decay_after" current a·(i + x) is the current a·j + x of j = i/a seen through a gain a;
        an "euler" current's factor is 1 + i_decay."""
        order = self.float_order
        if order is None:
            return self
        a_v, g, b = self.affine()
        i_decay, i_init = self.i_decay, self.i_init
        if self.has_current and order.current == "euler":
            i_decay = (np.float32(1) + np.asarray(i_decay, np.float32)).astype(np.float32)
        elif self.has_current and order.current == "decay_after":
            a = np.asarray(i_decay, np.float32)
            g = _channel_product(g, a)
            with np.errstate(divide="ignore", invalid="ignore"):
                i_init = np.where(a == 0, np.float32(0), np.asarray(i_init, np.float32) / a).astype(np.float32)
        return self.replace(v_decay=a_v, gain=g, bias=b, i_decay=i_decay, i_init=i_init, float_order=None)

    def formats(self):
        if self.state_format is None:
            return {}
        return {name: self.state_format for name, _ in self.params()}

    def infer(self, inputs):
        if len(inputs) > 2:
            raise ShapeError(f"neuron takes 1 or 2 inputs, got {len(inputs)}", rule="IR-ARITY")
        x = inputs[0]
        if len(inputs) == 2 and inputs[1].shape != x.shape:
            raise ShapeError(f"neuron late input {inputs[1]} differs in shape from its input {x}")
        for name, value in self.params():
            if value.shape not in ((), (x.channels,), x.shape):
                raise ShapeError(
                    f"neuron parameter {name} has shape {value.shape}; it must be a scalar, "
                    f"per channel ({x.channels},) or per neuron {x.shape}",
                    "give one value, one per channel, or one per neuron",
                    rule="IR-NEURON-PARAM",
                )
        order = self.float_order
        choices = [(self, self.CHOICES)] + ([(order, order.CHOICES)] if order is not None else [])
        for holder, table in choices:
            for name, allowed in table.items():
                if getattr(holder, name) not in allowed:
                    raise ShapeError(
                        f"neuron {name}={getattr(holder, name)!r} is not one of {allowed}", rule="IR-NEURON-PARAM"
                    )
        unused = (self.v_decay != 1).any() or (self.gain != 1).any() or (self.bias != 0).any()
        if order is not None and order.charge != "affine" and unused:
            raise ShapeError(
                f"neuron charge {order.charge!r} does not use v_decay, gain and bias, but they are set",
                "express the leak through rate and v_rest, or use the affine charge",
                rule="IR-NEURON-PARAM",
            )
        if self.spikes == "multi" and self.max_spikes is not None and self.max_spikes < 1:
            raise ShapeError(f"neuron max_spikes={self.max_spikes} must be at least 1", rule="IR-NEURON-PARAM")
        if (self.threshold < 0).any() or (self.fire_op == "ge" and (self.threshold == 0).any()):
            raise ShapeError(
                "neuron threshold must be positive (or 0 for fire_op 'gt': fire where h > 0)",
                "a threshold <= 0 fires on every step",
                rule="IR-NEURON-PARAM",
            )
        if order is not None and order.rate_op == "div" and (order.rate == 0).any():
            raise ShapeError("neuron rate is a divisor and must not be zero", rule="IR-NEURON-PARAM")
        if self.spikes == "single":
            return TensorType(x.shape, SPIKE)
        if self.spikes == "none":  # the membrane: real, or the state's integers once quantized
            fmt = self.state_format
            return TensorType(x.shape, FLOAT if fmt is None else Int(fmt.bits, signed=True))
        return TensorType(x.shape, Count(self.max_spikes))


def _channel_product(a: Array, b: Array) -> Array:
    """a·b in float32 for neuron parameters of shapes (), (C,) or per neuron, channel axes aligned."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.ndim != b.ndim and 1 in (a.ndim, b.ndim) and a.ndim and b.ndim:
        short, full = (a, b) if a.ndim == 1 else (b, a)
        short = short.reshape(short.shape[0], *([1] * (full.ndim - 1)))
        return (short * full).astype(np.float32)
    return (a * b).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Delay(Op):
    """y[t] = x[t − steps], zero for t < steps. The only op a cycle may pass through."""

    kind: ClassVar[str] = "delay"
    steps: int = 1

    def infer(self, inputs):
        if self.steps < 1:
            raise ShapeError(
                f"delay steps={self.steps} must be at least 1", "a zero delay would make the cycle instantaneous"
            )
        return inputs[0]


OPS: tuple[type[Op], ...] = (
    Input, Output,
    Linear, Conv1d, Conv2d,
    BatchNorm, Scale,
    AvgPool2d, SumPool2d, MaxPool2d,
    Flatten, Reshape, Concat, Crop, Flip,
    Elementwise, ReLU,
    Neuron, Delay,
)  # fmt: skip
"""Every op of the IR, for tests and backends that must cover all of them."""

OP_BY_KIND: dict[str, type[Op]] = {op.kind: op for op in OPS}

# --- op groups: what passes, the simulator, the cost model and the backends ask of an op ---------

# The groups that code tests with isinstance are named tuples of their own, so that the test
# narrows the op's type (isinstance(op, SYNAPTIC) makes op a Linear | Conv1d | Conv2d).
SYNAPTIC = (Linear, Conv1d, Conv2d)  # weighted sums of the input: what a synaptic crossbar computes
POOLING = (AvgPool2d, SumPool2d, MaxPool2d)
SHAPE = (Flatten, Reshape, Concat, Crop, Flip)  # move values without computing
STATEFUL = (Neuron, Delay)  # hold state across time steps

GROUPS: dict[str, tuple[type[Op], ...]] = {
    "boundary": (Input, Output),
    "synaptic": SYNAPTIC,
    "normalization": (BatchNorm, Scale),  # per-channel affine maps that a chip folds into its neighbours
    "pooling": POOLING,
    "shape": SHAPE,
    "elementwise": (Elementwise, ReLU),
    "stateful": STATEFUL,
}
"""Every op in exactly one group (tests/ir/test_ops.py checks the partition)."""

REAL_ONLY: tuple[type[Op], ...] = (AvgPool2d, BatchNorm, Scale)
"""Ops with no integer semantics: a real-valued factor per element or channel. Quantization
lowers them first (avgpool-to-sumpool, fold-bn, absorb-scale); the integer simulator runs the rest."""

SCALE_PRESERVING: tuple[type[Op], ...] = (*SHAPE, SumPool2d, MaxPool2d, ReLU, Delay)
"""Ops whose output is in the units of their input (a sum, maximum, copy or delay of it): a
quantized value keeps its scale through them."""
