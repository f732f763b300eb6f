"""The float reference simulator: the executable definition of the IR (ARCHITECTURE §2, §3).

`run(graph, x)` simulates a float graph on time-major data [T, B, *shape] and returns a
`SimResult`: the outputs, every node's exact `Activity` and the traces `record` asked for.
"""

from snnc.sim.engine import run
from snnc.sim.result import Activity, SimResult

__all__ = ["Activity", "SimResult", "run"]
