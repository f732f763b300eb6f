"""Running a model on example inputs until one run shows how it handles time.

snnc converts what a model computes by running it once (capture.py). Which example to run it on
is not always known beforehand: the model's layout (layout.py) says how its library passes time,
but a model may also repeat a static image over steps it makes itself, loop over a fixed
`num_steps` beyond the example's steps, read its data batch-first (`x[:, t]`), reshape to a
batch size it hard-codes (`x.view(batch_size, -1)`), or be one step of a state protocol its
users drive (`out, s = model(x[t], s)`). `capture_time` tries the layout's own example first and
then the others the run points to, in a fixed order, and returns the first capture whose time
structure (timeline.py) is consistent; a model that fails on every example gets the diagnostic of
the first failure, with the line of the model's code that raised.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from snnc.diagnostics import Diagnostic, SnncError
from snnc.frontend.layout import LONGER_STEPS, Layout


def capture_time(
    runner: Any, model: Any, layout: Layout, shape: tuple[int, ...], input_time: str | None, frontends: list
) -> tuple[Any, Any, Layout]:
    """Capture the model in the first time layout it runs in: the layout's own, then, where the
    model may make its own time steps, a static frame. Returns (capture, timeline, layout)."""
    from snnc.frontend.axes import input_slices
    from snnc.frontend.timeline import timeline

    times = [input_time] if input_time else ["sequence", "static"] if layout.makes_time else ["sequence"]
    error: SnncError | None = None
    fallback = None
    for time in times:
        try:
            cap, candidate = _run_once(runner, model, layout.with_time(time), shape, frontends)
            sliced = input_slices(cap)
            if candidate.pattern == ("T", "B") and set(sliced) == {1}:  # x[:, t]: run [B, T] with T steps
                cap, candidate = _run_once(runner, model, candidate.longer(candidate.steps, True), shape, frontends)
            elif candidate.pattern == ("B",) and time == "sequence" and len(sliced.get(0, ())) > 1:
                # it loops over its input's first axis (e.g. spikingjelly functional.multi_step_forward)
                cap, candidate = _run_once(runner, model, replace(candidate, kind="loop"), shape, frontends)
        except SnncError as e:
            error = error or e
            continue
        sizes = {"T": candidate.steps, "B": candidate.batch}
        line = timeline(cap, candidate.pattern, lambda m: _is_stateful(m, frontends), sizes)
        if candidate.pattern == ("T", "B") and line.time_second:  # it swaps [B, T] input to time-major itself
            cap, candidate = _run_once(runner, model, candidate.longer(candidate.steps, True), shape, frontends)
            line = timeline(cap, candidate.pattern, lambda m: _is_stateful(m, frontends), sizes)
        if input_time is None and time == "sequence" and line.unsliced_loop and len(times) > 1:
            fallback = fallback or (cap, line, candidate)
            continue  # it loops over its whole input without slicing it: a static input given as a sequence
        if input_time is None and time == "static" and line.steps is None:
            if error is None:
                continue  # it makes no time steps of its own: not a static-input model
            return cap, line, replace(candidate, kind="per_step", time="sequence")  # it computes one step per call
        return cap, line, candidate
    if fallback is not None:
        return fallback
    if error is None:  # unreachable: each attempt returns, keeps a fallback or records its error
        raise AssertionError("no capture and no error")
    raise error


def _run_once(runner: Any, model: Any, layout: Layout, shape: tuple[int, ...], frontends: list) -> tuple[Any, Layout]:
    """The capture of one run on an example input in `layout`, and the layout it ran in: a model
    that indexes past the example's time steps (`for step in range(num_steps): x[step]`) is run on
    longer examples, one that indexes dimension 1 (`x[:, step]`) on a batch-first one."""
    from snnc.frontend.capture import capture
    from snnc.frontend.guard import check_example

    candidate = layout
    while True:
        for frontend in frontends:
            frontend.reset(model)
        check_example(candidate.example_shape(shape))  # a longer example asked for by the model, too
        x = candidate.example(shape)
        try:
            return capture(runner, [x], lambda m: _is_leaf(m, frontends), root=model), candidate
        except SnncError:
            raise
        except IndexError as e:
            retry = _longer(candidate, str(e))
            if retry is not None:
                candidate = retry
                continue
            error: Exception = e
        except RuntimeError as e:
            batch = _hard_coded_batch(str(e))
            if batch is not None and batch != candidate.batch and "B" in candidate.pattern:
                candidate = replace(candidate, batch=batch)
                continue
            error = e
        except Exception as e:  # the model's own forward failed on the example input
            error = e
        raise SnncError(
            [
                Diagnostic(
                    "FE-CAPTURE",
                    f"running the model on an example input of shape {list(x.shape)} failed: "
                    f"{type(error).__name__}: {error}{_where(error)}",
                    hint=f"check input_shape (per sample, without time and batch); snnc feeds {candidate.describe()}",
                )
            ]
        ) from None


def _hard_coded_batch(message: str) -> int | None:
    """N where the model reshapes to a fixed batch size (`x.view(batch_size, -1)`, as snnTorch's
    tutorials write it) and torch says the example does not fit: it is run again with batch N."""
    found = re.search(r"shape '\[(\d+), ?-1\]' is invalid for input of size", message)
    n = int(found.group(1)) if found else 0
    return n if 0 < n <= 1024 else None


def _longer(layout: Layout, message: str) -> Layout | None:
    """The next example layout to try after the model indexed out of the example's bounds."""
    if "T" not in layout.pattern:
        return None
    dim = re.search(r"dimension (\d+)", message)
    if dim is not None and int(dim.group(1)) == 1 and layout.pattern == ("T", "B"):
        return layout.longer(layout.steps, batch_first=True)
    steps = next((s for s in LONGER_STEPS if s > layout.steps), None)
    return None if steps is None else layout.longer(steps, layout.batch_first_slices)


def _where(error: Exception) -> str:
    """(at file:line) of the innermost frame of the model's own code in a traceback."""
    import traceback

    from snnc.frontend.capture import is_internal

    frames = [f for f in traceback.extract_tb(error.__traceback__) if not is_internal(f.filename)]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def returns_state(model: Any, shape: tuple[int, ...]) -> bool:
    """Whether the model's forward is one step of a state protocol, `(x_t, state=None) -> (out,
    state)` (Norse cells and SequentialState, or a user module written so): its second parameter
    defaults to None and a call on one step returns an output and a state holding tensors. The
    model then runs inside `layout.Stepped`, which drives it as its users do."""
    import inspect

    import torch

    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    if len(parameters) < 2 or parameters[1].default is not None or parameters[0].default is not inspect.Parameter.empty:
        return False
    if any(p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters[1:]):
        return False
    try:
        with torch.no_grad():
            result = model(Layout("per_step").example(shape))
    except Exception:
        return False
    return (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], torch.Tensor)
        and any(isinstance(leaf, torch.Tensor) for leaf in _leaves(result[1]))
    )


def _leaves(tree: Any) -> list:
    from torch.utils import _pytree as pytree

    return pytree.tree_leaves(tree)


def _is_leaf(module: Any, frontends: list) -> bool:
    """Modules with a converter are recorded whole; so are the stateful modules of a library that
    have none (reported as unsupported): their state lives in attributes the capture cannot see
    as data flow. Every other module (containers, model-zoo networks, user modules, torch.nn
    modules without a converter) is traced through, its forward recorded call by call."""
    from snnc.frontend.registry import find_module_converter

    return find_module_converter(module) is not None or _is_stateful(module, frontends)


def _is_stateful(module: Any, frontends: list) -> bool:
    """A library module that keeps state between calls (a neuron), by its library frontend."""
    return any(f.is_stateful(module) for f in frontends if hasattr(f, "is_stateful"))
