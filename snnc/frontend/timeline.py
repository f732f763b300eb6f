"""The time structure of a capture: which recorded calls make one time step, and where each
argument of a call comes from. Calls that only move leading axes (time slices, a time axis made
from a static input, merges, swaps, reductions over time: axes.py) become *aliases* of the value
they read, which the IR does not see.

**Steps.** Three shapes of capture reach here (see capture.py):

- **One pass** over the data: multi-step models see `[T, B, ...]` once; per-step models are run
  for one step on `[B, ...]`; sinabs squeeze layers see `[B·T, ...]`. Every call is part of the
  one step.
- **A loop over a sequence** (snnTorch tutorials: `for t in range(x.shape[0])`): each call is
  given the step of the time slice it depends on.
- **A loop over a static input** (snnTorch tutorial 5: `for step in range(num_steps): cur =
  fc(x)` on `[B, 784]`): nothing slices the input, so steps are counted instead: the k-th call
  of a module, or the k-th execution of one source line, is at step k.

In both loops the last step is the *template*; an argument produced d steps earlier comes from
`d` steps back (a Delay, or a neuron's own state threaded back into it, whose value at step 0 is
the initial state); calls before the loop that feed it are converted once; values collected over
the steps (`torch.stack(spk_rec)`, or writes `out[t] = v` into a preallocated tensor) become
the graph outputs, and calls after the loop on the collected sequence join the template (a
per-step op applied to all steps at once is the same op applied at every step).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from torch.utils import _pytree as pytree

from snnc.diagnostics import Diagnostic, SnncError
from snnc.frontend.axes import BATCH, TIME, Effect, Pattern, index_axes, patterns_of
from snnc.frontend.capture import Call, Capture, Ref

COLLECTORS = ("stack", "cat", "concat", "concatenate")


@dataclass(frozen=True)
class Source:
    """Where a template call's traced argument comes from: a template value, `delay` steps back."""

    value: int  # index into Capture.values (a value produced by a converted call, or the input)
    delay: int = 0


@dataclass
class Timeline:
    """The capture seen as one step: the calls to convert and where each argument comes from."""

    calls: list[Call]
    sources: dict[tuple[int, int], Source]  # (call index, ref position) -> source
    first: dict[int, Call]  # template call index -> the same call at step 0 (initial state)
    outputs: list[int | None]  # values returned by the model (None: not representable)
    input_value: int
    patterns: dict[int, Pattern]  # every value's leading axes
    aliases: dict[int, int] = field(default_factory=dict)  # a value that only moves leading axes -> its source
    reduced: dict[int, tuple[str, Call]] = field(default_factory=dict)  # returned value -> (mean|sum, call)
    folded: bool = False  # True when the model loops over time steps itself
    steps: int | None = None  # the steps the model makes itself (a static input's loop or time axis)
    unsliced_loop: bool = False  # a neuron runs several times on a sequence input that nothing slices
    time_second: bool = False  # a module reads a sequence whose time axis is second ([B, T, ...])

    def lead(self, value: int) -> int:
        """The number of leading (non-sample) axes of a value."""
        return len(self.patterns.get(value, (BATCH,)))


# --- the time structure of a capture ----------------------------------------------------------


def timeline(
    cap: Capture, input_pattern: Pattern, stateful: Any = lambda m: False, sizes: dict[str, int] | None = None
) -> Timeline:
    """The capture as one step. `stateful(module)` says whether a leaf keeps state between calls:
    such a leaf called more than once on a static input may be a loop over time (it is, if every
    repetition reads only the loop's own values; a neuron called twice in one step is refused by
    its converter). `sizes` are the example's time and batch sizes ("T", "B")."""
    (input_value,) = cap.inputs
    patterns, effects = patterns_of(cap, input_pattern, sizes or {})
    line = Timeline([], {}, {}, [], input_value, patterns)
    line.time_second = any(c.is_module and c.refs() and patterns.get(c.refs()[0]) == (BATCH, TIME) for c in cap.calls)
    line.aliases = {v: c.refs()[0] for c in cap.calls if c.index in effects for v in c.outputs}
    line.steps = max((e.step for e in effects.values() if e.kind == "create"), default=None)
    step_of: dict[int, int] = {}
    for call in cap.calls:
        found = effects.get(call.index)
        if found is not None and found.kind == "slice":
            step_of[call.outputs[0]] = found.step
        elif found is not None and found.kind == "unbind":
            step_of.update({v: t for t, v in enumerate(call.outputs)})
    if step_of:
        return _sequence_loop(cap, line, step_of, effects)
    counts = Counter(_occurrence_key(c) for c in cap.calls if c.index not in effects)
    loops = [n for key, n in counts.items() if key[0] == "module" and n > 1 and stateful(key[3])]
    if loops and input_pattern != (BATCH,):
        line.unsliced_loop = True  # it loops over its whole input: a static input given as a sequence
    elif loops:
        folded = _static_loop(cap, line, counts, min(loops), effects)
        if folded is not None:
            folded.steps = min(loops)
            return folded
    return _one_pass(cap, line, effects)


def _occurrence_key(call: Call) -> tuple:
    """What repeats once per step in a loop over a static input: the call of a module, or of a torch
    function, from one source line."""
    if call.is_module:
        return ("module", id(call.target), call.location, call.target)
    return ("line", call.name, call.scope, call.location)


def _one_pass(cap: Capture, line: Timeline, effects: dict[int, Effect]) -> Timeline:
    line.calls = [c for c in cap.calls if c.index not in effects]
    line.sources = {(c.index, k): Source(_resolve(line.aliases, r)) for c in line.calls for k, r in enumerate(c.refs())}
    line.outputs = [
        _output(line, leaf.value, effects, cap, {}) for leaf in pytree.tree_leaves(cap.result) if isinstance(leaf, Ref)
    ]
    return line


def _resolve(aliases: dict[int, int], value: int) -> int:
    while value in aliases:
        value = aliases[value]
    return value


def _output(line: Timeline, value: int, effects: dict[int, Effect], cap: Capture, collected: dict[int, int]) -> int:
    """The value a returned value shows per step (following aliases and collectors); a reduction
    over time on the way is noted in `line.reduced`."""
    while True:
        if value in collected:
            value = collected[value]
            continue
        producer = cap.values[value].producer
        found = effects.get(producer) if producer is not None else None
        if found is None or found.kind in ("slice", "unbind"):
            return value
        if found.kind == "reduce":
            line.reduced[value] = (found.how, cap.calls[producer])
        value = cap.calls[producer].refs()[0]


def _signature(call: Call) -> tuple:
    return (call.name, call.target if call.is_module else None, len(call.args))


def _time_structure_error(call: Call | None, why: str) -> SnncError:
    where = f" (at {call.location})" if call is not None and call.location else ""
    return SnncError(
        [
            Diagnostic(
                "FE-TIME-STRUCTURE",
                f"the model's forward does different work at different time steps: {why}{where}",
                node=None if call is None else (call.name if call.is_module else call.scope or None),
                hint="snnc converts models whose per-step computation is the same at every step; a sum over "
                "time kept as `acc = acc + y` from 0 differs at the first step: collect the steps instead "
                "(torch.stack) and reduce the simulated output",
            )
        ]
    )


def _sequence_loop(cap: Capture, line: Timeline, step_of: dict[int, int], effects: dict[int, Effect]) -> Timeline:
    """A loop over time slices: each call is at the latest step of the slices it depends on."""
    last = max(step_of.values())
    call_step: dict[int, int] = {}
    for call in cap.calls:
        found = effects.get(call.index)
        steps = [step_of[r] for r in call.refs() if r in step_of]
        if not steps or (found is not None and found.kind in ("slice", "unbind")):
            continue
        if _is_collector(call, step_of, last) or _is_write(call, cap):
            continue
        if found is None:
            call_step[call.index] = max(steps)
        for o in call.outputs:
            step_of[o] = max(steps)
    return _folded(cap, line, step_of, call_step, effects)


def _static_loop(
    cap: Capture, line: Timeline, counts: Counter, steps: int, effects: dict[int, Effect]
) -> Timeline | None:
    """A loop over a static input: the k-th of the m·steps occurrences of a repeated call is at step
    k // m; calls that occur fewer times are before the loop (reading no step) or after it
    (collectors, reductions, layers applied to the collected sequence). None if the repetitions
    are no loop: a repeated call reads a value computed outside the repetitions from a repeated
    one (a neuron applied twice in one pass, `lif(fc2(lif(fc1(x))))`)."""
    seen: Counter = Counter()
    step_of: dict[int, int] = {}
    call_step: dict[int, int] = {}
    for call in cap.calls:
        if call.index in effects:
            src = call.refs()[0]
            for o in call.outputs:
                if src in step_of:
                    step_of[o] = step_of[src]
            continue
        key = _occurrence_key(call)
        if 1 < counts[key] < steps and call.name not in COLLECTORS and any(r in step_of for r in call.refs()):
            raise _time_structure_error(call, f"{call.name} runs at {counts[key]} of the loop's {steps} steps")
        if counts[key] < steps:
            continue  # before or after the loop
        if counts[key] % steps:
            what = f"{call.name} runs {counts[key]} times, but the loop makes {steps} steps"
            raise _time_structure_error(call, what)
        call_step[call.index] = seen[key] // (counts[key] // steps)
        seen[key] += 1
        for o in call.outputs:
            step_of[o] = call_step[call.index]
    outside: set[int] = set()  # values computed outside the repetitions from repeated ones
    for call in cap.calls:
        refs = [_resolve(line.aliases, r) for r in call.refs()]
        if call.index in call_step and any(r in outside for r in refs):
            return None
        if (
            call.index not in call_step
            and call.index not in effects
            and any(r in step_of or r in outside for r in refs)
        ):
            outside.update(call.outputs)
    return _folded(cap, line, step_of, call_step, effects)


def _is_collector(call: Call, step_of: dict[int, int], last: int) -> bool:
    """`torch.stack(spk_rec)`: one call reading a value of every step."""
    if call.is_module or call.name not in COLLECTORS or last == 0:
        return False
    return len({step_of[r] for r in call.refs() if r in step_of}) == last + 1


def _is_write(call: Call, cap: Capture) -> bool:
    """`out[t] = v`: a write of a traced value into one index of a tensor's first axis (the capture
    records it as a call producing the written tensor's next version, capture.py)."""
    if call.is_module or call.name != "__setitem__" or len(call.args) != 3 or not isinstance(call.args[2], Ref):
        return False
    axes = index_axes(call.args[1], len(cap.values[call.outputs[0]].shape)) if call.outputs else None
    return axes is not None and axes[0] is not None and all(a is None for a in axes[1:])


def _folded(
    cap: Capture, line: Timeline, step_of: dict[int, int], call_step: dict[int, int], effects: dict[int, Effect]
) -> Timeline:
    last = max(call_step.values(), default=0)
    per_step: list[list[Call]] = [[] for _ in range(last + 1)]
    before: list[Call] = []
    after: list[Call] = []
    collected: dict[int, int] = {}  # a collector's output -> a value it collects (of any step)
    written: dict[int, list[int]] = {}  # a written tensor's version -> the values written into it so far
    for call in cap.calls:
        if call.index in effects:
            continue
        if _is_write(call, cap):
            previous = written.get(call.refs()[0], []) if isinstance(call.args[0], Ref) else []
            written[call.outputs[0]] = [*previous, call.args[2].value]
        elif _is_collector(call, step_of, last):
            collected[call.outputs[0]] = next(r for r in call.refs() if r in step_of)
        elif call.index in call_step:
            per_step[call_step[call.index]].append(call)
        elif any(_resolve(line.aliases, r) in step_of or _resolve(line.aliases, r) in collected for r in call.refs()):
            after.append(call)
        else:
            before.append(call)
    for version, values in written.items():
        if sorted(step_of.get(v, -1) for v in values) == list(range(last + 1)):
            collected[version] = values[-1]
    template = per_step[-1]
    problems = [t for t in range(last) if [_signature(c) for c in per_step[t]] != [_signature(c) for c in template]]
    if problems or not template:
        differing = per_step[problems[0]] if problems else []
        call = next((c for c, d in zip(differing, template) if _signature(c) != _signature(d)), None)
        raise _time_structure_error(call, f"step {problems[0] if problems else 0} differs from the last")
    template_value: dict[int, int] = dict(collected)  # a value of any step -> the same value in the template
    for calls in per_step:
        for j, call in enumerate(calls):
            for o, v in enumerate(call.outputs):
                template_value[v] = template[j].outputs[o]

    def canonical(value: int) -> int:
        while True:
            moved = line.aliases.get(value, template_value.get(value, value))
            if moved == value:
                return value
            value = moved

    def source(value: int) -> Source:
        delay = last - step_of[value] if value in step_of else 0
        return Source(canonical(value), delay)

    line.calls = [*before, *template, *after]
    line.sources = {(c.index, k): source(r) for c in line.calls for k, r in enumerate(c.refs())}
    line.first = {template[j].index: c for j, c in enumerate(per_step[0])}
    line.outputs = [
        canonical(_output(line, leaf.value, effects, cap, collected))
        for leaf in pytree.tree_leaves(cap.result)
        if isinstance(leaf, Ref)
    ]
    line.folded = True
    return line
