"""Run a PyTorch model the way its own library runs it, on snnc's time-major data: the "source"
stage of `snnc validate`, against which the IR and everything lowered from it are compared.

The model is fed in the time layout its library implies (layout.py: one step per call, the whole
sequence, sinabs' [B·T, ...] squeeze layout, or batch-first), its state reset first as the
frontend resets it, and what each recorded module returns (the first tensor of its result: the
spikes of a snnTorch `(spk, mem)` or a Norse `(z, state)`) is kept by module path through forward
hooks, put back into [T, B, *shape]. The module path is what every IR node records as its
`source`, so these outputs line up with the nodes converted from the module.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, input_error
from snnc.frontend.layout import Layout, Stepped, choose_layout


@dataclass(frozen=True)
class ModuleRun:
    """The model's output [T, B, *shape] (None where its return value has no such form), the
    recorded modules' outputs by module path, the layout it ran in, and what could not be kept."""

    output: np.ndarray | None
    modules: dict[str, np.ndarray]
    layout: Layout
    notes: tuple[Diagnostic, ...] = ()


def source_layout(model: Any, shape: tuple[int, ...], input_time: str) -> tuple[Any, Layout]:
    """How the frontend ran `model` when it converted it (snnc/frontend/__init__.py from_module):
    the callable to feed (the model, or `Stepped` around a model that hands its state back) and
    the layout, with whether its input is static and whether it slices the batch-first axis."""
    from snnc.frontend import library_frontends
    from snnc.frontend.probe import capture_time, returns_state

    frontends = library_frontends(model)
    layout = choose_layout(model, frontends)
    if layout.kind in ("per_step", "loop") and returns_state(model, shape):
        layout = Layout("stepped")
    runner = Stepped(model) if layout.kind == "stepped" else model
    _, _, layout = capture_time(runner, model, layout, shape, input_time, frontends)
    for frontend in frontends:
        frontend.reset(model)
    return runner, layout


def run_module(
    model: Any,
    x: np.ndarray,
    record: Mapping[str, tuple[int, ...]],
    output_shape: tuple[int, ...],
    input_time: str = "sequence",
) -> ModuleRun:
    """Run `model` (an nn.Module) on `x` [T, B, *input shape] as its library does; `record` maps
    the module paths to keep to their per-sample output shapes, `output_shape` is the model
    output's per-sample shape, `input_time` the graph input's ("static": the model makes its own
    steps from one frame, x[0])."""
    import torch
    from torch.utils import _pytree as pytree

    from snnc.frontend import library_frontends

    frontends = library_frontends(model)
    memo = {k: v for f in frontends if hasattr(f, "copies") for k, v in f.copies(model).items()}
    model = copy.deepcopy(model, memo).eval()  # the user's model and its state stay untouched
    steps, batch = x.shape[:2]
    runner, layout = source_layout(model, tuple(x.shape[2:]), input_time)
    _check_squeeze(model, layout, steps, batch)
    for frontend in frontends:
        frontend.reset(model)
    seen: dict[str, list[torch.Tensor]] = {path: [] for path in record}

    def hook(path: str) -> Any:
        def keep(module: Any, args: Any, result: Any) -> None:
            first = next((t for t in pytree.tree_leaves(result) if isinstance(t, torch.Tensor)), None)
            if first is not None:
                seen[path].append(first.detach().clone())

        return keep

    handles = [m.register_forward_hook(hook(path)) for path, m in model.named_modules() if path in seen]
    data = torch.as_tensor(np.asarray(x, np.float32))
    try:
        with torch.no_grad():
            if layout.kind == "per_step":
                results = [runner(data[t]) for t in range(steps)]
            elif layout.kind == "batch_time":
                results = [runner(data.transpose(0, 1).reshape(batch * steps, *data.shape[2:]))]
            elif layout.time == "static":  # one frame; the model makes its own steps
                results = [runner(data[0])]
            elif layout.kind == "batch_first" or layout.batch_first_slices:
                results = [runner(data.transpose(0, 1).contiguous())]
            else:  # multi_step, loop, stepped: the whole sequence, time-major
                results = [runner(data)]
    except Exception as e:  # the model's own forward failed on these data
        raise input_error(
            "FE-SOURCE-RUN",
            f"running the model itself on the data [{', '.join(map(str, x.shape))}] failed: {type(e).__name__}: {e}",
            hint=f"the model is fed {layout.describe()}; check the data's per-sample shape",
        ) from None
    finally:
        for h in handles:
            h.remove()
    notes: list[Diagnostic] = []
    modules = {}
    for path, shape in record.items():
        values = _time_major(seen[path], layout, steps, batch, shape)
        if values is None:
            calls = ", ".join(str(list(t.shape)) for t in seen[path][:3]) or "none"
            notes.append(
                _note(
                    path, f"its outputs (calls: {len(seen[path])}; shapes {calls}) do not form [T, B, {_dims(shape)}]"
                )
            )
        else:
            modules[path] = values
    firsts = [next((t for t in pytree.tree_leaves(r) if isinstance(t, torch.Tensor)), None) for r in results]
    output = None if any(f is None for f in firsts) else _time_major(firsts, layout, steps, batch, output_shape)
    if output is None:
        notes.append(_note(None, f"the model's return value does not form [T, B, {_dims(output_shape)}]"))
    return ModuleRun(output, modules, layout, tuple(notes))


def _time_major(
    tensors: list[Any], layout: Layout, steps: int, batch: int, shape: tuple[int, ...]
) -> np.ndarray | None:
    """A module's outputs over one run as [T, B, *shape]: one [B, *shape] per step (called once
    per step, also inside a model's or Norse Lift's own loop), or one call holding the sequence in
    the layout's form; None for anything else (a module shared by several call sites)."""
    if len(tensors) == steps and all(tuple(t.shape) == (batch, *shape) for t in tensors):
        return np.stack([t.float().numpy() for t in tensors])
    if len(tensors) != 1:
        return None
    (t,) = tensors
    if math.prod(t.shape) != steps * batch * math.prod(shape):
        return None
    if layout.kind == "batch_time" and t.shape[0] == batch * steps:  # sample b's steps are rows b·T …
        return t.float().reshape(batch, steps, *shape).transpose(0, 1).contiguous().numpy()
    time_major = tuple(t.shape[:2]) == (steps, batch)
    if layout.kind == "batch_first" or (not time_major and tuple(t.shape[:2]) == (batch, steps)):
        return t.float().reshape(batch, steps, *shape).transpose(0, 1).contiguous().numpy()
    return t.float().reshape(steps, batch, *shape).numpy() if time_major else None


def _check_squeeze(model: Any, layout: Layout, steps: int, batch: int) -> None:
    """sinabs squeeze layers reshape [B·T, ...] by the batch size or number of steps they were
    built with (sinabs layers/reshape.py: SqueezeMixin.squeeze_forward); other data would be cut
    into the wrong samples without an error."""
    if layout.kind != "batch_time":
        return
    built = {"num_timesteps": steps, "batch_size": batch}
    for path, m in model.named_modules():
        if not all(isinstance(getattr(m, attr, None), int) for attr in built):
            continue
        for attr, given in built.items():
            value = getattr(m, attr)
            if value not in (-1, given):  # -1: not fixed when the layer was built
                raise input_error(
                    "FE-SOURCE-RUN",
                    f"the sinabs layer {path!r} was built with {attr}={value}, but the data have {given}",
                    node=path,
                    hint=f"give data with {value} {'steps' if attr == 'num_timesteps' else 'samples'}, or rebuild "
                    "the layer for these data",
                )


def _note(path: str | None, what: str) -> Diagnostic:
    where = f"module {path!r}" if path else "the model"
    return Diagnostic(
        "FE-SOURCE-OUTPUT",
        f"the source stage cannot compare {where}: {what}",
        node=path,
        hint="validate compares the other stages there; the source stage is compared where its outputs line up",
        severity=Severity.INFO,
    )


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))
