"""The "sim" target: the reference simulator as a compilation target.

Compiling for it runs the sim pipeline (canonical neurons, fold what no integer datapath holds,
lower average pooling, quantize to snnc's 8- or 16-bit format, report what is not spike-driven) and writes the
lowered, quantized graph as one `.snnc` file, which `snnc inspect` shows and `snnc simulate` runs.
The simulator hosts every valid graph, so the target has no hardware rules: its check is the
verifier's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from snnc.backends.target import Artefacts, Target
from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph
from snnc.ir.verify import verify
from snnc.passes.base import Pass


@dataclass(frozen=True)
class SimOptions:
    bits: Literal[8, 16] = field(default=8, metadata={"help": "integer width of weights and states (default: 8)"})
    encoding: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "the layers allowed real-valued inputs (default: those reading the graph input)"},
    )
    input_range: tuple[float, float] | None = field(
        default=None,
        metadata={
            "help": "the range LO,HI of real-valued inputs (default: the calibration data's, else 0,1 with a "
            "warning); write --input-range=-1,1 when LO is negative"
        },
    )

    def __post_init__(self) -> None:
        if self.input_range is not None:
            lo, hi = self.input_range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"input_range {lo:g},{hi:g}: two finite numbers, LO must be below HI")


class SimTarget(Target):
    name: ClassVar[str] = "sim"
    summary: ClassVar[str] = "the reference simulator: quantized to snnc's generic 8- or 16-bit integers"
    Options: ClassVar[type] = SimOptions
    simulated_exactly: ClassVar[bool] = True  # the reference simulator is this target

    def pipeline(self, options: SimOptions, calib: Any = None) -> list[Pass]:
        """canonicalize-neuron, fold-bn, avgpool-to-sumpool (its 1/k² then absorbed into the next
        layer with every other scale), quantize to `bits`-bit integers, then the spike-driven check
        as warnings (the simulator runs real-valued layers; chips do not). `calib` is input data
        [T, B, *shape] with which the quantizer sets the range of real-valued inputs and readouts
        and measures its error per layer."""
        from snnc.backends.sim.spec import sim_spec
        from snnc.passes.absorb_scale import AbsorbScale
        from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
        from snnc.passes.canonicalize_neuron import CanonicalizeNeuron
        from snnc.passes.check_spike_driven import CheckSpikeDriven
        from snnc.passes.fold_bn import FoldBN
        from snnc.passes.quantize import Quantize

        return [
            CanonicalizeNeuron(),
            FoldBN(),
            AvgpoolToSumpool(),
            AbsorbScale(),
            Quantize(sim_spec(options.bits), calib=calib, input_range=options.input_range),
            CheckSpikeDriven(encoding=options.encoding, severity=Severity.WARNING),
        ]

    def check(self, graph: Graph, options: SimOptions, calib: Any = None) -> list[Diagnostic]:
        return verify(graph)

    def lower(self, graph: Graph, out_dir: Path, options: SimOptions) -> Artefacts:
        """Write `<graph name>.sim.snnc` into `out_dir` (created if missing), atomically."""
        from snnc.backends.output import artefact_path
        from snnc.ir import serialize

        path = artefact_path(out_dir, graph.name, "sim.snnc")
        serialize.save(graph, path)
        return {"graph": path}
