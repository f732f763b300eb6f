"""The time structure of a capture: which recorded calls make one time step, and where each
argument of a call comes from.

Two shapes of capture reach here (see capture.py):

- **One pass** over the data: multi-step models (SpikingJelly `step_mode='m'`, Norse sequence
  modules) see `[T, B, ...]` tensors once; per-step models (SpikingJelly `'s'`, snnTorch with
  `init_hidden=True`, torch ANNs) are run for one step on `[B, ...]`; sinabs squeeze layers see
  `[B·T, ...]`. Every recorded call is part of the one step.
- **A loop over time inside `forward`** (snnTorch tutorials: `for t in range(x.shape[0])`): the
  capture holds T repetitions of one step. Each call is given the step of the input slice
  `x[t]` it depends on; the last step is the *template*; an argument produced d steps earlier
  comes from `d` steps back (a Delay, or a neuron's own state threaded back into it, whose
  value at step 0 is the initial state). Values collected over the steps
  (`torch.stack(spk_rec)`) become the graph outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils import _pytree as pytree

from snnc.diagnostics import Diagnostic, SnncError
from snnc.frontend.capture import Call, Capture, Ref


@dataclass(frozen=True)
class Source:
    """Where a template call's traced argument comes from: a template value, `delay` steps back."""

    value: int  # index into Capture.values (a value produced by a template call, or the input)
    delay: int = 0


@dataclass
class Timeline:
    """The capture seen as one step: the calls to convert and where each argument comes from."""

    calls: list[Call]
    sources: dict[tuple[int, int], Source]  # (call index, ref position) -> source
    first: dict[int, Call]  # template call index -> the same call at step 0 (initial state)
    outputs: list[int | None]  # template values returned by the model (None: not representable)
    input_value: int  # the model input (the whole [T, B, ...] tensor when folded)
    folded: bool = False  # True when the model loops over time steps itself


# --- the time structure of a capture ----------------------------------------------------------


def _time_index(call: Call, input_value: int) -> int | None:
    """t if `call` is `x[t]` on the model input (time-major), else None."""
    if call.is_module or call.name != "__getitem__" or len(call.args) != 2:
        return None
    source, index = call.args
    if isinstance(source, Ref) and source.value == input_value and isinstance(index, int):
        return index
    return None


def _unbound_steps(call: Call, input_value: int) -> dict[int, int]:
    """{value: t} for `for x_t in x` (torch records `unbind(x, 0)`, whose output t is x[t])."""
    if call.is_module or call.name != "unbind" or not call.args:
        return {}
    dim = call.args[1] if len(call.args) > 1 else call.kwargs.get("dim", 0)
    if not (isinstance(call.args[0], Ref) and call.args[0].value == input_value and dim == 0):
        return {}
    return {v: t for t, v in enumerate(call.outputs)}


def timeline(cap: Capture) -> Timeline:
    (input_value,) = cap.inputs
    step_of: dict[int, int] = {}
    call_step: dict[int, int] = {}
    slices: set[int] = set()  # values x[t] taken by unbind, standing for the input at step t
    for call in cap.calls:
        unbound = _unbound_steps(call, input_value)
        if unbound:
            step_of.update(unbound)
            slices.update(unbound)
            continue
        t = _time_index(call, input_value)
        if t is None:
            steps = [step_of[r] for r in call.refs() if r in step_of]
            if not steps:
                continue
            t = max(steps)
        call_step[call.index] = t
        for o in call.outputs:
            step_of[o] = t
    if not call_step:
        return _one_pass(cap, input_value)
    return _folded(cap, input_value, step_of, call_step, slices)


def _one_pass(cap: Capture, input_value: int) -> Timeline:
    sources = {(c.index, k): Source(r) for c in cap.calls for k, r in enumerate(c.refs())}
    outputs = [leaf.value if isinstance(leaf, Ref) else None for leaf in pytree.tree_leaves(cap.result)]
    return Timeline(list(cap.calls), sources, {}, outputs, input_value)


def _signature(call: Call) -> tuple:
    return (call.name, call.target if call.is_module else None, len(call.args))


def _folded(
    cap: Capture, input_value: int, step_of: dict[int, int], call_step: dict[int, int], slices: set[int]
) -> Timeline:
    last = max(call_step.values())
    per_step: list[list[Call]] = [[] for _ in range(last + 1)]
    collectors: list[Call] = []
    for call in cap.calls:
        if call.index not in call_step:
            continue
        ref_steps = {step_of[r] for r in call.refs() if r in step_of}
        if len(ref_steps) == last + 1 and last > 0 and call.name in ("stack", "cat"):
            collectors.append(call)
        else:
            per_step[call_step[call.index]].append(call)
    template = per_step[-1]
    problems = [t for t in range(1, last) if [_signature(c) for c in per_step[t]] != [_signature(c) for c in template]]
    if problems or not template or [_signature(c) for c in per_step[0]] != [_signature(c) for c in template]:
        raise SnncError(
            [
                Diagnostic(
                    "FE-TIME-STRUCTURE",
                    "the model's forward does different work at different time steps "
                    f"(step {problems[0] if problems else 0} differs from the last)",
                    hint="snnc converts models whose per-step computation is the same at every step",
                )
            ]
        )
    template_value: dict[int, int] = {}  # value produced at any step -> the same value in the template
    for calls in per_step:
        for j, call in enumerate(calls):
            for o, v in enumerate(call.outputs):
                template_value[v] = template[j].outputs[o]
    sources = {}
    for call in template:
        for k, r in enumerate(call.refs()):
            delay = last - step_of[r] if r in step_of else 0
            sources[(call.index, k)] = Source(input_value if r in slices else template_value.get(r, r), delay)
    first = {template[j].index: c for j, c in enumerate(per_step[0])}
    outputs: list[int | None] = []
    for leaf in pytree.tree_leaves(cap.result):
        if not isinstance(leaf, Ref):
            continue
        collector = next((c for c in collectors if leaf.value in c.outputs), None)
        if collector is not None:
            collected = [template_value.get(r) for r in collector.refs()]
            outputs.append(collected[0] if len(set(collected)) == 1 else None)
        else:
            outputs.append(template_value.get(leaf.value))
    return Timeline(template, sources, first, outputs, input_value, folded=True)


def is_time_slice(call: Call, input_value: int) -> bool:
    return _time_index(call, input_value) is not None
