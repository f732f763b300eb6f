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
import functools
import importlib
import importlib.util
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
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


@module_converter(neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode)
def neuron_node(ctx: ConvertContext, m: neuron.BaseNode) -> str:
    """IF, LIF and PLIF as the Neuron of the table above (`_neuron_op`)."""
    _check_neuron(ctx, m, _base_neuron(m))

    def number(attr: str) -> float:
        value = getattr(m, attr)
        if not _is_number(value):
            ctx.fail(UNSUPPORTED, f"{attr} is a {type(value).__name__}, not a number", f"give {attr} as a float")
        return float(value)

    return ctx.add(_neuron_op(m, number), ctx.input(0))


_NEURONS = (neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode)


def _base_neuron(m: neuron.BaseNode) -> type:
    """The converted class the module is or derives from (a subclass's overridden step methods are refused)."""
    return next(cls for cls in type(m).__mro__ if cls in _NEURONS)


def _neuron_op(m: neuron.BaseNode, number: Any) -> ops.Neuron:
    """The Neuron of the table above; `number(attr)`: a scalar parameter as a float.

    IF: `_ops/if_/reference.py: step`, h = v + x. LIF: `_ops/lif/reference.py: charge`, dividing
    by the float32 τ as torch does. PLIF: `_ops/plif/reference.py: _forward_impl`, multiplying by
    q = `w.float().sigmoid()`, evaluated by torch (numpy's sigmoid differs in 17 % of values). The
    delta charge's E (v_rest) is v_reset."""
    soft = m.v_reset is None
    rest = tensor_param(0.0 if soft else number("v_reset"))
    leak = None
    if isinstance(m, neuron.ParametricLIFNode):
        leak = ops.FloatOrder(_charge(m), rate=tensor_param(torch.sigmoid(m.w.detach().float())), rate_op="mul")
    elif isinstance(m, neuron.LIFNode):
        leak = ops.FloatOrder(_charge(m), rate=tensor_param(number("tau")), rate_op="div")
    return ops.Neuron(
        threshold=tensor_param(number("v_threshold")),
        reset="subtract" if soft else "zero",
        v_reset=rest,
        fire_op="ge",
        v_init=rest,
        float_order=None if leak is None else leak.replace(v_rest=rest),
    )


def _charge(m: neuron.LIFNode | neuron.ParametricLIFNode) -> Literal["delta", "delta_leak"]:
    return "delta" if m.decay_input else "delta_leak"


def _is_number(value: Any) -> bool:
    """The constructors assert Python floats (neuron/base_node.py: BaseNode.__init__,
    neuron/lif.py: LIFNode.__init__); a later assignment could change that."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


# --- a faster forward for the capture ---------------------------------------------------------


def capture_forward(m: nn.Module) -> Callable[..., Any] | None:
    """For the capture only (snnc/frontend/probe.py runs a private copy of the model on an example
    input): the forward of an 'm'-mode IF/LIF/PLIF neuron computed by snnc's own Neuron
    (snnc/sim/neuron.py: NeuronState), which the frontend tests prove spike-identical to the
    library's (tests/frontend/test_spikingjelly*.py) and which updates one membrane in place. The
    library's reference step (`_ops/if_/reference.py: step`, `_ops/reset.py: voltage`) makes
    several fresh tensors per step, which is most of the time of loading a large network
    (SEW-ResNet-18 at 224×224: benchmarks/bench_all.py). The membrane after the last step is left
    in `v`, as `IFNode.multi_step_forward` leaves it. Anything else runs the library's forward: a
    subclass, step mode 's', `store_v_seq`, a reduced precision, a custom surrogate, a membrane
    carried in from an earlier call, extra arguments, another dtype or device."""
    if type(m) not in _NEURONS or m.step_mode != "m" or m.store_v_seq or m._neuron_precision is not None:
        return None
    if getattr(m, "backend", "torch") != "torch" or _surrogate_spec(m.surrogate_function) is None:
        return None
    if not all(_is_number(getattr(m, attr)) for attr in ("v_threshold", "tau") if hasattr(m, attr)):
        return None
    if m.v_reset is not None and not _is_number(m.v_reset):
        return None
    op = _neuron_op(m, lambda attr: float(getattr(m, attr)))
    library = m.forward
    v_init = float(op.v_init)

    @functools.wraps(library)
    def forward(*args: Any, **kwargs: Any) -> Any:
        from snnc.frontend.guard import trusted
        from snnc.sim.neuron import NeuronState

        x = args[0] if len(args) == 1 and not kwargs else None
        fresh = isinstance(m.v, float) and m.v == v_init
        if x is None or not fresh or x.dim() < 2 or x.dtype != torch.float32 or x.device.type != "cpu":
            return library(*args, **kwargs)
        with trusted():  # the spikes and the state are the size of x, which the guard has sized
            state = NeuronState(op, tuple(x.shape[2:]), x.shape[1], x.device, frozenset())
            spikes = state.run(x)
        m.v = state.v
        return spikes

    return forward


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
