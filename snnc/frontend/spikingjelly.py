"""SpikingJelly 2.0.0 (`spikingjelly.activation_based`) as IR nodes (docs/library-semantics.md §1).

Paths are relative to `site-packages/spikingjelly/`. On CPU every IF/LIF/PLIF step runs the torch
reference of `_ops/<kind>/reference.py` (`activation_based/functional/neuron.py: if_multi_step,
lif_multi_step, plif_multi_step` dispatch to it, `_ops/dispatch.py`; step mode 's' runs the same op
with T = 1, `if_step`, `lif_step`, `plif_step`). With E = v_reset, or 0.0 when v_reset is None:

    IF    _ops/if_/reference.py: step         h = v + x
    LIF   _ops/lif/reference.py: charge       decay_input: h = v + (x − (v − E)) / τ
                                              otherwise:   h = (v − (v − E) / τ) + x
    PLIF  _ops/plif/reference.py: step,       the same with · q, q = sigmoid(w), in place of / τ
          _forward_impl
    fire  _ops/surrogate.py: _SurrogateSpike  s = (h − θ ≥ 0)
    reset _ops/reset.py: voltage              v_reset None: v = h − s·θ;  else v = s·v_reset + (1 − s)·h

The IR Neuron (snnc/ir/ops.py) evaluates the same expressions in the same float32 order:

| class (activation_based/…)                 | Neuron fields                                                  |
|--------------------------------------------|----------------------------------------------------------------|
| `neuron/integrate_and_fire.py: IFNode`     | charge "affine", v_decay 1, gain 1, bias 0 (1·v + 1·x + 0 is   |
|                                            | v + x exactly)                                                 |
| `neuron/lif.py: LIFNode`                   | decay_input: charge "delta", else "delta_leak"; rate τ,        |
|                                            | rate_op "div" (x/τ ≠ x·(1/τ) in float32), v_rest E             |
| `neuron/plif.py: ParametricLIFNode`        | as LIFNode with rate = torch.sigmoid(w) read from torch,       |
|                                            | rate_op "mul"                                                  |
| all (`neuron/base_node.py: BaseNode`)      | threshold θ, fire_op "ge", spikes "single", reset_timing        |
|                                            | "same_step"; v_reset None → reset "subtract", v_init 0;        |
|                                            | v_reset E → reset "zero", v_reset E, v_init E (the registered  |
|                                            | memory `v`, restored by `functional.reset_net`)                |

`detach_reset` changes only the backward pass. Refused, because the forward pass is then not the
one above: a surrogate function that `_ops/surrogate.py: _surrogate_spec` does not recognise (a
custom one, or `spiking=False`: the reference path calls it in the forward pass, so spikes need not
be binary); an explicit neuron precision (`_neuron_precision`, reduced-precision state); a subclass
that overrides a step method; a neuron called more than once per step (its calls share `v`).

Layers. The `layer.*` wrappers apply their torch.nn op to `[B, ...]` in step mode 's' and, through
`activation_based/functional/forward.py: seq_to_ann_forward`, to `[T·B, ...]` in 'm'
(`layer/stateless_wrapper.py`, `layer/bn.py: BatchNorm2d.forward` flattens T and B itself): per
sample the torch.nn op either way, so the torch.nn converters apply with one leading axis.
`layer.Linear` does not override forward and is converted as nn.Linear. `layer.SeqToANNContainer`
and `layer.MultiStepContainer` (`layer/container.py`) run their children in order, per step or on
`[T·B, ...]`, which is again per sample the children in order.

Model-zoo networks (`activation_based/model/`: `parametric_lif_net`, `spiking_resnet`,
`sew_resnet`, ...) have no converter of their own and are traced through down to the layers and
neurons above; `layer.VotingLayer`'s `F.avg_pool1d` is a 2-d average pool (torch_nn.py:
pool1d_fn). SEW ResNet (`activation_based/model/sew_resnet.py`): `BasicBlock`, `Bottleneck` and
`SEWResNet` are traced through; `sew_function` ADD `x + y` and AND `x * y` are Elementwise add/mul, and IAND
`x * (1.0 - y)` becomes `Elementwise("iand", y, x)` (torch_nn.py: `rsub_fn`, `_inverted_product`).
The ResNet and VGG zoo modules import torchvision at import time, which snnc never installs:
`import_zoo` provides a stand-in for the one function they import.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any, Literal

import torch
from spikingjelly._ops.surrogate import _surrogate_spec
from spikingjelly.activation_based import base, functional, layer, neuron
from torch import nn

from snnc.diagnostics import input_error
from snnc.frontend import torch_nn
from snnc.frontend.context import ConvertContext, tensor_param
from snnc.frontend.layout import Layout
from snnc.frontend.registry import ModuleConverter, module_converter
from snnc.ir import ops

UNSUPPORTED = "FE-UNSUPPORTED-ATTR"
SEW_RESNET = "spikingjelly.activation_based.model.sew_resnet"
# Model-zoo modules that import torchvision (docs/environment.md §8).
TORCHVISION_ZOO = (
    SEW_RESNET,
    "spikingjelly.activation_based.model.spiking_resnet",
    "spikingjelly.activation_based.model.spiking_vgg",
)
# Containers whose children keep their own step mode (activation_based/functional/net_config.py:
# set_step_mode, keep_step_mode_instance).
KEEP_CHILD_MODE = (
    layer.StepModeContainer,
    layer.MultiStepContainer,
    layer.SeqToANNContainer,
    layer.TLastMultiStepContainer,
    layer.TLastSeqToANNContainer,
    layer.ElementWiseRecurrentContainer,
    layer.LinearRecurrentContainer,
)
# The methods a neuron's forward pass runs through (base.py: MemoryModule, neuron/base_node.py).
STEP_METHODS = (
    "forward",
    "single_step_forward",
    "multi_step_forward",
    "single_step_functional_forward",
    "multi_step_functional_forward",
    "materialize_states",
)


# --- layout and reset -------------------------------------------------------------------------


def layout(model: nn.Module) -> Layout | None:
    """`multi_step` for step mode 'm' ([T, B, ...] in one call); for 's', `loop` if the model's own
    forward loops over its input's time axis, else `per_step` (one call per step)."""
    modes = {"m" if isinstance(m, base.MultiStepModule) else m.step_mode for m in _step_modules(model)}
    if not modes:
        return None
    if len(modes) > 1:
        raise input_error(
            "FE-LAYOUT",
            "the model mixes SpikingJelly step modes 's' and 'm'",
            hint="set one step mode for the whole network: functional.set_step_mode(net, 'm')",
        )
    if modes == {"m"}:
        return Layout("multi_step")
    return Layout("loop" if _loops_over_input(model) else "per_step")


def _step_modules(model: nn.Module) -> Iterator[base.StepModule]:
    """The SpikingJelly modules whose step mode fixes the input layout: every step module outside
    the containers that keep their children's mode, except `layer.Linear` (the same in both)."""
    stack: list[nn.Module] = [model]
    while stack:
        m = stack.pop()
        if isinstance(m, base.StepModule) and not isinstance(m, layer.Linear):
            yield m
        if not isinstance(m, KEEP_CHILD_MODE):
            stack.extend(m.children())


def _loops_over_input(model: nn.Module) -> bool:
    """Whether the model's forward iterates over its input (`for x_t in x`, `for t in
    range(x.shape[0])`, or `x[t]` inside a loop): step modes cannot tell a network called once per
    step from one that loops over time itself, its source can. No source: called once per step."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(type(model).forward)))
    except (OSError, TypeError, SyntaxError):
        return False
    forward = tree.body[0]
    if not isinstance(forward, ast.FunctionDef) or len(forward.args.args) < 2:
        return False
    x = forward.args.args[1].arg
    for loop in ast.walk(forward):
        if not isinstance(loop, (ast.For, ast.comprehension)):
            continue
        if _names(loop.iter) & {x}:
            return True
        targets = _names(loop.target)
        for node in ast.walk(loop) if isinstance(loop, ast.For) else ():
            if isinstance(node, ast.Subscript) and _names(node.value) == {x} and _names(node.slice) & targets:
                return True
    return False


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def is_stateful(module: nn.Module) -> bool:
    """SpikingJelly keeps state in `MemoryModule`s (base.py): neurons, `layer.Delay`, recurrent
    containers. One without a converter is reported whole, never traced through."""
    return isinstance(module, base.MemoryModule)


def reset(model: nn.Module) -> None:
    """Every memory back to its registered initial value (`functional/net_config.py: reset_net`)."""
    functional.reset_net(model)


def import_sew_resnet() -> types.ModuleType:
    """SpikingJelly's SEW ResNet module (see `import_zoo`)."""
    return import_zoo(SEW_RESNET)


def import_zoo(name: str) -> types.ModuleType:
    """A SpikingJelly model-zoo module. The ResNet and VGG zoos (`TORCHVISION_ZOO`) bind
    `torchvision.models.utils.load_state_dict_from_url` at import (only used to download pretrained
    ImageNet weights), and snnc never installs torchvision. When torchvision is missing, stand-in
    modules providing only that function (it refuses to download) are put in sys.modules for the
    duration of this import and removed right after, so no other code ever sees a fake torchvision."""
    if name in sys.modules or importlib.util.find_spec("torchvision") is not None or name not in TORCHVISION_ZOO:
        return importlib.import_module(name)
    stubs = {s: types.ModuleType(s) for s in ("torchvision", "torchvision.models", "torchvision.models.utils")}
    stubs["torchvision.models.utils"].load_state_dict_from_url = _no_download  # type: ignore[attr-defined]
    sys.modules.update(stubs)
    try:
        return importlib.import_module(name)
    finally:
        for stub in stubs:
            sys.modules.pop(stub, None)


def _no_download(url: str, *args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"pretrained weights ({url}) need torchvision, which is not installed")


# --- neurons ----------------------------------------------------------------------------------


@module_converter(neuron.IFNode)
def if_node(ctx: ConvertContext, m: neuron.IFNode) -> str:
    """IF: `_ops/if_/reference.py: step`, h = v + x."""
    _check_neuron(ctx, m, neuron.IFNode)
    return _neuron(ctx, m, None)


@module_converter(neuron.LIFNode)
def lif_node(ctx: ConvertContext, m: neuron.LIFNode) -> str:
    """LIF: `_ops/lif/reference.py: charge`, dividing by the float32 τ as torch does."""
    _check_neuron(ctx, m, neuron.LIFNode)
    return _neuron(ctx, m, ops.FloatOrder(_charge(m), rate=tensor_param(_number(ctx, m, "tau")), rate_op="div"))


@module_converter(neuron.ParametricLIFNode)
def plif_node(ctx: ConvertContext, m: neuron.ParametricLIFNode) -> str:
    """PLIF: `_ops/plif/reference.py: _forward_impl`, multiplying by q = `w.float().sigmoid()`,
    evaluated by torch (numpy's sigmoid differs in 17 % of values)."""
    _check_neuron(ctx, m, neuron.ParametricLIFNode)
    q = tensor_param(torch.sigmoid(m.w.detach().float()))
    return _neuron(ctx, m, ops.FloatOrder(_charge(m), rate=q, rate_op="mul"))


def _charge(m: neuron.LIFNode | neuron.ParametricLIFNode) -> Literal["delta", "delta_leak"]:
    return "delta" if m.decay_input else "delta_leak"


def _neuron(ctx: ConvertContext, m: neuron.BaseNode, leak: ops.FloatOrder | None) -> str:
    """The Neuron of the table above; `leak`: the delta charge of a LIF (E, its v_rest, is v_reset)."""
    soft = m.v_reset is None
    rest = tensor_param(0.0 if soft else _number(ctx, m, "v_reset"))
    op = ops.Neuron(
        threshold=tensor_param(_number(ctx, m, "v_threshold")),
        reset="subtract" if soft else "zero",
        v_reset=rest,
        fire_op="ge",
        v_init=rest,
        float_order=None if leak is None else leak.replace(v_rest=rest),
    )
    return ctx.add(op, ctx.input(0))


def _number(ctx: ConvertContext, m: nn.Module, attr: str) -> float:
    """A scalar neuron parameter; the constructors assert Python floats (neuron/base_node.py:
    BaseNode.__init__, neuron/lif.py: LIFNode.__init__), a later assignment could change that."""
    value = getattr(m, attr)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(UNSUPPORTED, f"{attr} is a {type(value).__name__}, not a number", f"give {attr} as a float")
    return float(value)


def _check_neuron(ctx: ConvertContext, m: neuron.BaseNode, cls: type) -> None:
    overridden = [name for name in STEP_METHODS if getattr(type(m), name) is not getattr(cls, name)]
    if overridden:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{type(m).__qualname__} overrides {', '.join(overridden)} of {cls.__qualname__}, so its dynamics "
            "may differ from the library's",
            f"use {cls.__qualname__} itself",
        )
    if _surrogate_spec(m.surrogate_function) is None:
        ctx.fail(
            UNSUPPORTED,
            f"surrogate function {type(m.surrogate_function).__qualname__} is custom or has spiking=False; "
            "SpikingJelly then calls it in the forward pass, so the output need not be the spike h >= v_threshold",
            "use a built-in surrogate from spikingjelly.activation_based.surrogate with spiking=True",
        )
    if m._neuron_precision is not None:
        ctx.fail(
            UNSUPPORTED,
            f"neuron precision {m._neuron_precision} keeps the membrane in reduced precision",
            "convert the float32 model; snnc quantizes for the target itself",
        )
    if ctx.module_calls() > 1:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            "the neuron is called more than once per time step, so its calls share one membrane",
            "use one neuron module per call",
        )


# --- layers and containers --------------------------------------------------------------------


def _per_sample(convert: ModuleConverter) -> ModuleConverter:
    """A torch.nn converter for a `layer.*` wrapper, which applies the torch op to one leading axis:
    [B, ...] in step mode 's', [T·B, ...] in 'm' (functional/forward.py: seq_to_ann_forward)."""

    def wrapper(ctx: ConvertContext, m: nn.Module) -> Any:
        ctx.lead = 1  # only read where a dim is counted from the front (Flatten's start_dim)
        return convert(ctx, m)

    return wrapper


for _cls, _convert in {
    layer.Conv1d: torch_nn.conv1d,
    layer.Conv2d: torch_nn.conv2d,
    layer.BatchNorm1d: torch_nn.batchnorm,
    layer.BatchNorm2d: torch_nn.batchnorm,
    layer.MaxPool2d: torch_nn.maxpool2d,
    layer.AvgPool2d: torch_nn.avgpool2d,
    layer.AdaptiveAvgPool2d: torch_nn.adaptive_avgpool2d,
    layer.Flatten: torch_nn.flatten,
}.items():
    module_converter(_cls)(_per_sample(_convert))

# layer.Dropout keeps its mask as memory but multiplies by it only in training
# (layer/dropout.py: Dropout.single_step_functional_forward); snnc converts eval models.
module_converter(layer.Dropout)(torch_nn.identity)


@module_converter(layer.SeqToANNContainer, layer.MultiStepContainer)
def container(ctx: ConvertContext, m: nn.Sequential) -> str:
    """The children in order (`layer/container.py`): on [T·B, ...] for SeqToANNContainer, per step
    for MultiStepContainer; per sample both are the children in order."""
    return _children(ctx, m, ctx.name, ctx.input(0), stateless=isinstance(m, layer.SeqToANNContainer))


def _children(ctx: ConvertContext, m: nn.Module, path: str, node: str, stateless: bool) -> str:
    for name, child in m.named_children():
        child_path = f"{path}.{name}"
        if type(child) is nn.Sequential:
            node = _children(ctx, child, child_path, node, stateless)
            continue
        if getattr(child, "step_mode", "s") != "s":
            ctx.fail("FE-UNSUPPORTED-OP", f"{child_path} has step mode 'm' inside {type(m).__qualname__}")
        if stateless and isinstance(child, neuron.BaseNode):
            ctx.fail(
                "FE-UNSUPPORTED-OP",
                f"{child_path} is a neuron inside SeqToANNContainer, which runs it on all T·B samples as one "
                "step, so its state does not carry across time",
                "put neurons outside SeqToANNContainer (or in a MultiStepContainer)",
            )
        node = ctx.convert_child(child, child_path, node, lead=1)
    return node
