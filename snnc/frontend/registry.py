"""The converter registry: one small function per module type or torch function.

A module converter receives a `ConvertContext` for one recorded call and the module itself, adds
IR nodes through the context and returns the IR node name for each tensor the call produced
(`None` for an output that is neuron state, such as snnTorch's returned membrane). Converters are
registered by class (exact type first, then the MRO) or, for torch functions and tensor methods,
by the function's name. A library's converters live in its own module under snnc/frontend/ and
are imported lazily, so snnc works with any subset of the libraries installed.

To support a new module type, register a converter for it:

    from snnc.frontend.registry import module_converter

    @module_converter(MyLayer)
    def _my_layer(ctx, module):
        return ctx.add(Linear(module.weight), ctx.input(0))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snnc.frontend.context import ConvertContext

ModuleConverter = Callable[["ConvertContext", Any], "str | tuple[str | None, ...] | None"]
FunctionConverter = Callable[["ConvertContext"], "str | tuple[str | None, ...] | None"]

MODULE_CONVERTERS: dict[type, ModuleConverter] = {}
FUNCTION_CONVERTERS: dict[str, FunctionConverter] = {}


def module_converter(*types: type) -> Callable[[ModuleConverter], ModuleConverter]:
    def register(fn: ModuleConverter) -> ModuleConverter:
        for t in types:
            MODULE_CONVERTERS[t] = fn
        return fn

    return register


def function_converter(*names: str) -> Callable[[FunctionConverter], FunctionConverter]:
    def register(fn: FunctionConverter) -> FunctionConverter:
        for name in names:
            FUNCTION_CONVERTERS[name] = fn
        return fn

    return register


def find_module_converter(module: Any) -> ModuleConverter | None:
    """The converter of the module's class, or of a base class whose `forward` it does not override
    (a subclass with its own forward computes something else and must not be converted as its base)."""
    for cls in type(module).__mro__:
        if cls in MODULE_CONVERTERS:
            if cls is not type(module) and type(module).forward is not cls.forward:
                return None
            return MODULE_CONVERTERS[cls]
    return None
