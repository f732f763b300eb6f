"""How a model expects its input laid out in time, which decides how snnc runs it once.

snnc's data is time-major `[T, B, *shape]` (ARCHITECTURE §2.1); libraries differ:

- `per_step`: the model computes one time step from `[B, *shape]` and keeps state in its modules
  (SpikingJelly `step_mode='s'`, snnTorch `init_hidden=True`, Norse cells, torch ANNs);
- `multi_step`: the model takes the whole `[T, B, *shape]` sequence (SpikingJelly `'m'`, Norse
  sequence modules);
- `loop`: the model takes `[T, B, *shape]` and loops over `x[t]` itself (snnTorch tutorials);
- `batch_time`: sinabs squeeze layers take `[B·T, *shape]`, batch-major (sample b's steps are
  rows b·T … b·T + T − 1);
- `batch_first`: the model takes the whole sequence batch-first, `[B, T, *shape]` (sinabs
  `IAF`/`LIF`).

Each library frontend says which one its modules imply; a model mixing two is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from snnc.diagnostics import input_error

EXAMPLE_STEPS = 4  # enough steps to see state and delays of up to three steps
EXAMPLE_BATCH = 2


@dataclass(frozen=True)
class Layout:
    kind: Literal["per_step", "multi_step", "loop", "batch_time", "batch_first"]
    batch: int = EXAMPLE_BATCH  # batch_time: the batch size the squeeze layers were built for
    steps: int = EXAMPLE_STEPS  # steps of the example input (batch_time: those the squeeze layers were built for)

    @property
    def lead(self) -> int:
        """Leading non-sample axes of the tensors between layers."""
        return 2 if self.kind in ("multi_step", "batch_first") else 1

    def example_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the example input for per-sample `shape`: the layout's leading axes first."""
        lead = {
            "per_step": (self.batch,),
            "multi_step": (EXAMPLE_STEPS, self.batch),
            "loop": (EXAMPLE_STEPS, self.batch),
            "batch_time": (self.batch * self.steps,),
            "batch_first": (self.batch, self.steps),
        }[self.kind]
        return (*lead, *shape)

    def example(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A random spike input in this layout (spikes: valid for spiking and real-valued inputs)."""
        generator = torch.Generator().manual_seed(0)
        return (torch.rand(*self.example_shape(shape), generator=generator) < 0.5).float()

    @property
    def batching(self) -> str:
        """How the model runs its stateless layers (snnc/ir/graph.py BATCHING): per step when it
        computes one step per call or loops over steps itself, else on the whole sequence."""
        return "step" if self.kind in ("per_step", "loop") else "sequence"

    def describe(self) -> str:
        return {
            "per_step": "one step [B, *shape] per call",
            "multi_step": "the whole sequence [T, B, *shape]",
            "loop": "the whole sequence [T, B, *shape], looped over by the model",
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
