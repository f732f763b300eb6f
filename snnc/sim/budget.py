"""What one simulation run needs, checked against the limits before any state is allocated.

The per-sample costs come from the graph's types (snnc/ir/resources.py, checked by the verifier
for one sample and step). A run multiplies them by its data: B samples at once, windows of n
steps evaluated together (engine.py `window_length`), and T × B records kept for the whole run
(the outputs, the event counts and traces `record` asks for; record.py). A tiny graph with
data of 10⁸ steps, or a large layer with a large batch, is refused here (SIM-TOO-LARGE) instead
of failing deep inside torch.
"""

from __future__ import annotations

from snnc.diagnostics import Diagnostic, SnncError
from snnc.ir.graph import Graph
from snnc.ir.resources import ELEMENT_BYTES, footprint
from snnc.limits import current, format_bytes, format_count
from snnc.sim.checks import ACTIVITY

METER_BYTES = 16  # two int64 counts per step and sample of a node whose activity is asked (record.py ActivityMeter)


def check(graph: Graph, steps: int, batch: int, window: int, requests: dict[str, frozenset[str]]) -> None:
    """Raise SIM-TOO-LARGE if the run would pass the memory or work limit."""
    limits = current()
    fp = footprint(graph)
    sequence = steps * batch
    records = sum(n.type.numel * ELEMENT_BYTES for n in graph.outputs)
    for name, variables in requests.items():
        records += METER_BYTES if ACTIVITY in variables else 0
        records += graph.node(name).type.numel * ELEMENT_BYTES * len(variables - {ACTIVITY})
    memory = fp.memory(batch, window) + sequence * records
    work = sequence * fp.work
    found = []
    if memory > limits.memory:
        found.append(
            Diagnostic(
                "SIM-TOO-LARGE",
                f"simulating {steps} steps of {batch} samples needs about {format_bytes(memory)} "
                f"({format_bytes(fp.memory(batch, window))} of state and values, "
                f"{format_bytes(sequence * records)} of recorded activity, outputs and traces), more than "
                f"the memory limit of {format_bytes(limits.memory)}",
                hint="simulate fewer samples at a time or fewer steps; " + limits.memory_hint(),
                measured=memory,
                limit=limits.memory,
            )
        )
    if work > limits.work:
        found.append(
            Diagnostic(
                "SIM-TOO-LARGE",
                f"simulating {steps} steps of {batch} samples takes about {format_count(work)} operations "
                f"({format_count(fp.work)} per step and sample), more than the work limit of "
                f"{format_count(limits.work)}",
                hint="simulate fewer samples or steps; " + limits.work_hint(),
                measured=work,
                limit=limits.work,
            )
        )
    if found:
        raise SnncError(found)
