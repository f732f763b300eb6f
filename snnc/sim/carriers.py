"""Which nodes' values travel as bytes (uint8) instead of float32.

Spikes and small spike counts are integers below 256; written by a compiled neuron loop, added
by a sum pool and read by a synaptic kernel, they need a quarter of float32's memory traffic, the
same values. A node is carried as bytes where it writes them cheaply and every one of its users
reads bytes (`byte_carriers`); the integer simulator decides both from its plan
(int_ops.byte_nodes), the float simulator from the graph alone (`float_byte_nodes`). Observers,
recordings and outputs still see float32 or their host dtype (engine.py, record.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Conv1d, Conv2d, Flatten, Input, Linear, Neuron, Reshape, SumPool2d
from snnc.sim import fused
from snnc.sim.exact import integer_bound, pools_exactly
from snnc.sim.neuron import NEURON_VARS, compiled_scan_applies

BYTE_MAX = 255
FLOAT_BYTES = True  # tests and benchmarks switch the float simulator's byte carriers off to compare


def byte_carriers(graph: Graph, writes: Callable[[Node], bool], reads: Callable[[Node, Node], bool]) -> set[str]:
    """The nodes that `write` bytes and whose every user reads them: a sum pool or shape op that
    is itself carried as bytes (users are decided before their sources), or another op that
    `reads(user, node)` bytes."""
    chosen: set[str] = set()

    def takes_bytes(user: Node, source: Node) -> bool:
        if isinstance(user.op, (SumPool2d, Flatten, Reshape)):
            return user.name in chosen
        return reads(user, source)

    for node in reversed(graph.order):
        users = graph.users(node.name)
        if users and writes(node) and all(takes_bytes(user, node) for user in users):
            chosen.add(node.name)
    return chosen


def float_byte_nodes(graph: Graph, requests: Mapping[str, frozenset[str]]) -> set[str]:
    """Byte carriers of a float graph: spike inputs, spikes of the plain neurons that numba's
    compiled scan runs (untraced: a traced neuron runs torch's loop, which writes bytes slowly),
    and exact sum pools of them (a power-of-two window, whose float order is then the plain sum:
    ops.sumpool2d) up to 255, into pools, shape ops and synaptic ops (which convert them). A
    byte pool or shape op whose source stays float32 (another of the source's users reads
    float32) casts its exact integers to bytes (engine.py)."""
    if not (FLOAT_BYTES and fused.importable()):
        return set()

    def writes(node: Node) -> bool:
        op, bound = node.op, integer_bound(node.type)  # a spike's 1, a count's declared maximum
        if not node.type.dtype.is_event or bound is None or bound > BYTE_MAX:
            return False
        if isinstance(op, (Input, Flatten, Reshape)):
            return True
        if isinstance(op, SumPool2d):
            area = op.kernel[0] * op.kernel[1]
            return not op.ceil_mode and area & (area - 1) == 0 and pools_exactly(op, graph.input_types(node)[0])
        traced = requests.get(node.name, frozenset()) & set(NEURON_VARS)
        return isinstance(op, Neuron) and compiled_scan_applies(op) and not traced

    return byte_carriers(graph, writes, lambda user, source: isinstance(user.op, (Linear, Conv1d, Conv2d)))
