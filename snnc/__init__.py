"""snnc: a compiler from trained spiking neural networks to neuromorphic hardware.

The public API (ARCHITECTURE §3) is thin: each function dispatches to the part of the package
that does the work, so scripts, examples and the `snnc` command all take the same path. Today it
loads PyTorch models and `.snnc` files and runs the reference simulator; NIR and ONNX sources,
`compile`, `check`, `report` and `validate` come later under the same names.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from os import PathLike
from typing import TYPE_CHECKING, Any

from snnc.diagnostics import Diagnostic, SnncError
from snnc.ir import Graph, verify_or_raise

if TYPE_CHECKING:
    import numpy as np

    from snnc.backends.sim import SimResult

try:
    __version__ = metadata.version("snnc")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

__all__ = ["Diagnostic", "Graph", "SnncError", "__version__", "load", "simulate"]


def load(
    source: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    trust_pickle: bool = False,
    weights: str | PathLike | None = None,
    input_dtype: str = "float",
) -> Graph:
    """Read a model into a verified IR graph.

    `source`: an `snnc.Graph`, an `nn.Module` (SpikingJelly, snnTorch, sinabs, Norse or plain
    torch.nn), a `.pt`/`.pth` file holding a whole model, `"pkg.module:factory"` (with `weights`,
    a state dict), or a `.snnc` file. `input_shape` is the per-sample shape (no time, no batch)
    where the model does not state it; `input_dtype` "spike" marks an event input. Pickles are
    loaded through an allowlist unless `trust_pickle=True`. The graph is verified, so every later
    stage may rely on it: a graph that fails raises `SnncError` of kind CHECK (exit code 1).
    """
    from snnc import frontend  # torch is imported here, not by `import snnc`

    graph = frontend.load(source, input_shape, trust_pickle=trust_pickle, weights=weights, input_dtype=input_dtype)
    verify_or_raise(graph)
    return graph


def simulate(graph: Graph, x: np.ndarray | dict[str, np.ndarray], *, record: Iterable[str] = ()) -> SimResult:
    """Run `graph` on `x` ([T, B, *input_shape], time-major) in the reference simulator.

    The simulator is the executable definition of the IR, so its outputs and per-node activity
    are what every backend and cost figure is compared against. `record` names the state
    variables to trace: "v", "h", "i", "out" on every node that has them, or "node:var" for one
    (SimResult.traces[node][var]). Bad input raises SnncError (SIM-* rules).
    """
    from snnc.backends import sim  # torch is imported here, not by `import snnc`

    return sim.run(graph, x, record=record)
