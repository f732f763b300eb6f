"""snnc: a compiler from trained spiking neural networks to neuromorphic hardware.

The public API (ARCHITECTURE §3) is thin: each function dispatches to the part of the package
that does the work, so scripts, examples and the `snnc` command all take the same path. It
loads PyTorch models, NIR, ONNX and `.snnc` files, runs the reference simulator, compiles for a
target, checks, measures cost, validates the compiled network against the trained one, exports
NIR and converts ANNs to SNNs.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snnc import limits
from snnc.diagnostics import Diagnostic, SnncError

if TYPE_CHECKING:
    import numpy as np

    from snnc.cost import CostReport
    from snnc.driver.compile import Compiled
    from snnc.driver.convert import Conversion
    from snnc.driver.validate import Tolerance, ValidationReport
    from snnc.ir import Graph
    from snnc.sim import SimResult

try:
    __version__ = metadata.version("snnc")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Graph",
    "SnncError",
    "__version__",
    "check",
    "compile",
    "convert",
    "export",
    "limits",
    "load",
    "report",
    "simulate",
    "validate",
]


def __getattr__(name: str) -> Any:
    """`snnc.Graph`, imported on first use: `import snnc` (and so `snnc --version`) loads no numpy."""
    if name == "Graph":
        from snnc.ir import Graph

        return Graph
    raise AttributeError(f"module 'snnc' has no attribute {name!r}")


def _graph(source_or_graph: Any) -> Graph:
    from snnc.ir import Graph

    return source_or_graph if isinstance(source_or_graph, Graph) else load(source_or_graph)


def load(
    source: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    trust_pickle: bool = False,
    weights: str | PathLike | None = None,
    input_dtype: str = "float",
    input_time: str | None = None,
    dt: float | None = None,
    producer: str | None = None,
    diagnostics: list[Diagnostic] | None = None,
) -> Graph:
    """Read a model into a verified IR graph.

    `source`: an `snnc.Graph`, an `nn.Module` (SpikingJelly, snnTorch, sinabs, Norse or plain
    torch.nn), a `.pt`/`.pth` file holding a whole model, `"pkg.module:factory"` (with `weights`,
    a state dict), a `.nir` file or `nir.NIRGraph`, an ANN `.onnx` file, or a `.snnc` file.
    Files are treated as untrusted: sizes are checked against `snnc.limits` before anything is
    allocated, and nothing a file names is run (README, "Loading files you did not make").
    `input_shape` is the per-sample shape (no time, no batch) where the model does not state it;
    `input_dtype` "spike" marks an event input. `input_time` "static" says the model's input is
    one frame per sample that the model repeats over its time steps itself (an image), "sequence"
    that it is a sequence; by default snnc finds out from how the model uses its input. `dt`
    (seconds) discretizes a NIR graph's continuous time (default: the dt snnc wrote into the
    file, else 1e-4). `producer` ("spikingjelly", "snntorch", "sinabs", "norse") reads a NIR file
    with the conventions of that library's exporter, so that it computes what the library did
    (default: recognised where the file shows it; "nir" keeps NIR's own semantics); `dt` is then
    the exporter's dt. `diagnostics`, if given, receives info notes: what the NIR reader
    normalized and restored, and how the graph's time layout relates to the model's (a static
    input, a batch-first input, outputs the model reduces over time). Pickles are loaded through
    an allowlist unless `trust_pickle=True`. The graph is verified, so every later stage may rely on it: a graph that
    fails raises `SnncError` of kind CHECK (exit code 1).
    """
    saved = isinstance(source, (str, PathLike)) and str(source).lower().endswith(".snnc")
    if saved and weights is None and dt is None and producer is None:
        from snnc.ir import serialize  # a saved graph needs no frontend, and so no torch

        graph = serialize.load(Path(source))
    else:
        from snnc import frontend  # torch is imported here, not by `import snnc`

        graph = frontend.load(
            source,
            input_shape,
            trust_pickle=trust_pickle,
            weights=weights,
            input_dtype=input_dtype,
            input_time=input_time,
            dt=dt,
            producer=producer,
            diagnostics=diagnostics,
        )
    from snnc.ir import verify_or_raise

    verify_or_raise(graph)
    return graph


def simulate(graph: Graph, x: np.ndarray | dict[str, np.ndarray], *, record: Iterable[str] = ()) -> SimResult:
    """Run `graph` on `x` ([T, B, *input_shape], time-major) in the reference simulator.

    The simulator is the executable definition of the IR, so its outputs and per-node activity
    are what every backend and cost figure is compared against. `record` names the state
    variables to trace: "v", "h", "i", "out" on every node that has them, or "node:var" for one
    (SimResult.traces[node][var]); "activity" (or "node:activity") measures the events of every
    node (SimResult.activity), which is only done where asked since it costs a pass over each
    output. Bad input raises SnncError (SIM-* rules).
    """
    from snnc import sim  # torch is imported here, not by `import snnc`

    return sim.run(graph, x, record=record)


def compile(
    source_or_graph: Any, target: str, *, out_dir: str | PathLike | None = None, calib: Any = None, **options: Any
) -> Compiled:
    """Lower a model for `target` (a name of `snnc.backends.TARGETS`: "sim", "speck", "loihi")
    through its pipeline and, with `out_dir`, write the artefacts there (nothing if it fails).
    `options` are the target's options (its `Options` dataclass; sim: bits=8 or 16,
    encoding=layer names, input_range=(lo, hi) of real-valued inputs); `calib` ([T, B,
    *input_shape]) sets the range of real-valued inputs and readouts and measures the
    quantization loss per layer. The result has
    `.graph` (lowered, quantized), `.diagnostics`, `.artefacts` (name -> path), `.passes` (what
    each pass rewrote and reported) and `.simulate(x)`. A model that fails raises SnncError
    (kind CHECK) carrying every diagnostic; `snnc.check` returns them instead.
    """
    from snnc.driver import compile as compiler

    return compiler.compile(source_or_graph, target, out_dir=out_dir, calib=calib, **options)


def check(source_or_graph: Any, target: str, **options: Any) -> list[Diagnostic]:
    """Every diagnostic of compiling the model for `target` at once (verifier, passes such as
    quantization and the spike-driven check, the target's rules), writing nothing."""
    from snnc.driver import compile as compiler

    return compiler.check(source_or_graph, target, **options)


def report(
    source_or_graph: Any,
    data: np.ndarray | dict[str, np.ndarray],
    *,
    target: str | None = None,
    model: str = "literature",
    **options: Any,
) -> CostReport:
    """Measure what `source_or_graph` costs on `data` ([T, B, *input_shape]): per layer, input
    events, synaptic operations (exact and fr·T·FLOPs), MACs, firing rates and energy; totals,
    the ANN equivalent and the time-step profile (snnc/cost, docs/cost/energy.md).

    `model`: "literature" (E_MAC·MACs + E_AC·ACs), "memory" (Lemaire-style, memory-aware),
    "target" (the model of `target`: "speck" or "loihi"). `options` go to `snnc.driver.report.report`:
    batch_size, precision, dt, encoding_once, integer_inputs, sops, synops_ceiling, device, on_batch.
    """
    from snnc.driver import report as driver

    graph = _graph(source_or_graph)
    return driver.report(graph, data, model=model, target=target, **options)


def validate(
    source: Any,
    target: str,
    data: Any,
    *,
    labels: Any = None,
    tolerance: Tolerance | dict[str, Any] | str | None = None,
    calib: Any = None,
    **options: Any,
) -> ValidationReport:
    """Will the trained network behave the same on `target`, and where does it not? Runs `data`
    ([T, B, *input_shape]) through the source model in its own library (when `source` is a
    PyTorch model), the IR's float simulation, the integer simulation of the compiled graph and
    the target's own execution model where it has one, and compares each with the one before,
    layer by layer. The report has `.ok` (no tolerance exceeded), `.stages` (with accuracy when
    `labels` are given), `.layers` (per layer and pair of stages: spike mismatch, firing-rate and
    membrane error), `.first_divergence` (layer, step, sample, neuron, both values, likely cause)
    and `.to_dict()`. `tolerance`: a `snnc.driver.validate.Tolerance`, a dict or "key=value,...".
    `options`: the target's compile options, and input_shape, input_dtype, trust_pickle, weights
    as for `load`, batch_size (samples run at a time).
    """
    from snnc.driver import validate as driver

    return driver.validate(source, target, data, labels=labels, tolerance=tolerance, calib=calib, **options)


def export(
    source_or_graph: Any, path: str | PathLike, *, to: str = "nir", dt: float = 1e-4, maxpool: str = "or"
) -> list[Diagnostic]:
    """Write a model in an interchange format (to="nir"), atomically; `dt` (seconds) turns the
    IR's steps into NIR's continuous time. The file carries snnc's exact graph in its metadata, so
    `snnc.load` gets it back unchanged; returns warnings naming what a plain NIR reader computes
    differently (EXPORT-NIR-LOSSY). Ops NIR cannot express raise SnncError (EXPORT-NIR-UNSUPPORTED).
    NIR has no max pooling: `maxpool="or"` writes a max pool of spikes exactly as the OR it is (a
    sum pool and a threshold) and refuses others; "avg" writes max pools as average pools (a NIR
    reader then computes the window's mean, as the warning says).
    """
    from snnc.diagnostics import input_error

    if to != "nir":
        raise input_error("EXPORT-FORMAT", f"cannot export to {to!r}", hint='snnc exports to "nir"')
    from snnc.nir.write import write_nir

    graph = _graph(source_or_graph)
    return write_nir(graph, path, dt, maxpool)


def convert(
    source_or_graph: Any,
    calib: Any,
    *,
    percentile: float = 99.9,
    encoding: str = "current",
    input_scale: float | None = None,
) -> Conversion:
    """Convert a ReLU ANN (anything `load` reads, e.g. an .onnx file) into an SNN of IF neurons
    with subtract reset: BatchNorm folded, thresholds balanced to the `percentile` of each ReLU's
    nonzero activations on `calib` (samples [N, *input_shape], or an .npz holding them as 'x').
    `encoding`: "current" (analog input every step) or "rate" (spikes). The result has `.graph`,
    `.scales`, `.diagnostics`, `.encode(x, T)` and `.accuracy(x, labels, steps)`.
    """
    from snnc.driver import convert as driver

    return driver.convert(source_or_graph, calib, percentile=percentile, encoding=encoding, input_scale=input_scale)
