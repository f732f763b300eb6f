"""The simulator of the IR (ARCHITECTURE §2, §3): a fast engine, and the reference it is held to.

`run(graph, x)` simulates a graph on time-major data [T, B, *shape], a float graph in float32 and
a quantized one in integers with its target's arithmetic, and returns a `SimResult`: the outputs,
every node's exact `Activity` and the traces `record` asked for.

`snnc.sim.reference` is the executable definition of every op, float and integer: slow, literal,
one function per op, checkable line by line against the op docstrings. The engine here is
property-tested against it op by op (tests/sim/test_reference.py); target models (the Speck event
simulator, the Lava runs) are to be held to it the same way.
"""

from snnc.sim.engine import run
from snnc.sim.result import Activity, SimResult

__all__ = ["Activity", "SimResult", "run"]
