"""The leading axes of every traced value: which axes before the per-sample shape are time and batch.

Every traced value has a *pattern*: the axes in front of the per-sample shape. "T" is time, "B"
the batch, "TB"/"BT" the two merged into one axis (time-major, as SpikingJelly's
`seq_to_ann_forward` flattens `[T, B]`; batch-major, as sinabs' squeeze layers do). The model
input starts with the pattern of its layout (layout.py) and calls keep the pattern of their first
argument, except the calls that only move leading axes (`effect`), which the IR does not see: a
time slice (`x[t]`, `x[t, :]`, `x[:, t]` of a batch-first sequence, `x.select(0, t)`, `for x_t in
x`), a time axis made from a static input (`x.unsqueeze(0).expand(T, ...)`, `.repeat(T, 1, ...)`),
merging or splitting time and batch (`x.flatten(0, 1)`, `y.view(T, B, ...)`), swapping them
(`x.transpose(0, 1)`), and a mean or sum over time. `torch.stack` of the steps' values makes a
time axis where it stacks them. timeline.py folds the capture with these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snnc.frontend.capture import Call, Capture, Ref

Pattern = tuple[str, ...]
TIME, BATCH = "T", "B"
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Effect:
    """What a call does to the leading axes: `kind` slice (time step `step`), create (a time axis
    of `step` steps), move (merge, split, swap), reduce (`how`), or None (an ordinary call)."""

    kind: str | None
    pattern: Pattern
    step: int = 0
    how: str = ""


def argument(call: Call, k: int, name: str, default: Any) -> Any:
    """Argument k of a recorded function call, given by position or by `name`."""
    return call.args[k] if len(call.args) > k else call.kwargs.get(name, default)


def index_axes(index: Any, rank: int) -> list[int | None] | None:
    """For `x[index]` on a tensor of `rank` axes: per axis, the int it is indexed at, or None where
    the axis is kept whole; None if the index does anything else (ranges, tensors, new axes)."""
    items = index if isinstance(index, tuple) else (index,)
    if sum(item is Ellipsis for item in items) > 1:
        return None
    explicit = len(items) - (Ellipsis in items)
    axes: list[int | None] = []
    for item in items:
        if item is Ellipsis:
            axes += [None] * (rank - explicit)
        elif isinstance(item, int) and not isinstance(item, bool):
            axes.append(item)
        elif isinstance(item, slice) and item == slice(None):
            axes.append(None)
        else:
            return None
    return axes + [None] * (rank - len(axes)) if len(axes) <= rank else None


def _selected(pattern: Pattern, axes: list[int | None]) -> Effect | None:
    """An index that takes one time step and keeps every other axis whole."""
    picked = [(k, t) for k, t in enumerate(axes) if t is not None]
    if len(picked) != 1 or picked[0][0] >= len(pattern) or pattern[picked[0][0]] != TIME:
        return None
    k, t = picked[0]
    return Effect("slice", pattern[:k] + pattern[k + 1 :], step=t)


def effect(call: Call, shape_of: Any, pattern: Pattern, sizes: dict[str, int]) -> Effect:
    """The leading-axis effect of one call whose first traced argument has `pattern`."""
    plain = Effect(None, pattern)
    if not call.is_module and call.name == "stack" and TIME not in pattern:  # steps' values: a time axis at dim
        dim = argument(call, 1, "dim", 0)
        return Effect(None, (*pattern[:dim], TIME, *pattern[dim:])) if 0 <= dim <= len(pattern) else plain
    if call.is_module or not call.args or not isinstance(call.args[0], Ref):
        return plain
    name, src = call.name, call.args[0].value
    in_shape = shape_of(src)
    out_shape = shape_of(call.outputs[0]) if call.outputs else ()
    rank, lead = len(in_shape), len(pattern)
    if name == "__getitem__" and len(call.args) == 2:
        axes = index_axes(call.args[1], rank)
        return (_selected(pattern, axes) if axes is not None else None) or plain
    if name == "select":
        dim, index = argument(call, 1, "dim", 0), argument(call, 2, "index", 0)
        axes: list[int | None] = [None] * rank
        if isinstance(dim, int) and isinstance(index, int) and -rank <= dim < rank:
            axes[dim % rank] = index
            return _selected(pattern, axes) or plain
        return plain
    if name == "unbind":
        dim = argument(call, 1, "dim", 0)
        if isinstance(dim, int) and dim % rank < lead and pattern[dim % rank] == TIME:
            return Effect("unbind", pattern[: dim % rank] + pattern[dim % rank + 1 :])
        return plain
    if name == "unsqueeze" and pattern == (BATCH,) and argument(call, 1, "dim", None) == 0:
        return Effect("create", (TIME, BATCH), step=1)
    if name in ("expand", "repeat", "expand_as", "broadcast_to") and pattern[:1] == (TIME,):
        grown = len(out_shape) == rank and out_shape[1:] == in_shape[1:] and out_shape[0] != in_shape[0]
        if grown and (name != "repeat" or in_shape[0] == 1):
            return Effect("create", pattern, step=out_shape[0])
        return plain
    ends = (argument(call, 1, "start_dim", 0), argument(call, 2, "end_dim", -1))
    if name == "flatten" and lead == 2 and ends == (0, 1):
        return Effect("move", ("".join(pattern),))
    if name in ("view", "reshape", "unflatten", "flatten") and lead in (1, 2):
        if lead == 2 and out_shape[:1] == (in_shape[0] * in_shape[1],) and out_shape[1:] == in_shape[2:]:
            return Effect("move", ("".join(pattern),))
        merged = pattern[0] if lead == 1 else ""
        split = tuple(sizes.get(a) for a in merged)
        if len(merged) == 2 and out_shape[:2] == split and out_shape[2:] == in_shape[1:]:
            return Effect("move", (merged[0], merged[1]))
        return plain
    if name in ("transpose", "swapaxes", "permute") and lead == 2:
        order = list(range(rank))
        if name == "permute":
            dims = call.args[1] if len(call.args) == 2 and isinstance(call.args[1], (tuple, list)) else call.args[1:]
            order = [d % rank for d in dims] if len(dims) == rank else order
        else:
            a, b = argument(call, 1, "dim0", 0) % rank, argument(call, 2, "dim1", 1) % rank
            order[a], order[b] = order[b], order[a]
        if order[:2] == [1, 0] and order[2:] == list(range(2, rank)):
            return Effect("move", (pattern[1], pattern[0]))
        return plain
    if name in REDUCTIONS and TIME in pattern and not call.kwargs.get("keepdim", False):
        dim = argument(call, 1, "dim", None)
        dim = dim[0] if isinstance(dim, (tuple, list)) and len(dim) == 1 else dim
        if isinstance(dim, int) and dim % rank == pattern.index(TIME) and len(call.args) <= 2:
            return Effect("reduce", tuple(a for a in pattern if a != TIME), how=name)
    return plain


def patterns_of(
    cap: Capture, input_pattern: Pattern, sizes: dict[str, int]
) -> tuple[dict[int, Pattern], dict[int, Effect]]:
    """Every value's pattern, and the calls that only move leading axes (by call index)."""
    (input_value,) = cap.inputs
    sizes = sizes | dict(zip(input_pattern, cap.values[input_value].shape))
    patterns: dict[int, Pattern] = {input_value: input_pattern}
    effects: dict[int, Effect] = {}
    for call in cap.calls:
        refs = call.refs()
        pattern = patterns.get(refs[0], (BATCH,)) if refs else (BATCH,)
        found = effect(call, lambda v: tuple(cap.values[v].shape), pattern, sizes)
        if found.kind is not None:
            effects[call.index] = found
        if found.kind == "create":
            sizes[TIME] = found.step
        for o in call.outputs:
            patterns[o] = found.pattern
    return patterns, effects


def input_slices(cap: Capture) -> dict[int, set[int]]:
    """{axis: the indices it is taken at} for the model's own slicing of its input, x[t], x[:, t],
    x.select(axis, t), x.unbind(axis) (axes 0 and 1 only)."""
    (input_value,) = cap.inputs
    rank = len(cap.values[input_value].shape)
    found: dict[int, set[int]] = {}
    for call in cap.calls:
        if call.is_module or not call.args or call.args[0] != Ref(input_value):
            continue
        if call.name == "__getitem__" and len(call.args) == 2:
            index = index_axes(call.args[1], rank) or []
            for axis, t in enumerate(index[:2]):
                if t is not None:
                    found.setdefault(axis, set()).add(t)
        elif call.name == "select" and isinstance(argument(call, 2, "index", None), int):
            found.setdefault(argument(call, 1, "dim", 0) % rank, set()).add(argument(call, 2, "index", 0))
        elif call.name == "unbind":
            found.setdefault(argument(call, 1, "dim", 0) % rank, set()).update(range(len(call.outputs)))
    return {axis: ts for axis, ts in found.items() if axis < 2}
