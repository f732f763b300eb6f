"""`snnc.report`: simulate a graph on data, count what each layer does, price it with an energy model.

The graph is counted in the form event hardware runs it: an average pool of spikes is a sum pool
(events added by address) with its 1/k² moved into the next layer's weights (the passes
avgpool-to-sumpool and absorb-scale, exact in real arithmetic; bit-exact for power-of-two windows).
So pooled spikes reach the next layer as the counts they are, charged as events (accounting.py),
not as fractions charged as dense multiplies.

The generic models (`literature`, `memory`) are the cost package's; a chip's model belongs to its
target (`Target.energy_model`), so "target" — or a target's name — picks the model of a
registered target. Counting and pricing are snnc/cost; this module only chooses and composes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from snnc.backends import TARGETS, get_target
from snnc.cost import Convention, CostReport, Data, Model, batches, count, estimate, literature, memory
from snnc.diagnostics import Diagnostic, Severity, input_error
from snnc.ir.graph import Graph
from snnc.passes.absorb_scale import AbsorbScale
from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
from snnc.passes.base import PassContext, run_passes

GENERIC = ("literature", "memory", "target")
"""Model names besides the targets': "target" is the model of the target given with it."""


def energy_targets() -> tuple[str, ...]:
    """The registered targets that have an energy model of their own."""
    return tuple(name for name in TARGETS if get_target(name).has_energy_model())


def models() -> tuple[str, ...]:
    """Every model name `select_model` accepts."""
    return (*GENERIC, *energy_targets())


def select_model(
    model: str = "literature",
    target: str | None = None,
    *,
    precision: str | None = None,
    dt: float | None = None,
    synops_ceiling: float | None = None,
) -> Model:
    """The energy model by name; "target" (or a target's name) means the model of that target.
    `precision` picks the arithmetic preset of `literature` (fp32 default) and `memory` (int32,
    or int8 with a target); `dt` (seconds per step) enables static energy and rates."""
    chips = energy_targets()
    if target is not None and target not in chips:
        raise input_error(
            "COST-TARGET", f"no energy model for target {target!r}", hint=f"choose one of {', '.join(chips)}"
        )
    if model not in (*GENERIC, *chips):
        raise input_error(
            "COST-MODEL", f"unknown energy model {model!r}", hint=f"choose one of {', '.join((*GENERIC, *chips))}"
        )
    if model == "target":
        if target is None:
            raise input_error(
                "COST-MODEL", "the target model needs a target", hint=f"pass target= one of {', '.join(chips)}"
            )
        model = target
    if dt is not None and not dt > 0:
        raise input_error("COST-MODEL", f"dt must be a positive number of seconds, got {dt}", hint="e.g. dt=1e-3")
    if model == "literature":
        chosen = literature(precision or "fp32")
    elif model == "memory":
        chosen = memory(precision, target)
    else:
        chosen = get_target(model).energy_model()
    if synops_ceiling is not None:
        if not hasattr(chosen, "synops_ceiling") or dt is None:
            raise input_error(
                "COST-MODEL",
                f"a SynOps/s ceiling is checked by the speck model with a time per step (dt); got model {model!r}, "
                f"dt {dt}",
                hint="use the speck model and give dt (snnc report --model target --target speck --step-time S)",
            )
        chosen.synops_ceiling = synops_ceiling  # type: ignore[attr-defined]
    chosen.dt = dt
    return chosen


def report(
    graph: Graph,
    x: Data,
    *,
    model: str = "literature",
    target: str | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
    dt: float | None = None,
    encoding_once: bool = False,
    integer_inputs: Literal["mac", "ac"] = "ac",
    sops: Literal["exact", "paper"] = "exact",
    synops_ceiling: float | None = None,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> CostReport:
    """Simulate `graph` on `x` ([T, B, ...], in batches of `batch_size`) and estimate its cost."""
    chosen = select_model(model, target, precision=precision, dt=dt, synops_ceiling=synops_ceiling)
    if integer_inputs not in ("mac", "ac") or sops not in ("exact", "paper"):
        raise input_error(
            "COST-MODEL",
            f"integer_inputs={integer_inputs!r}, sops={sops!r}",
            hint="integer_inputs is 'mac' or 'ac'; sops is 'exact' or 'paper'",
        )
    if batch_size is not None and batch_size < 1:
        raise input_error("COST-DATA", f"batch_size must be at least 1, got {batch_size}", hint="e.g. 64")
    pooled, notes = event_pooling(graph)
    counts = count(pooled, batches(x, batch_size), device=device, on_batch=on_batch)
    estimated = estimate(counts, chosen, Convention(encoding_once, integer_inputs, sops))
    estimated.diagnostics[:0] = notes
    return estimated


def event_pooling(graph: Graph) -> tuple[Graph, list[Diagnostic]]:
    """`graph` with average pooling as sum pooling and its scale in the next layer (module
    docstring); the warnings of what could not be rewritten (PASS-*)."""
    ctx = PassContext()
    pooled = run_passes(graph, [AvgpoolToSumpool(), AbsorbScale()], ctx)
    return pooled, [d for d in ctx.diagnostics if d.severity is not Severity.INFO]
