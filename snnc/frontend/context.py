"""What a converter sees of one recorded call (`ConvertContext`), and how it says it cannot convert it.

Converters (snnc/frontend/registry.py and the per-library modules) receive a context; the
conversion driver (convert.py) makes them. Kept apart from both so that neither the registry nor a
converter module depends on the driver.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils import _pytree as pytree

from snnc.diagnostics import Diagnostic, SnncError
from snnc.frontend.capture import Call, Ref
from snnc.ir.ops import Op
from snnc.ir.types import TensorType

if TYPE_CHECKING:
    from snnc.frontend.convert import _Converter


class ConversionFailed(Exception):
    """Raised by a converter (through `ConvertContext.fail`) for a call it cannot convert."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


# --- conversion -------------------------------------------------------------------------------


class ConvertContext:
    """What a converter sees of one recorded call; adds nodes named after the module path."""

    def __init__(self, conv: _Converter, call: Call):
        self._conv = conv
        self.call = call
        self.name = call.name if call.is_module else ".".join(p for p in (call.scope, call.name) if p)
        refs = call.refs()
        self.lead = conv.timeline.lead(refs[0]) if refs else 1  # leading (time, batch) axes of its tensors

    # arguments

    def arg(self, k: int, default: Any = None) -> Any:
        return self.call.args[k] if k < len(self.call.args) else self.call.kwargs.get(str(k), default)

    def kwarg(self, name: str, default: Any = None) -> Any:
        return self.call.kwargs.get(name, default)

    def is_traced(self, k: int) -> bool:
        return isinstance(self.arg(k), Ref)

    def input(self, k: int = 0) -> str:
        """The IR node feeding positional argument k (which must be a traced tensor)."""
        arg = self.arg(k)
        if not isinstance(arg, Ref):
            self.fail("FE-UNSUPPORTED-OP", f"argument {k} is not a tensor computed by the model")
        position = [
            i for i, leaf in enumerate(pytree.tree_leaves((self.call.args, self.call.kwargs))) if isinstance(leaf, Ref)
        ]
        ref_pos = position.index(self._leaf_index(k))
        return self._conv.node_for(self.call, ref_pos)

    def inputs(self) -> list[str]:
        """IR nodes of every traced tensor the call reads, in argument order (e.g. torch.cat's list)."""
        return [self._conv.node_for(self.call, pos) for pos in range(len(self.call.refs()))]

    def _leaf_index(self, k: int) -> int:
        before = pytree.tree_leaves((self.call.args[:k],))
        return len(before)

    def value_shape(self, k: int = 0) -> tuple[int, ...]:
        """Per-sample shape of traced argument k."""
        return self._conv.sample_shape(self.arg(k).value)

    def output_shape(self, slot: int = 0) -> tuple[int, ...]:
        return self._conv.sample_shape(self.call.outputs[slot])

    def state_init(self, k: int, slot: int) -> Any:
        """The initial value of a state argument: argument k must be this call's own output `slot`
        from the previous step (or a constant). A state of several tensors (a tuple such as Norse's
        state NamedTuples) must be the outputs `slot`, `slot + 1`, … in order. Returns the constant
        seen at the first step."""
        arg = self.arg(k)
        leaves = pytree.tree_leaves(arg)
        if any(isinstance(leaf, Ref) for leaf in leaves):
            outputs = self.call.outputs[slot:]
            for j, leaf in enumerate(leaves):
                source = self._conv.source_of(self.call, leaf) if isinstance(leaf, Ref) else None
                if source is None or j >= len(outputs) or not (source.value == outputs[j] and source.delay == 1):
                    self.fail(
                        "FE-STATE",
                        f"state argument {k} is not the module's own state from the previous step",
                        "pass the state returned by the same neuron at the previous step",
                    )
            first = self._conv.timeline.first.get(self.call.index)
            arg = first.args[k] if first is not None and k < len(first.args) else None
            if any(isinstance(leaf, Ref) for leaf in pytree.tree_leaves(arg)):
                self.fail("FE-STATE", f"the initial state (argument {k}) is computed from the input")
        return arg

    # building

    def add(self, op: Op, *inputs: str, suffix: str = "") -> str:
        return self._conv.add(self, op, inputs, suffix)

    def module_calls(self) -> int:
        """How often the converted step calls this call's module: state kept inside a module is
        shared by all its calls, which one IR node per call cannot express."""
        return sum(1 for c in self._conv.timeline.calls if c.is_module and c.target is self.call.target)

    def fail(self, rule: str, message: str, hint: str | None = None) -> None:
        raise ConversionFailed(Diagnostic(rule, message, node=self.name, hint=hint))

    # inside a recorded call: child modules it ran and loops it closes (e.g. sinabs' recurrent
    # `rec_connect`, which the capture does not record because the neuron is a leaf)

    def convert_child(self, module: Any, name: str, *inputs: str, lead: int | None = None) -> str:
        """Convert child `module` (module path `name`) applied to IR nodes `inputs`, by its registered
        converter; `lead`: the leading non-sample axes of the tensors the child sees (default: the call's)."""
        converter = self._conv.module_converter(module)
        if converter is None:
            self.fail(
                "FE-UNSUPPORTED-OP",
                f"{name} is a {type(module).__module__}.{type(module).__qualname__}, which has no snnc converter",
                "use a supported layer (e.g. nn.Linear or nn.Conv2d)",
            )
        child = _ChildContext(self, module, name, inputs)
        child.lead = self.lead if lead is None else lead
        result = converter(child, module)
        if not isinstance(result, str):
            self.fail("FE-UNSUPPORTED-OP", f"{name} does not produce exactly one tensor")
        return result

    def type_of(self, node: str) -> TensorType:
        """The IR type of a node already added."""
        return self._conv.builder.type_of(node)

    # neighbouring calls, for converters that fold a pattern of calls into one op (x · (1 − y))

    def producer(self, k: int) -> ConvertContext | None:
        """The context of the call that computed traced argument k at this step (None for the model
        input or a value from an earlier step)."""
        arg = self.arg(k)
        source = self._conv.source_of(self.call, arg)
        producer = self._conv.cap.values[source.value].producer
        if source.delay or producer is None:
            return None
        return ConvertContext(self._conv, self._conv.cap.calls[producer])

    def uses(self, slot: int = 0) -> list[tuple[str, int]]:
        """How the model uses output `slot`: (call name, delay in steps) for each reading call, and
        ("return", 0) if the model returns it."""
        value = self.call.outputs[slot]
        names = {c.index: c.name for c in self._conv.timeline.calls}
        found = [(names[i], s.delay) for (i, _), s in self._conv.timeline.sources.items() if s.value == value]
        return found + [("return", 0)] * self._conv.timeline.outputs.count(value)

    def delay(self, ty: TensorType, steps: int = 1, suffix: str = ".delay") -> str:
        """A Delay node whose input is connected later with `connect`: closes a recurrent loop."""
        return self._conv.builder.delay(self._conv.builder.fresh(self.name + suffix), steps, ty, source=self.name)

    def connect(self, delay: str, source: str) -> None:
        try:
            self._conv.builder.connect(delay, source)
        except SnncError as e:
            raise ConversionFailed(e.diagnostics[0]) from None


class _ChildContext(ConvertContext):
    """The context of a child module run inside a recorded call: its inputs are given IR nodes."""

    def __init__(self, parent: ConvertContext, module: Any, name: str, inputs: tuple[str, ...]):
        super().__init__(parent._conv, replace(parent.call, target=module, name=name, args=(), kwargs={}))
        self._nodes = inputs

    def arg(self, k: int, default: Any = None) -> Any:
        return default

    def is_traced(self, k: int) -> bool:
        return k < len(self._nodes)

    def input(self, k: int = 0) -> str:
        if k >= len(self._nodes):
            self.fail("FE-UNSUPPORTED-OP", f"argument {k} is not a tensor computed by the model")
        return self._nodes[k]

    def inputs(self) -> list[str]:
        return list(self._nodes)

    def value_shape(self, k: int = 0) -> tuple[int, ...]:
        return self.type_of(self.input(k)).shape

    def output_shape(self, slot: int = 0) -> tuple[int, ...]:
        self.fail("FE-UNSUPPORTED-OP", "the output shape of a child module is not known before it is converted")
        raise AssertionError


def tensor_param(value: Any) -> np.ndarray:
    """A module attribute (tensor, number or array) as a float32 numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float32).numpy().copy()
    return np.asarray(value, dtype=np.float32)
