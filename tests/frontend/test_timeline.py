"""The time structure of a capture: leading axes (time, batch) of every traced value, time slices,
loops over a static input, collectors, and what is no loop at all."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snnc.frontend.axes import effect, input_slices
from snnc.frontend.capture import capture
from snnc.frontend.timeline import timeline


class Counter(nn.Module):
    """A stateful leaf for the capture (a neuron stand-in): it keeps a running sum."""

    def forward(self, x, s=None):
        s = x if s is None else s + x
        return s.clone(), s  # output and state: two tensors


def _capture(model: nn.Module, x: torch.Tensor):
    return capture(model, [x], lambda m: isinstance(m, (nn.Linear, Counter)))


def _is_counter(m) -> bool:
    return isinstance(m, Counter)


@pytest.mark.parametrize(
    "index, pattern, kind, step",
    [
        (3, ("T", "B"), "slice", 3),
        ((3, slice(None)), ("T", "B"), "slice", 3),
        ((3, Ellipsis), ("T", "B"), "slice", 3),
        ((slice(None), 2), ("B", "T"), "slice", 2),
        ((slice(None), 2), ("T", "B"), None, 0),  # the batch axis: not a time step
        ((slice(None), slice(None), 1), ("T", "B"), None, 0),  # a per-sample axis
    ],
)
def test_indexing_takes_a_time_step_only_on_the_time_axis(index, pattern, kind, step):
    class Index(nn.Module):
        def forward(self, x):
            return x[index]

    cap = _capture(Index(), torch.zeros(5, 5, 4))
    found = effect(cap.calls[0], lambda v: tuple(cap.values[v].shape), pattern, {"T": 5, "B": 5})
    assert (found.kind, found.step if kind else 0) == (kind, step)


def test_leading_axes_merge_split_and_reduce():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x.flatten(0, 1)).unflatten(0, (3, 2))  # spikingjelly's seq_to_ann_forward
            return y.mean(0)

    cap = _capture(Seq(), torch.zeros(3, 2, 4))
    line = timeline(cap, ("T", "B"))
    flatten, fc, unflatten, _ = cap.calls
    assert line.patterns[flatten.outputs[0]] == ("TB",) and line.patterns[unflatten.outputs[0]] == ("T", "B")
    assert [c.name for c in line.calls] == ["fc"]
    assert line.outputs == [fc.outputs[0]] and [how for how, _ in line.reduced.values()] == ["mean"]


class StaticLoop(nn.Module):
    def __init__(self, steps: int):
        super().__init__()
        self.fc, self.n, self.steps = nn.Linear(4, 4), Counter(), steps

    def forward(self, x):
        s, out = None, []
        for _ in range(self.steps):
            z, s = self.n(self.fc(x), s)
            out.append(z)
        return torch.stack(out)


def test_a_loop_over_a_static_input_is_counted_in_steps():
    cap = _capture(StaticLoop(5), torch.zeros(2, 4))
    line = timeline(cap, ("B",), _is_counter)
    assert line.folded and line.steps == 5 and [c.name for c in line.calls] == ["fc", "n"]
    _, n = line.calls
    assert line.sources[(n.index, 1)].delay == 1  # the state comes from the step before
    assert line.outputs == [n.outputs[0]]


def test_the_same_loop_given_a_sequence_is_an_unsliced_loop():
    cap = _capture(StaticLoop(3), torch.zeros(4, 2, 4))
    assert timeline(cap, ("T", "B"), _is_counter).unsliced_loop


def test_a_neuron_applied_twice_in_one_pass_is_no_loop():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.n = nn.Linear(4, 4), nn.Linear(4, 4), Counter()

        def forward(self, x):
            return self.n(self.fc2(self.n(self.fc1(x))[0]))[0]

    line = timeline(_capture(Twice(), torch.zeros(2, 4)), ("B",), _is_counter)
    assert not line.folded and line.steps is None


def test_writes_into_a_preallocated_tensor_collect_the_steps():
    class Written(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            out = torch.zeros(x.shape[0], x.shape[1], 3)
            for t in range(x.shape[0]):
                out[t, :, :] = self.fc(x[t, :])
            return out

    cap = _capture(Written(), torch.zeros(4, 2, 4))
    line = timeline(cap, ("T", "B"))
    (fc,) = line.calls
    assert line.folded and line.outputs == [fc.outputs[0]]
    assert input_slices(cap) == {0: {0, 1, 2, 3}}


def test_an_accumulator_started_from_zero_is_a_time_structure_error_at_its_line():
    from snnc.diagnostics import SnncError

    class Accumulates(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.n = nn.Linear(4, 4), Counter()

        def forward(self, x):
            total, s = 0.0, None
            for _ in range(5):
                z, s = self.n(self.fc(x), s)
                total += z
            return total

    with pytest.raises(SnncError) as e:
        timeline(_capture(Accumulates(), torch.zeros(2, 4)), ("B",), _is_counter)
    (d,) = e.value.diagnostics
    assert d.rule == "FE-TIME-STRUCTURE" and "runs at 4 of the loop's 5 steps" in d.message
    assert "test_timeline.py:" in d.message and "torch.stack" in d.hint
