"""Bounding what tracing a model allocates: every torch operation's result is sized before it runs.

To convert a model snnc runs it once on an example input (capture.py). Its layers come from the
model file, so their attributes are the file's: a Conv2d with a padding of 30 000 or an input
shape of 2×100 000×100 000 would make torch allocate hundreds of gigabytes before snnc has a
graph to verify. `bounded_allocations` intercepts every aten operation below the model's code
(a `TorchDispatchMode`, torch/utils/_python_dispatch.py), computes the operation on meta tensors
first (shapes only, no data: torch's meta kernels, torch/_meta_registrations.py) and refuses,
with FE-TOO-LARGE, a result larger than the memory limit. Results that are views or in-place
updates of an input allocate nothing and pass; an operation without a meta kernel runs unchecked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map_only

from snnc.diagnostics import input_error
from snnc.limits import current, format_bytes


def check_example(shape: tuple[int, ...]) -> None:
    """The example input itself: a float32 tensor, built with two temporaries of its size."""
    limits = current()
    need = 3 * 4 * math.prod(shape)
    if need > limits.memory:
        raise input_error(
            "FE-TOO-LARGE",
            f"the example input {list(shape)} snnc runs the model on takes {format_bytes(need)} to build, "
            f"more than the memory limit of {format_bytes(limits.memory)}",
            hint="check --input-shape (per sample, without time and batch); " + limits.memory_hint(),
            measured=need,
            limit=limits.memory,
        )


class _Guard(TorchDispatchMode):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        need = _new_bytes(func, args, kwargs)
        if need is not None and need > self.limit:
            limits = current()
            raise input_error(
                "FE-TOO-LARGE",
                f"running the model on its example input reaches an operation ({func}) whose result takes "
                f"{format_bytes(need)}, more than the memory limit of {format_bytes(self.limit)}",
                hint="check the layers' sizes and paddings and the input shape; " + limits.memory_hint(),
                measured=need,
                limit=self.limit,
            )
        return func(*args, **kwargs)


def _new_bytes(func: Any, args: tuple, kwargs: dict) -> int | None:
    """Bytes of the results `func` allocates (not views or in-place results), from meta tensors;
    None when torch cannot compute the operation on meta tensors."""
    meta_args, meta_kwargs = tree_map_only(torch.Tensor, lambda t: t.to("meta"), (args, kwargs))
    if not any(isinstance(leaf, torch.Tensor) for leaf in tree_flatten((args, kwargs))[0]):
        if "device" not in {a.name for a in func._schema.arguments}:
            return None
        meta_kwargs = {**meta_kwargs, "device": torch.device("meta")}  # a factory: zeros, empty, full
    try:
        out = func(*meta_args, **meta_kwargs)
    except Exception:  # no meta kernel, or a data-dependent shape
        return None
    fresh = [r.alias_info is None for r in func._schema.returns]
    results = out if isinstance(out, (tuple, list)) else (out,)
    return sum(
        t.numel() * t.element_size()
        for t, new in zip(results, fresh + [True] * len(results))
        if new and isinstance(t, torch.Tensor)
    )


@contextmanager
def bounded_allocations() -> Iterator[None]:
    with _Guard(current().memory):
        yield
