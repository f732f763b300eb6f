"""The diagnostic rules of the cost model and `snnc report` (snnc/cost, snnc/driver/report.py).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "COST-MODEL",
        "an unknown energy model or counting option was asked for",
        "`snnc report --model` takes literature, memory or target (with --target), and the API also "
        "speck and loihi; precision presets are fp32, fp16, int8, int32 (Horowitz 2014); integer "
        "inputs count as 'mac' or 'ac'; SOPs are 'exact' or 'paper'; dt is a positive number of "
        "seconds. The message names the value given; pick one of the listed choices.",
        "the models and presets in snnc/cost/energy.py and snnc/backends/<target>/energy.py (docs/cost/energy.md)",
    ),
    Rule(
        "COST-TARGET",
        "the cost model was asked for a target it has no model of",
        "Per-target energy models exist for speck and loihi only (docs/cost/energy.md §7c). Use one of "
        "them, or the target-independent literature or memory model.",
    ),
    Rule(
        "COST-DATA",
        "the data to measure the cost on is empty or inconsistent",
        "Costs are measured on the simulator's activity for the given data, never assumed, so at "
        "least one sample is needed, batches must share the number of time steps, and a batch "
        "size must be at least 1. Give a non-empty [T, B, ...] array.",
    ),
    Rule(
        "COST-REAL-INPUT",
        "an event-driven target model was applied to a layer fed real values",
        "Speck and Loihi charge energy per event, but this layer's input held real values (the "
        "measured range is in the message), as a directly encoded first layer does. The model "
        "counts each non-zero value as one event, which a chip fed by events would not see. "
        "Feed events (e.g. DVS input) or compute the layer off-chip and count it separately.",
    ),
    Rule(
        "COST-ENCODING-VARIES",
        "the encoding layer was asked to be counted once, but its input changes over time",
        "Papers that present a static image at every step may count the first layer's MACs once "
        "per sample (its output repeats). snnc does so only where the layer's input was measured "
        "identical at every step; here it changed, so the layer is counted at every step. Drop "
        "encoding_once or present a static input.",
    ),
    Rule(
        "COST-SYNOPS-RATE",
        "a Speck core would receive more synaptic operations per second than the configured ceiling",
        "Each Speck core processes a limited number of SynOps per second; more stalls the chip "
        "(sinabs docs/speck/faqs/tips_for_training.md). The rate is the layer's measured SynOps per "
        "sample divided by T·dt. The ceiling is not published: it is the value you configured. "
        "Lower the input rate or fan-out of the layer, or use a longer time step.",
        "configured by the user (no published SynOps/s ceiling; sinabs FAQ, docs/cost/energy.md §4)",
    ),
    Rule(
        "COST-REPORT-WRITE",
        "the HTML cost report cannot be written",
        "The report could not be written (missing directory, no permission, disk full). It is "
        "written to a temporary file and renamed only when complete, so nothing half-written is "
        "left. Choose a writable path.",
    ),
    Rule(
        "COST-MATPLOTLIB-MISSING",
        "the HTML cost report needs matplotlib, which is not installed",
        "The HTML report embeds plots drawn with matplotlib, an optional dependency of snnc. "
        "Install it (pip install -c requirements/constraints.txt matplotlib), or ask for the "
        "text or JSON report, which need no plots.",
    ),
)
