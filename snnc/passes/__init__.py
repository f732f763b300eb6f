"""Graph-to-graph passes, one module each (see base.py); each target composes its own pipeline of them.

`PASSES` is the one table from a pass's name to where its class lives, as xdsl's
`get_all_passes`: a pass module is imported only when the pass is asked for, so passes that need
optional dependencies stay optional. Names are spelled alike everywhere: module `fold_bn.py`,
class `FoldBN`, name "fold-bn" (its `name` attribute; tests/passes/test_table.py checks both).
"""

from __future__ import annotations

import importlib

from snnc.passes.base import Pass, PassContext, run_passes

PASSES: dict[str, str] = {
    "canonicalize-neuron": "CanonicalizeNeuron",
    "fold-bn": "FoldBN",
    "absorb-scale": "AbsorbScale",
    "avgpool-to-sumpool": "AvgpoolToSumpool",
    "consolidate-pool-scales": "ConsolidatePoolScales",
    "linear-to-conv": "LinearToConv",
    "input-events": "InputEvents",
    "maxpool-to-or": "MaxpoolToOr",
    "distribute-sew-add": "DistributeSewAdd",
    "logic-to-neurons": "LogicToNeurons",
    "ann-to-snn": "AnnToSnn",
    "fold-sumpool": "FoldSumpool",
    "sumpool-to-conv": "SumpoolToConv",
    "quantize": "Quantize",
    "ge-to-gt": "GeToGt",
    "set-arithmetic": "SetArithmetic",
    "check-spike-driven": "CheckSpikeDriven",
}
"""Pass name → its class, found in the module `snnc.passes.<name with _ for ->`."""


def get_pass(name: str) -> type[Pass]:
    """The class of the pass called `name`; KeyError (listing the names) for an unknown one."""
    if name not in PASSES:
        raise KeyError(f"unknown pass {name!r}; the passes are: {', '.join(PASSES)}")
    module = importlib.import_module(f"snnc.passes.{name.replace('-', '_')}")
    return getattr(module, PASSES[name])


__all__ = ["PASSES", "Pass", "PassContext", "get_pass", "run_passes"]
