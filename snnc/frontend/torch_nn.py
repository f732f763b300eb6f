"""Converters for torch.nn layers and the torch functions models apply between layers.

Each maps a module onto the IR op with the same semantics (ARCHITECTURE §2.2); the IR ops are
defined to compute exactly what the torch.nn.functional call of the same name computes, so
these converters only copy parameters and attributes. Anything a layer does that the IR cannot
express (dilated pooling, a padding mode other than zeros, BatchNorm in training mode without
running statistics) is refused with a diagnostic rather than approximated.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from snnc.frontend.capture import Ref
from snnc.frontend.context import ConvertContext, tensor_param
from snnc.frontend.registry import function_converter, module_converter
from snnc.ir import ops
from snnc.ir.types import SPIKE


def _bias(module: nn.Module):
    return None if module.bias is None else tensor_param(module.bias)


@module_converter(nn.Linear)
def linear(ctx: ConvertContext, m: nn.Linear) -> str:
    return ctx.add(ops.Linear(tensor_param(m.weight), _bias(m)), ctx.input(0))


def _conv_padding(ctx: ConvertContext, m: nn.modules.conv._ConvNd) -> tuple[int, ...]:
    if m.padding_mode != "zeros":
        ctx.fail("FE-UNSUPPORTED-ATTR", f"padding_mode={m.padding_mode!r} is not supported", "use padding_mode='zeros'")
    if isinstance(m.padding, str):
        # 'same' pads (k-1)·d in total, split evenly when that is even (torch conv docs).
        total = [d * (k - 1) for k, d in zip(m.kernel_size, m.dilation)]
        if m.padding == "valid":
            return tuple(0 for _ in total)
        if any(t % 2 for t in total):
            ctx.fail(
                "FE-UNSUPPORTED-ATTR",
                "padding='same' with an even kernel pads asymmetrically",
                "use an odd kernel or explicit padding",
            )
        return tuple(t // 2 for t in total)
    return tuple(m.padding)


@module_converter(nn.Conv2d)
def conv2d(ctx: ConvertContext, m: nn.Conv2d) -> str:
    op = ops.Conv2d(tensor_param(m.weight), _bias(m), m.stride, _conv_padding(ctx, m), m.dilation, m.groups)
    return ctx.add(op, ctx.input(0))


@module_converter(nn.Conv1d)
def conv1d(ctx: ConvertContext, m: nn.Conv1d) -> str:
    op = ops.Conv1d(tensor_param(m.weight), _bias(m), m.stride, _conv_padding(ctx, m), m.dilation, m.groups)
    return ctx.add(op, ctx.input(0))


@module_converter(nn.BatchNorm1d, nn.BatchNorm2d)
def batchnorm(ctx: ConvertContext, m: nn.modules.batchnorm._BatchNorm) -> str:
    if m.running_mean is None or m.running_var is None:
        ctx.fail(
            "FE-BATCHNORM-STATS",
            "BatchNorm keeps no running statistics (track_running_stats=False), "
            "so its inference output depends on the batch",
            "train with track_running_stats=True",
        )
    channels = m.num_features
    weight = tensor_param(m.weight) if m.affine else torch.ones(channels).numpy()
    bias = tensor_param(m.bias) if m.affine else torch.zeros(channels).numpy()
    op = ops.BatchNorm(tensor_param(m.running_mean), tensor_param(m.running_var), weight, bias, m.eps)
    return ctx.add(op, ctx.input(0))


def _pool_args(m: nn.Module) -> dict:
    return {
        "kernel": m.kernel_size,
        "stride": m.stride or m.kernel_size,
        "padding": m.padding,
        "ceil_mode": m.ceil_mode,
    }


@module_converter(nn.AvgPool2d)
def avgpool2d(ctx: ConvertContext, m: nn.AvgPool2d) -> str:
    if m.divisor_override is not None:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            f"divisor_override={m.divisor_override} is not supported",
            "use AvgPool2d without divisor_override, or a sum pooling (sinabs SumPool2d)",
        )
    return ctx.add(ops.AvgPool2d(**_pool_args(m), count_include_pad=m.count_include_pad), ctx.input(0))


@module_converter(nn.MaxPool2d)
def maxpool2d(ctx: ConvertContext, m: nn.MaxPool2d) -> str:
    if m.dilation not in (1, (1, 1)) or m.return_indices:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "dilated max pooling or return_indices=True is not supported",
            "use a plain MaxPool2d(kernel, stride, padding)",
        )
    return ctx.add(ops.MaxPool2d(**_pool_args(m)), ctx.input(0))


@module_converter(nn.AdaptiveAvgPool2d)
def adaptive_avgpool2d(ctx: ConvertContext, m: nn.AdaptiveAvgPool2d) -> str:
    """Adaptive pooling is a fixed AvgPool2d when each output size divides the input size
    (then torch's adaptive windows are exactly kernel = stride = in/out)."""
    _, h, w = ctx.value_shape(0)
    out = m.output_size if isinstance(m.output_size, tuple) else (m.output_size, m.output_size)
    out = tuple(n if o is None else o for o, n in zip(out, (h, w)))
    if h % out[0] or w % out[1]:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            f"AdaptiveAvgPool2d to {out} from {h}x{w} uses uneven windows",
            "choose an output size that divides the input size",
        )
    kernel = (h // out[0], w // out[1])
    return ctx.add(ops.AvgPool2d(kernel, kernel, 0), ctx.input(0))


@module_converter(nn.Flatten)
def flatten(ctx: ConvertContext, m: nn.Flatten) -> str:
    return _flatten(ctx, m.start_dim, m.end_dim)


@module_converter(nn.ReLU)
def relu(ctx: ConvertContext, m: nn.ReLU) -> str:
    return ctx.add(ops.ReLU(), ctx.input(0))


@module_converter(nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
def identity(ctx: ConvertContext, m: nn.Module) -> str:
    """Dropout is the identity at inference; Identity vanishes (ARCHITECTURE §2.2)."""
    return ctx.input(0)


# --- torch functions and tensor methods --------------------------------------------------------


def _sample_axis(ctx: ConvertContext, dim: int, rank: int) -> int:
    """A torch dim of a [lead..., *sample] tensor as a per-sample axis; fail for batch/time axes."""
    dim = dim % (rank + ctx.lead)
    if dim < ctx.lead:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{ctx.call.name} acts on the batch or time axis (dim {dim})",
            "operate on the per-sample axes only",
        )
    return dim - ctx.lead


def _flatten(ctx: ConvertContext, start: int, end: int) -> str:
    rank = len(ctx.value_shape(0))
    s, e = _sample_axis(ctx, start, rank), _sample_axis(ctx, end, rank)
    return ctx.add(ops.Flatten(s, e), ctx.input(0))


@function_converter("flatten")
def flatten_fn(ctx: ConvertContext) -> str:
    return _flatten(ctx, ctx.arg(1, ctx.kwarg("start_dim", 0)), ctx.arg(2, ctx.kwarg("end_dim", -1)))


@function_converter("view", "reshape")
def reshape_fn(ctx: ConvertContext) -> str:
    shape = ctx.output_shape()
    if math.prod(shape) != math.prod(ctx.value_shape(0)):
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{ctx.call.name} mixes batch or time with per-sample axes",
            "reshape only the per-sample axes",
        )
    return ctx.add(ops.Reshape(shape), ctx.input(0))


@function_converter("cat", "concat", "concatenate")
def cat_fn(ctx: ConvertContext) -> str:
    inputs = ctx.inputs()
    rank = len(ctx.output_shape())
    axis = _sample_axis(ctx, ctx.arg(1, ctx.kwarg("dim", 0)), rank)
    return ctx.add(ops.Concat(axis), *inputs)


def _elementwise(fn: str):
    def convert(ctx: ConvertContext) -> str:
        if fn == "mul" and (folded := _inverted_product(ctx)) is not None:
            return folded
        if not (ctx.is_traced(0) and ctx.is_traced(1)):
            return _scaled(ctx, fn)
        a, b = ctx.input(0), ctx.input(1)
        if ctx.value_shape(0) != ctx.value_shape(1):
            ctx.fail(
                "FE-UNSUPPORTED-OP",
                f"{fn} of tensors of different shapes (broadcasting)",
                "combine tensors of equal shape",
            )
        return ctx.add(ops.Elementwise(fn), a, b)

    return convert


MUL_NAMES = ("mul", "__mul__", "__rmul__", "__imul__", "mul_")
RSUB_NAMES = ("rsub", "__rsub__")


@function_converter(*RSUB_NAMES)
def rsub_fn(ctx: ConvertContext) -> None:
    """`1 - y` (`torch.rsub(y, 1)`) of spikes y adds no node: the IR has no constant operand, so it is
    folded into the products that use it, `x * (1 - y)` = x AND NOT y (SpikingJelly's SEW IAND,
    model/sew_resnet.py: sew_function; see `_inverted_product`). Any other use is refused."""
    one = ctx.arg(1)
    spikes = ctx.is_traced(0) and ctx.type_of(ctx.input(0)).dtype == SPIKE
    if not (isinstance(one, (int, float)) and one == 1 and not ctx.call.kwargs and spikes) or any(
        name not in MUL_NAMES or delay for name, delay in ctx.uses()
    ):
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{ctx.call.name} is supported only as 1 - y of spikes y, multiplied by a tensor in the same step",
            "write the inverted product x * (1 - y) (SEW IAND), or fold the constant into a layer",
        )


def _inverted_product(ctx: ConvertContext) -> str | None:
    """x * (1 - y) with `1 - y` from `rsub_fn`: x AND NOT y, `Elementwise("iand", y, x)`, for spikes
    x; for other x, x - x * y, which equals x * (1 - y) exactly since y is 0 or 1. None if neither
    factor is a `1 - y`."""
    for k in (0, 1):
        negated = ctx.producer(k) if ctx.is_traced(k) else None
        if negated is None or negated.call.name not in RSUB_NAMES:
            continue
        if not ctx.is_traced(1 - k):
            ctx.fail("FE-UNSUPPORTED-OP", "a constant times (1 - y)", "multiply (1 - y) by a tensor of the model")
        x, y = ctx.input(1 - k), negated.input(0)
        if ctx.type_of(x).dtype == SPIKE:
            return ctx.add(ops.Elementwise("iand"), y, x)
        return ctx.add(ops.Elementwise("sub"), x, ctx.add(ops.Elementwise("mul"), x, y, suffix=".removed"))
    return None


def _scaled(ctx: ConvertContext, fn: str) -> str:
    """x * c (or c * x, x / c) with a Python number c is a Scale; other constants are refused."""
    k = 0 if ctx.is_traced(0) else 1
    c = ctx.arg(1 - k)
    if fn == "mul" and isinstance(c, (int, float)) and not isinstance(c, bool):
        return ctx.add(ops.Scale(float(c)), ctx.input(k))
    ctx.fail(
        "FE-UNSUPPORTED-OP",
        f"{ctx.call.name} with a constant operand ({type(c).__name__})",
        "fold constants into the neighbouring layer's weights or bias",
    )
    raise AssertionError


for _fn, _names in {
    "add": ("add", "__add__", "__radd__", "__iadd__", "add_"),
    "sub": ("sub", "__sub__", "__isub__", "sub_"),
    "mul": MUL_NAMES,
    "and": ("logical_and", "__and__", "bitwise_and"),
    "or": ("logical_or", "__or__", "bitwise_or"),
}.items():
    function_converter(*_names)(_elementwise(_fn))


@function_converter("relu", "relu_")
def relu_fn(ctx: ConvertContext) -> str:
    return ctx.add(ops.ReLU(), ctx.input(0))


@function_converter("contiguous", "clone", "detach", "float")
def passthrough_fn(ctx: ConvertContext) -> str:
    return ctx.input(0)


# --- functional forms of the layers above (torch.nn.functional, tensor methods) ------------------


def _bound(ctx: ConvertContext, *names: str, **defaults: object) -> dict:
    """The arguments after the input, by the names of the torch function's signature."""
    values = dict(defaults)
    values.update({name: ctx.arg(k + 1) for k, name in enumerate(names) if k + 1 < len(ctx.call.args)})
    values.update({k: v for k, v in ctx.call.kwargs.items() if k in names})
    return values


def _constant(ctx: ConvertContext, name: str, value: object) -> object:
    """A weight or statistic of a functional call: a tensor that the model holds, not one it computes."""
    if isinstance(value, Ref):
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{ctx.call.name}'s {name} is computed by the model at run time",
            f"pass a parameter or buffer of the model as {name}",
        )
    return value


_POOL2D = ("kernel_size", "stride", "padding")


@function_converter("max_pool2d")
def max_pool2d_fn(ctx: ConvertContext) -> str:
    """F.max_pool2d: the nn.MaxPool2d of the same arguments (torch/nn/functional.py: max_pool2d)."""
    a = _bound(ctx, *_POOL2D, "dilation", "ceil_mode", "return_indices", stride=None, padding=0, dilation=1)
    return maxpool2d(ctx, nn.MaxPool2d(**a))


@function_converter("avg_pool2d")
def avg_pool2d_fn(ctx: ConvertContext) -> str:
    a = _bound(ctx, *_POOL2D, "ceil_mode", "count_include_pad", "divisor_override", stride=None, padding=0)
    return avgpool2d(ctx, nn.AvgPool2d(**a))


@function_converter("adaptive_avg_pool2d")
def adaptive_avg_pool2d_fn(ctx: ConvertContext) -> str:
    return adaptive_avgpool2d(ctx, nn.AdaptiveAvgPool2d(**_bound(ctx, "output_size")))


@function_converter("avg_pool1d", "max_pool1d")
def pool1d_fn(ctx: ConvertContext) -> str:
    """1-d pooling over (C, L) is the 2-d pooling of (C, 1, L) with (1, k) windows: torch computes
    avg_pool1d and max_pool1d so (aten/src/ATen/native/Pooling.cpp: avg_pool1d, max_pool1d unsqueeze
    to 2-d), so the floats agree. SpikingJelly's `layer.VotingLayer` averages groups of outputs so."""
    average = ctx.call.name == "avg_pool1d"
    extra = ("ceil_mode", "count_include_pad") if average else ("dilation", "ceil_mode", "return_indices")
    a = _bound(ctx, *_POOL2D, *extra, stride=None, padding=0)
    shape = ctx.value_shape(0)
    if len(shape) != 2:
        ctx.fail("FE-UNSUPPORTED-OP", f"{ctx.call.name} of a per-sample shape {list(shape)}; snnc pools (C, L) inputs")
    flags = ("ceil_mode", "count_include_pad", "return_indices")
    one = {k: v if k in flags else ((0 if k == "padding" else 1), _single(v)) for k, v in a.items()}
    if one["stride"][1] is None:
        one["stride"] = one["kernel_size"]
    if not average and one.get("dilation") not in (None, (1, 1)):
        ctx.fail("FE-UNSUPPORTED-ATTR", "dilated max pooling is not supported", "use dilation=1")
    planes = ctx.add(ops.Reshape((shape[0], 1, shape[1])), ctx.input(0), suffix=".2d")
    if average:
        pool = ops.AvgPool2d(one["kernel_size"], one["stride"], one["padding"], one.get("ceil_mode", False),
                             one.get("count_include_pad", True))  # fmt: skip
    else:
        pool = ops.MaxPool2d(one["kernel_size"], one["stride"], one["padding"], one.get("ceil_mode", False))
    pooled = ctx.add(pool, planes, suffix=".pool")
    return ctx.add(ops.Reshape(ctx.output_shape()), pooled)


def _single(value: object) -> object:
    if isinstance(value, (tuple, list)):
        return value[0] if len(value) == 1 else value
    return value


@function_converter("linear")
def linear_fn(ctx: ConvertContext) -> str:
    a = _bound(ctx, "weight", "bias", bias=None)
    weight, bias = _constant(ctx, "weight", a["weight"]), _constant(ctx, "bias", a["bias"])
    return ctx.add(ops.Linear(tensor_param(weight), None if bias is None else tensor_param(bias)), ctx.input(0))


@function_converter("conv1d", "conv2d")
def conv_fn(ctx: ConvertContext) -> str:
    """F.conv1d/F.conv2d with the model's weights: the nn.Conv1d/Conv2d of the same arguments."""
    a = _bound(ctx, "weight", "bias", "stride", "padding", "dilation", "groups", bias=None, stride=1, padding=0,
               dilation=1, groups=1)  # fmt: skip
    weight, bias = _constant(ctx, "weight", a["weight"]), _constant(ctx, "bias", a["bias"])
    dims = 1 if ctx.call.name == "conv1d" else 2
    cls = nn.Conv1d if dims == 1 else nn.Conv2d
    layer = cls(weight.shape[1] * a["groups"], weight.shape[0], tuple(weight.shape[2:]), a["stride"], a["padding"],
                a["dilation"], a["groups"], bias is not None, device="meta")  # fmt: skip
    layer.weight, layer.bias = weight, bias  # read by the converter only
    return (conv1d if dims == 1 else conv2d)(ctx, layer)


@function_converter("batch_norm")
def batch_norm_fn(ctx: ConvertContext) -> str:
    a = _bound(ctx, "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps", weight=None,
               bias=None, training=False, eps=1e-5)  # fmt: skip
    if a["training"] or a["running_mean"] is None:
        ctx.fail(
            "FE-BATCHNORM-STATS",
            "F.batch_norm normalises each batch by its own statistics (training=True or no running statistics)",
            "pass training=False with the running mean and variance",
        )
    channels = int(_constant(ctx, "running_mean", a["running_mean"]).shape[0])
    weight = a["weight"] if a["weight"] is not None else torch.ones(channels)
    bias = a["bias"] if a["bias"] is not None else torch.zeros(channels)
    op = ops.BatchNorm(
        tensor_param(a["running_mean"]),
        tensor_param(_constant(ctx, "running_var", a["running_var"])),
        tensor_param(_constant(ctx, "weight", weight)),
        tensor_param(_constant(ctx, "bias", bias)),
        float(a["eps"]),
    )
    return ctx.add(op, ctx.input(0))


@function_converter("dropout", "dropout1d", "dropout2d", "alpha_dropout", "feature_alpha_dropout")
def dropout_fn(ctx: ConvertContext) -> str:
    """F.dropout is the identity only with training=False: its default is True, which drops (and
    rescales) at inference too (torch/nn/functional.py: dropout)."""
    if _bound(ctx, "p", "training", "inplace", training=True)["training"]:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"F.{ctx.call.name} is called with training=True (its default), so it drops values at inference too",
            f"pass training=self.training, or use nn.{ctx.call.name.title().replace('_', '')} modules",
        )
    return ctx.input(0)


@function_converter("unsqueeze", "squeeze")
def unsqueeze_fn(ctx: ConvertContext) -> str:
    """Adding or removing an axis of size 1 within the sample: a reshape."""
    dim = _bound(ctx, "dim", dim=None)["dim"]
    rank = len(ctx.value_shape(0)) + (ctx.call.name == "unsqueeze")
    if dim is not None:
        for d in dim if isinstance(dim, (tuple, list)) else (dim,):
            _sample_axis(ctx, d, rank)
    if ctx.output_shape() == ctx.value_shape(0):
        return ctx.input(0)
    return ctx.add(ops.Reshape(ctx.output_shape()), ctx.input(0))


@function_converter("__getitem__", "select")
def index_fn(ctx: ConvertContext) -> str:
    """Indexing that is not a time step (those are folded by timeline.py): refused, saying which
    axis it indexes."""
    index = ctx.arg(1) if ctx.call.name == "__getitem__" else None
    items = index if isinstance(index, tuple) else (index,)
    axis = next((k for k, item in enumerate(items) if not (isinstance(item, slice) and item == slice(None))), 0)
    if ctx.call.name == "select":
        axis = ctx.arg(1, ctx.kwarg("dim", 0))
    if isinstance(axis, int) and axis < ctx.lead:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"indexes the batch axis ({ctx.call.name} on axis {axis} of a tensor whose leading axes are batch "
            "and time), so the graph would treat samples differently",
            "index the time axis of a sequence (x[t]) only; pass one sample as a batch of one",
        )
    ctx.fail(
        "FE-UNSUPPORTED-OP",
        f"indexes or slices per-sample axes ({ctx.call.name}), which no IR op does",
        "select features with a layer (e.g. nn.Linear), or slice the data before snnc",
    )
    raise AssertionError
