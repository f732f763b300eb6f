"""What a simulation returns: outputs, per-node activity and recorded traces.

`Activity` is the single source of every SOP and energy figure (ARCHITECTURE §3): the counts are
measured on the simulated tensors, never assumed, so they are exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.diagnostics import input_error


@dataclass(frozen=True)
class Activity:
    """Measured activity of one node's output over a run.

    events:    [T, B] int64, the sum of the output values for spike/count tensors (a multi-spike
               of 3 is 3 events), the number of non-zero elements for float/int tensors
    nonzero:   [T, B] int64, the number of non-zero elements
    event_map: per-sample output shape, int64: `events` summed over T and B, per element
    numel:     elements per sample and step
    """

    events: np.ndarray
    nonzero: np.ndarray
    event_map: np.ndarray
    numel: int

    @property
    def rate(self) -> float:
        """Fraction of non-zero elements, averaged over steps, samples and elements."""
        return float(self.nonzero.mean()) / self.numel

    @property
    def total(self) -> int:
        """All events of the run."""
        return int(self.events.sum())


class ActivityMap(dict[str, Activity]):
    """node name → its `Activity`, for the nodes whose activity was recorded. Counting costs a
    pass over every output (about a sixth of a run), so a run measures only what `record` asks
    for ("activity" for every node, "node:activity" for one); looking up another node says so."""

    def __missing__(self, name: str) -> Activity:
        raise input_error(
            "SIM-RECORD",
            f"the activity of {name!r} was not recorded",
            node=name,
            hint=f'simulate with record=("activity",) for every node, or record=("{name}:activity",)',
        )


@dataclass(frozen=True)
class SimResult:
    """outputs: per Output node, [T, B, *shape]; activity: per node whose "activity" was recorded;
    traces: node → variable ("v", "h", "i", "out") → [T, B, *shape] float32, as requested by `record`."""

    outputs: dict[str, np.ndarray]
    activity: dict[str, Activity]  # an ActivityMap (__post_init__), which names what was not recorded
    traces: dict[str, dict[str, np.ndarray]]

    def __post_init__(self) -> None:
        if not isinstance(self.activity, ActivityMap):
            object.__setattr__(self, "activity", ActivityMap(self.activity))

    @property
    def output(self) -> np.ndarray:
        """The graph's only output."""
        if len(self.outputs) != 1:
            raise input_error(
                "SIM-OUTPUT",
                f"the graph has {len(self.outputs)} outputs ({', '.join(self.outputs)}), so there is no single output",
                hint="read result.outputs[name] instead",
            )
        return next(iter(self.outputs.values()))
