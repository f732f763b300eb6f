"""The "loihi" target: Intel Loihi 2 through Lava (lava-nc 0.10.0) and NetX (lava-dl 0.6.0).

Compiling for it lowers pooling to what Loihi holds, quantizes to Lava's fixed-point formats, turns
h ≥ θ into Lava's h > θ' where that is exact, checks every Loihi rule (rules.py), places the
neurons on cores (partition.py), and writes into the output directory:

    <name>.net                 the NetX HDF5 network (emit=netx; netx.py), which lava-dl's
                               `netx.hdf5.Network(net_config=...)` loads, or
    <name>.lava.npz            the Lava process network's description (emit=lava; lava.py), built
                               by `snnc.backends.loihi.to_lava` / `lava.LavaDescription.load`
    <name>.partition.txt/.json cores, neurons, synapses, fan-in and fan-out per core; chips
    <name>.loihi.snnc          the lowered, quantized graph (snnc inspect / simulate read it)

`simulate(graph, x)` is snnc's integer simulation, whose results are Lava's (docs/targets/
loihi.md, netx.md) in the delay-free convention: layer k's output for step t appears in Lava at
step b·T + t + d_k (d_k = 2 + k in a NetX chain, runner.py). `simulate(..., via="netx" or
"processes")` runs Lava itself (in a torch-free child interpreter) and re-times its results to
that convention.

Pooling (`pooling`): "fold" merges each sum pool into the next layer's weights (fold-sumpool);
"graded" keeps it as a layer of its own whose GradedVec neurons send the window sums as graded
spikes (Lava processes only). Both are exact in Lava. NetX has no pool layer, so a NetX file
folds; Lava processes default to graded pooling, which on the nmnist-cnn needs 21 cores instead
of 496, a third of the synapses, and runs 6× faster in Lava, for one step of latency per pool
(docs/targets/loihi-backend.md §3, measured by benchmarks/bench_loihi.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from snnc.backends.target import Artefacts, ExecutionModel, Target
from snnc.ir.graph import Graph
from snnc.passes.base import Pass


@dataclass(frozen=True)
class LoihiOptions:
    emit: Literal["netx", "lava"] = field(
        default="netx",
        metadata={
            "help": "netx: a NetX HDF5 file (<name>.net) that lava-dl's netx.hdf5.Network loads; lava: a Lava "
            "process network (<name>.lava.npz, built by snnc.backends.loihi.to_lava) for what NetX cannot hold "
            "(default: netx)"
        },
    )
    pooling: Literal["auto", "fold", "graded"] = field(
        default="auto",
        metadata={
            "help": "fold: sum pooling merged into the next layer's weights (what NetX holds); graded: a layer of its "
            "own sending window sums as graded spikes (Lava processes only; far fewer cores); auto: fold for "
            "--emit netx, graded for --emit lava (default: auto)"
        },
    )
    neurons_per_core: int | None = field(
        default=None,
        metadata={"help": "place exactly this many neurons on each core (default: as many as the core's limits allow)"},
    )
    cores_per_chip: int | None = field(
        default=None, metadata={"help": "usable cores per chip (default: 120, Lava's plan; 128 exist)"}
    )
    max_chips: int = field(default=1, metadata={"help": "chips the network may use (default: 1)"})
    input_range: tuple[float, float] | None = field(
        default=None,
        metadata={
            "help": "the range LO,HI of real-valued inputs, sent as 8-bit graded spikes (default: the calibration "
            "data's, else 0,1 with a warning); write --input-range=-1,1 when LO is negative"
        },
    )

    def __post_init__(self) -> None:
        if self.pooling == "auto":
            object.__setattr__(self, "pooling", "fold" if self.emit == "netx" else "graded")
        if self.pooling == "graded" and self.emit != "lava":
            raise ValueError("pooling=graded needs emit=lava: NetX has no layer for graded pooling")
        for name in ("neurons_per_core", "cores_per_chip", "max_chips"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name}={value} must be at least 1")
        if self.input_range is not None:
            lo, hi = self.input_range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"input_range {lo:g},{hi:g}: two finite numbers, LO must be below HI")


class LoihiTarget(Target):
    name: ClassVar[str] = "loihi"
    summary: ClassVar[str] = "Intel Loihi 2: NetX network and Lava processes"
    Options: ClassVar[type] = LoihiOptions
    # validate's target stage: the emitted NetX network run by Lava in fixed point (in_lava.py),
    # re-timed to snnc's convention; it traces every neuron's spikes and membrane
    execution_model: ClassVar[ExecutionModel] = ExecutionModel(
        "Lava fixed-point run of the NetX network", {"via": "netx"}, records=("out", "v")
    )

    @property
    def rules(self):  # type: ignore[override]
        from snnc.backends.loihi.rules import CHECKS

        return CHECKS

    def check(self, graph: Graph, options: LoihiOptions, calib: Any = None) -> list:
        """Every rule on a quantized graph; on a graph quantize could not quantize (it reported
        why), only the rules that do not judge numbers: widths, gains and placement would only
        restate that it is not quantized."""
        from snnc.backends.loihi.rules import CHECKS, STRUCTURAL
        from snnc.passes.base import with_sources

        rules = CHECKS if graph.arithmetic is not None else STRUCTURAL
        return with_sources([d for rule in rules for d in rule(graph, options)], graph)

    def pipeline(self, options: LoihiOptions, calib: Any = None) -> list[Pass]:
        """canonicalize-neuron, fold-bn, avgpool-to-sumpool, maxpool-to-or, absorb-scale,
        fold-sumpool (pooling=fold), sumpool-to-conv, quantize to Lava's formats, ge-to-gt."""
        from snnc.backends.loihi.spec import pipeline_spec
        from snnc.passes.absorb_scale import AbsorbScale
        from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
        from snnc.passes.canonicalize_neuron import CanonicalizeNeuron
        from snnc.passes.fold_bn import FoldBN
        from snnc.passes.fold_sumpool import FoldSumpool
        from snnc.passes.ge_to_gt import GeToGt
        from snnc.passes.maxpool_to_or import MaxpoolToOr
        from snnc.passes.quantize import Quantize
        from snnc.passes.sumpool_to_conv import SumpoolToConv

        folding: list[Pass] = [FoldSumpool()] if options.pooling == "fold" else []
        return [
            CanonicalizeNeuron(),
            FoldBN(),
            AvgpoolToSumpool(),
            MaxpoolToOr(),
            AbsorbScale(),
            *folding,
            SumpoolToConv(),
            Quantize(pipeline_spec(options.emit), calib=calib, input_range=options.input_range),
            GeToGt(),
        ]

    def lower(self, graph: Graph, out_dir: Path, options: LoihiOptions) -> Artefacts:
        from snnc.atomic import write_atomically
        from snnc.backends.loihi.lava import describe
        from snnc.backends.loihi.netx import write_netx
        from snnc.backends.loihi.rules import limits_of, loihi_net, placed
        from snnc.backends.output import artefact_path
        from snnc.ir import serialize

        net = loihi_net(graph)
        artefacts: Artefacts = {}
        if options.emit == "netx":
            artefacts["netx"] = write_netx(net, artefact_path(out_dir, graph.name, "net"))
        else:
            path = artefact_path(out_dir, graph.name, "lava.npz")
            describe(net).save(path)  # type: ignore[arg-type]
            artefacts["lava"] = path
        part = placed(graph, limits_of(options))
        for suffix, text in (("partition.txt", part.to_text()), ("partition.json", part.to_json())):
            artefacts[suffix] = write_atomically(
                artefact_path(out_dir, graph.name, suffix), text.encode(), rule="IO-WRITE"
            )
        path = artefact_path(out_dir, graph.name, "loihi.snnc")
        serialize.save(graph, path)
        artefacts["graph"] = path
        return artefacts

    def simulate(self, graph: Graph, x: Any, *, record=(), via: str | None = None, **how: Any):
        """snnc's integer simulation; with via="netx" or "processes", Lava's own run of the emitted
        network, re-timed to the same convention (in_lava.py)."""
        if via is None:
            return super().simulate(graph, x, record=record, **how)
        from snnc.backends.loihi.in_lava import simulate_in_lava

        return simulate_in_lava(graph, x, via, record, **how)  # type: ignore[arg-type]

    def energy_model(self, **settings: Any):
        from snnc.backends.loihi.energy import loihi

        return loihi(**settings)
