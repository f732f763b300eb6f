"""The "speck" target: SynSense Speck (DYNAP-CNN), configured exactly as sinabs 3.1.3 would.

compile: the pipeline (`pipeline`) lowers the model to conv → IAF → sum pooling layers quantized
as sinabs quantizes them; the rules (rules.py) report every hardware violation at once; `lower`
places the layers on cores as sinabs does (placement.py) and writes the chip configuration
(lower.py, docs/targets/speck.md §9), the placement and memory report, and the lowered graph.
simulate: "steps" runs the lowered graph in the integer simulator (equal to sinabs' discretized
`DynapcnnNetwork` forward), "events" the event-driven chip model (events.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from snnc.backends.target import Artefacts, ExecutionModel, Target
from snnc.diagnostics import Diagnostic, errors, input_error
from snnc.ir.graph import Graph
from snnc.passes.base import Pass


@dataclass(frozen=True)
class SpeckOptions:
    chip: Literal["speck2f", "speck2e"] = field(
        default="speck2f", metadata={"help": "the chip: speck2f or speck2e (same cores and limits; default speck2f)"}
    )
    dvs_input: bool = field(
        default=False,
        metadata={
            "help": "the input comes from the chip's DVS sensor: configure the DVS layer (pooling before the "
            "first layer becomes its pooling)"
        },
    )
    cores: dict[str, int] | None = field(
        default=None,
        metadata={
            "help": "fix layers to cores, LAYER=CORE,... (layers by module name); the rest are placed as sinabs "
            "places them"
        },
    )
    monitor: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "which cores' events the chip reports: exit (default), all, none, dvs, or layer names"},
    )
    max_sops_per_core: float | None = field(
        default=None,
        metadata={
            "help": "warn where a core's synaptic operations per second exceed this on the --calib data "
            "(SPECK-BANDWIDTH)"
        },
    )
    seconds_per_step: float = field(
        default=1e-3, metadata={"help": "how long one time step of the data lasts, for rates (default 1e-3)"}
    )

    def __post_init__(self) -> None:
        if self.max_sops_per_core is not None and not (
            self.max_sops_per_core > 0 and math.isfinite(self.max_sops_per_core)
        ):
            raise ValueError(f"max_sops_per_core {self.max_sops_per_core:g} must be a positive number")
        if not (self.seconds_per_step > 0 and math.isfinite(self.seconds_per_step)):
            raise ValueError(f"seconds_per_step {self.seconds_per_step:g} must be a positive number")


class SpeckTarget(Target):
    name: ClassVar[str] = "speck"
    summary: ClassVar[str] = "SynSense Speck (DYNAP-CNN): chip configuration, as sinabs would write it"
    Options: ClassVar[type] = SpeckOptions
    # validate's target stage: the event-driven chip model on the written configuration, against
    # the time-stepped integer simulation; it reports each core's events per step, by layer
    execution_model: ClassVar[ExecutionModel] = ExecutionModel(
        "Speck event-driven model", {"mode": "events"}, event_driven=True
    )

    @property
    def rules(self):  # type: ignore[override]
        from snnc.backends.speck import memory  # noqa: F401  (registers the memory and placement rules)
        from snnc.backends.speck.checks import CHECKS

        return CHECKS

    def pipeline(self, options: SpeckOptions, calib: Any = None) -> list[Pass]:
        """canonicalize-neuron, input-events, fold-bn, avgpool-to-sumpool, consolidate-pool-scales, absorb-scale,
        linear-to-conv, quantize to sinabs' formats (spec.SPECK_COMPILE), and the time-stepped
        model's registers (set-arithmetic to spec.STEPS)."""
        from snnc.backends.speck.spec import SPECK_COMPILE, STEPS
        from snnc.passes.absorb_scale import AbsorbScale
        from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
        from snnc.passes.canonicalize_neuron import CanonicalizeNeuron
        from snnc.passes.consolidate_pool_scales import ConsolidatePoolScales
        from snnc.passes.fold_bn import FoldBN
        from snnc.passes.input_events import InputEvents
        from snnc.passes.linear_to_conv import LinearToConv
        from snnc.passes.quantize import Quantize
        from snnc.passes.set_arithmetic import SetArithmetic

        return [
            CanonicalizeNeuron(),
            InputEvents(),
            FoldBN(),
            AvgpoolToSumpool(),
            ConsolidatePoolScales(),
            AbsorbScale(),
            LinearToConv(),
            Quantize(SPECK_COMPILE),
            SetArithmetic(STEPS),
        ]

    def check(self, graph: Graph, options: SpeckOptions, calib: Any = None) -> list[Diagnostic]:
        """Every rule (checks.py, memory.py; documented in rules.py), and SPECK-BANDWIDTH on the
        calibration data, which needs the layers' cores."""
        from snnc.backends.speck import bandwidth
        from snnc.backends.speck.checks import network
        from snnc.backends.speck.memory import placement

        found = super().check(graph, options)
        if calib is None or options.max_sops_per_core is None or errors(found):
            return found
        placed = placement(graph, options)
        assert placed is not None  # no error above: the override is usable
        return found + bandwidth.check(
            graph, network(graph), placed, calib, options.max_sops_per_core, options.seconds_per_step
        )

    def lower(self, graph: Graph, out_dir: Path, options: SpeckOptions) -> Artefacts:
        from snnc.backends.speck import lower

        with lower.no_gc():
            config = self.config(graph, options)
            return lower.write(config, lower.report(config), graph, out_dir)

    def config(self, graph: Graph, options: SpeckOptions | None = None) -> dict[str, Any]:
        """The configuration of a lowered graph that passed the rules (docs/targets/speck.md §9)."""
        from snnc.backends.speck import lower
        from snnc.backends.speck.checks import network
        from snnc.backends.speck.memory import placement

        options = options or SpeckOptions()
        placed = placement(graph, options)
        if placed is None or not placed.complete:
            raise input_error("SPECK-MEMORY-ASSIGNMENT", "the layers cannot be placed", hint="run snnc check")
        return lower.build_config(graph, network(graph), placed, options)

    def simulate(self, graph: Graph, x: Any, *, record: Iterable[str] = (), mode: str = "steps", **how: Any):
        """mode "steps": the integer simulation of the lowered graph (sinabs' discretized forward);
        "events": the event-driven chip model on the configuration (events.py)."""
        if mode == "steps":
            return super().simulate(graph, x, record=record, **how)
        if mode == "events":
            from snnc.backends.speck import events
            from snnc.backends.speck.read import parse_config

            if how or tuple(record):
                raise input_error(
                    "TARGET-OPTION", "the event model records no traces and takes no options", hint="drop them"
                )
            config = parse_config(self.config(graph))
            return events.simulate(config, _as_chip_input(x, config.input_shape)).result
        raise input_error("TARGET-OPTION", f"speck simulates in mode 'steps' or 'events', not {mode!r}")

    def energy_model(self, **settings: Any):
        from snnc.backends.speck.energy import speck

        return speck(**settings)


def _as_chip_input(x: Any, shape: tuple[int, ...]) -> Any:
    """Data for the graph's input [T, B, N] as the chip takes it, [T, B, C, H, W]: a graph that
    starts with a Linear reads its input as a 1×1 image (linear-to-conv), the same values."""
    array = np.asarray(x)
    if array.ndim >= 2 and array.shape[2:] != shape and array[0, 0].size == math.prod(shape):
        return array.reshape(*array.shape[:2], *shape)
    return x
