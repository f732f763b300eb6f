"""How a model expects its input laid out in time, which decides how snnc runs it once.

snnc's data is time-major `[T, B, *shape]` (ARCHITECTURE §2.1); libraries differ:

- `per_step`: the model computes one time step from `[B, *shape]` and keeps state in its modules
  (SpikingJelly `step_mode='s'`, snnTorch `init_hidden=True`, torch ANNs);
- `multi_step`: the model takes the whole `[T, B, *shape]` sequence (SpikingJelly `'m'`, Norse
  sequence modules);
- `loop`: the model takes `[T, B, *shape]` and loops over `x[t]` itself (snnTorch tutorials);
- `stepped`: the model computes one step and hands its state back to the caller,
  `(x[t], state) -> (out, state)` (Norse cells and `SequentialState`): snnc drives it over time
  as its users do (`Stepped`), starting from `state=None`;
- `batch_time`: sinabs squeeze layers take `[B·T, *shape]`, batch-major (sample b's steps are
  rows b·T … b·T + T − 1);
- `batch_first`: the model takes the whole sequence batch-first, `[B, T, *shape]` (sinabs
  `IAF`/`LIF`).

Each library frontend says which one its modules imply; a model mixing two is refused.

Orthogonal to the layout, `time` says whether the input is a *sequence* or *static*: one frame
per sample (an image) that the model repeats over its time steps itself, in a loop
(`for step in range(num_steps): cur = fc(x)`) or by making a time axis
(`x.unsqueeze(0).expand(T, ...)`). A static input is run as `[B, *shape]`; for the layouts whose
models cannot make time themselves, static only marks the graph's input (the data holds one
frame per sample, repeated for every step).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
from torch import nn

from snnc.diagnostics import input_error

EXAMPLE_STEPS = 4  # enough steps to see state and delays of up to three steps
EXAMPLE_BATCH = 2
LONGER_STEPS = (16, 64, 256, 1024)  # example steps tried when the model indexes past EXAMPLE_STEPS
TIMES = ("sequence", "static")


@dataclass(frozen=True)
class Layout:
    kind: Literal["per_step", "multi_step", "loop", "stepped", "batch_time", "batch_first"]
    batch: int = EXAMPLE_BATCH  # batch_time: the batch size the squeeze layers were built for
    steps: int = EXAMPLE_STEPS  # steps of the example input (batch_time: those the squeeze layers were built for)
    time: Literal["sequence", "static"] = "sequence"
    batch_first_slices: bool = False  # a loop model that reads x[:, t]: its input is [B, T, *shape]

    @property
    def makes_time(self) -> bool:
        """Whether a model of this layout given a sequence may instead make its own time steps from a
        static input (a per-step model's example is one frame already: its loops show in that run)."""
        return self.kind in ("multi_step", "loop")

    @property
    def pattern(self) -> tuple[str, ...]:
        """The leading axes of the example input (snnc/frontend/timeline.py)."""
        if self.time == "static" and self.kind in ("multi_step", "loop", "per_step"):
            return ("B",)
        if self.kind in ("multi_step", "loop", "stepped"):
            return ("B", "T") if self.batch_first_slices else ("T", "B")
        return {"per_step": ("B",), "batch_time": ("BT",), "batch_first": ("B", "T")}[self.kind]

    def example_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the example input for per-sample `shape`: the layout's leading axes first."""
        sizes = {"T": self.steps, "B": self.batch, "BT": self.batch * self.steps}
        return (*(sizes[axis] for axis in self.pattern), *shape)

    def example(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A random spike input in this layout (spikes: valid for spiking and real-valued inputs)."""
        generator = torch.Generator().manual_seed(0)
        return (torch.rand(*self.example_shape(shape), generator=generator) < 0.5).float()

    def with_time(self, time: str) -> Layout:
        return replace(self, time=time)

    def longer(self, steps: int, batch_first: bool = False) -> Layout:
        return replace(self, steps=steps, batch_first_slices=batch_first)

    @property
    def batching(self) -> str:
        """How the model runs its stateless layers (snnc/ir/graph.py BATCHING): per step when it
        computes one step per call or loops over steps itself, else on the whole sequence."""
        return "step" if self.kind in ("per_step", "loop", "stepped") else "sequence"

    def describe(self) -> str:
        if self.time == "static" and self.kind in ("multi_step", "loop"):
            return "one static frame [B, *shape] (the model makes its own time steps)"
        return {
            "per_step": "one step [B, *shape] per call",
            "multi_step": "the whole sequence [T, B, *shape]",
            "loop": "the whole sequence [T, B, *shape], looped over by the model",
            "stepped": "one step [B, *shape] and the previous state per call",
            "batch_time": "[B·T, *shape] (sinabs squeeze layout)",
            "batch_first": "the whole sequence batch-first, [B, T, *shape]",
        }[self.kind]


def choose_layout(model: Any, frontends: list[Any]) -> Layout:
    found = {layout for f in frontends if (layout := f.layout(model)) is not None}
    if len(found) > 1:
        raise input_error(
            "FE-LAYOUT",
            f"the model mixes time layouts: {', '.join(sorted(f.kind for f in found))}",
            hint="use one step mode for every layer (e.g. spikingjelly functional.set_step_mode(net, 'm'))",
        )
    return found.pop() if found else Layout("per_step")


class Stepped(nn.Module):
    """Runs a model whose forward computes one step, `(x[t], state) -> (out, state)`, over the
    sequence `[T, B, *shape]` as its users do: from `state=None`, each step's state passed on."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state, out = None, []
        for t in range(x.shape[0]):
            y, state = self.model(x[t], state)
            out.append(y)
        return torch.stack(out)
