"""Capture what a PyTorch model computes by running it once on an example input.

Why not torch.fx: SNN models branch on tensor ranks inside library wrappers (SpikingJelly's
`layer.Conv2d` tests `x.dim()`, docs/environment.md §7), snnTorch models loop over time steps in
`forward` with `range(x.shape[0])` and thread membrane state through Python variables, and
Norse sequence modules loop internally. Symbolic tracing fails on all of these. A dynamic trace
records what actually ran, like `torch.jit.trace`, but at the granularity snnc converts:

- calls of *leaf* modules (those with a registered converter: layers and neurons; and a
  library's stateful modules without one, reported as unsupported) are recorded whole, with their
  tensor inputs and outputs, and nothing inside them is traced; every other module (containers,
  model-zoo networks, user modules) is traced through;
- every torch function or tensor method applied to a traced tensor outside a leaf (`x + y`,
  `torch.cat`, `x.flatten(1)`, `x[t]`, `torch.stack`) is recorded through a `TorchFunctionMode`;
  a write of a traced tensor into another (`out[t] = v`) is recorded as a call that produces the
  written tensor's next version;
- tensors that no recorded call produced and that are not model inputs are constants.

Every call also records where it was made: the file and line of the innermost Python frame
outside torch and snnc (the user's forward, or the library code of a module traced through), so
that a diagnostic can point at the line to change.

The result is a flat list of `Call`s in execution order over `Value`s (traced tensors), which the
converters turn into IR nodes. Values are kept alive for the whole capture so that `id()` of a
tensor is never reused.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree


@dataclass(eq=False)
class Value:
    """A traced tensor: a model input, or an output of a recorded call."""

    index: int
    tensor: torch.Tensor
    producer: int | None  # index of the Call that produced it; None for a model input

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


@dataclass(frozen=True)
class Ref:
    """Stands for a traced tensor inside a call's arguments."""

    value: int


@dataclass(eq=False)
class Call:
    """One recorded leaf-module call or torch function application."""

    index: int
    target: Any  # the nn.Module (leaf calls) or the torch function / tensor method
    name: str  # module path ("layer1.0.conv1") or function name ("cat")
    args: tuple  # arguments with traced tensors replaced by Ref
    kwargs: dict
    outputs: tuple[int, ...]  # indices of the Values it produced, in pytree order
    scope: str = ""  # path of the innermost module being executed when a function was called
    location: str | None = None  # "file:line" of the code that made the call (see `_caller`)

    @property
    def is_module(self) -> bool:
        return isinstance(self.target, nn.Module)

    def refs(self) -> list[int]:
        """Traced values read by the call, in argument order."""
        leaves = pytree.tree_leaves((self.args, self.kwargs))
        return [leaf.value for leaf in leaves if isinstance(leaf, Ref)]


@dataclass
class Capture:
    values: list[Value] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    result: Any = None  # the model's return value with traced tensors replaced by Ref
    modules: dict[str, nn.Module] = field(default_factory=dict)  # module path -> module


class _Recorder(TorchFunctionMode):
    def __init__(self, capture: Capture, names: dict[int, str], is_leaf: Callable[[nn.Module], bool]):
        super().__init__()
        self.capture = capture
        self.names = names
        self.is_leaf = is_leaf
        self.by_id: dict[int, int] = {}  # id(tensor) -> Value index
        self.leaf_stack: list[nn.Module] = []  # open module calls; [0] is the recorded leaf
        self.scopes: list[str] = []  # paths of the non-leaf modules currently executing

    # --- values ---

    def add_value(self, tensor: torch.Tensor, producer: int | None) -> int:
        value = Value(len(self.capture.values), tensor, producer)
        self.capture.values.append(value)
        self.by_id[id(tensor)] = value.index
        return value.index

    def to_refs(self, tree: Any) -> Any:
        def swap(leaf):
            if isinstance(leaf, torch.Tensor) and id(leaf) in self.by_id:
                return Ref(self.by_id[id(leaf)])
            return leaf

        return pytree.tree_map(swap, tree)

    def traced(self, tree: Any) -> bool:
        return any(isinstance(x, torch.Tensor) and id(x) in self.by_id for x in pytree.tree_leaves(tree))

    def record(self, target: Any, name: str, args: tuple, kwargs: dict, result: Any) -> None:
        index = len(self.capture.calls)
        leaves = pytree.tree_leaves(result)
        outputs = tuple(self.add_value(x, index) for x in leaves if isinstance(x, torch.Tensor))
        scope = self.scopes[-1] if self.scopes else ""
        self.capture.calls.append(Call(index, target, name, args, kwargs, outputs, scope, _caller()))

    # --- torch functions outside leaf modules ---

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.leaf_stack or not self.traced((args, kwargs)):
            return result
        if getattr(func, "__name__", "") == "__setitem__" and isinstance(args[0], torch.Tensor):
            ref_args, ref_kwargs = self.to_refs((args, kwargs))
            self.record(func, "__setitem__", ref_args, ref_kwargs, args[0])  # the written tensor's next version
            return result
        if not any(isinstance(x, torch.Tensor) for x in pytree.tree_leaves(result)):
            return result  # shape, dtype, dim(): metadata, not data flow
        ref_args, ref_kwargs = self.to_refs((args, kwargs))
        self.record(func, getattr(func, "__name__", str(func)), ref_args, ref_kwargs, result)
        return result

    # --- leaf module calls (global forward hooks) ---

    def pre_hook(self, module: nn.Module, args: tuple) -> None:
        if self.leaf_stack or self.is_leaf(module):
            self.leaf_stack.append(module)
        else:
            self.scopes.append(self.names.get(id(module), ""))

    def post_hook(self, module: nn.Module, args: tuple, kwargs: dict, result: Any) -> None:
        """Arguments are read here, where torch passes keyword arguments too (a global pre-hook
        sees positional ones only): `lif(cur, mem=mem)` must keep its `mem`."""
        if not self.leaf_stack:
            if self.scopes:
                self.scopes.pop()
            return
        opened = self.leaf_stack.pop()
        if self.leaf_stack or opened is not module:
            return
        name = self.names.get(id(module), type(module).__name__)
        ref_args, ref_kwargs = self.to_refs(_positional(module, args, kwargs))
        self.record(module, name, ref_args, ref_kwargs, result)


_INTERNAL = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, sys.modules[__package__.split(".")[0]]))


def is_internal(file: str) -> bool:
    """Code of torch or snnc, or without a file: not the model's own code."""
    return file.startswith(_INTERNAL) or file.startswith("<")


def _caller() -> str | None:
    """ "file:line" of the innermost frame outside torch and snnc: the code that made the call."""
    frame = sys._getframe(2)
    while frame is not None:
        if not is_internal(frame.f_code.co_filename):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _positional(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Arguments given by keyword moved to their positions in `forward`'s signature (defaults
    filled in before them), so converters address every argument by position."""
    try:
        signature = inspect.signature(module.forward)
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError):  # no introspectable signature: keep the call as it was made
        return args, kwargs
    bound.apply_defaults()
    positional: list[Any] = []
    rest: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional.append(bound.arguments[name])
        elif parameter.kind is parameter.VAR_POSITIONAL:
            positional.extend(bound.arguments[name])
        elif parameter.kind is parameter.KEYWORD_ONLY:
            rest[name] = bound.arguments[name]
        else:
            rest.update(bound.arguments[name])
    return tuple(positional), rest


def capture(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    is_leaf: Callable[[nn.Module], bool],
    root: nn.Module | None = None,
) -> Capture:
    """Run `model(*inputs)` once and record its leaf-module calls and tensor operations. Modules are
    named by their path in `root` (default: the model; a wrapper that drives the model passes it)."""
    result = Capture()
    result.modules = {name: m for name, m in (root or model).named_modules() if name}
    names = {id(m): name for name, m in result.modules.items()}
    recorder = _Recorder(result, names, is_leaf)
    result.inputs = [recorder.add_value(x, None) for x in inputs]
    pre = nn.modules.module.register_module_forward_pre_hook(recorder.pre_hook)
    post = nn.modules.module.register_module_forward_hook(recorder.post_hook, with_kwargs=True)
    try:
        with torch.no_grad(), recorder:
            output = model(*inputs)
    finally:
        pre.remove()
        post.remove()
    result.result = recorder.to_refs(output)
    return result
