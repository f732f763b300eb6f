"""The pass pipeline of each target (ARCHITECTURE §3: `pipeline(target) -> list of passes`).

A pipeline uses a rewrite only where its target needs it: the reference simulator runs average
pooling, max pooling, logic ops and event adds as they are, so the "sim" pipeline only folds what
no integer datapath holds (BatchNorm, Scale), quantizes, and reports what is not spike-driven.
A chip target adds its rewrites (avgpool-to-sumpool, maxpool-to-or, distribute-sew-add,
logic-to-neurons) by adding one builder function to `PIPELINES`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from snnc.diagnostics import Severity, input_error
from snnc.passes.absorb_scale import AbsorbScale
from snnc.passes.base import Pass
from snnc.passes.check_spike_driven import CheckSpikeDriven
from snnc.passes.fold_bn import FoldBN


def sim(
    *,
    bits: int = 8,
    encoding: tuple[str, ...] | None = None,
    calib: Any = None,
    input_range: tuple[float, float] | None = None,
) -> list[Pass]:
    """fold-bn, absorb-scale, quantize to the simulator's `bits`-bit integer format (8 or 16),
    then the spike-driven check as warnings (the simulator runs real-valued layers; chips do
    not). `encoding` names the layers allowed real-valued inputs (default: those on the graph
    input); `calib` is input data [T, B, *shape] with which the quantizer sets the range of
    real-valued inputs and readouts and measures its error per layer; `input_range` (lo, hi)
    declares the real-valued inputs' range instead (default: calib's, else [0, 1] with a warning)."""
    from snnc.passes.quant_input import check_range
    from snnc.passes.quantize import Quantize, sim_spec

    return [
        FoldBN(),
        AbsorbScale(),
        Quantize(sim_spec(bits), calib=calib, input_range=check_range(input_range)),
        CheckSpikeDriven(encoding=encoding, severity=Severity.WARNING),
    ]


PIPELINES: dict[str, Callable[..., list[Pass]]] = {"sim": sim}
"""Target name → the function building its pipeline from the target's options."""


def pipeline(target: str, **options: Any) -> list[Pass]:
    """The passes that lower a float graph for `target`, configured by `options` (e.g. bits=16).
    Unknown targets and options are input errors (TARGET-UNKNOWN, TARGET-OPTION)."""
    build = PIPELINES.get(target)
    if build is None:
        raise input_error(
            "TARGET-UNKNOWN",
            f"no target named {target!r}; the targets are: {', '.join(PIPELINES)}",
            hint="pick one of the listed targets",
        )
    accepted = inspect.signature(build).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise input_error(
            "TARGET-OPTION",
            f"the {target} pipeline has no option(s) {', '.join(unknown)}; its options are: {', '.join(accepted)}",
            hint="drop the unknown option(s)",
        )
    return build(**options)
