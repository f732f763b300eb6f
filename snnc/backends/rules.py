"""The diagnostic rules of choosing a target and its options (snnc/backends, snnc/driver/compile.py).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "TARGET-UNKNOWN",
        "no compilation target has this name",
        "compile and check take a target name from the registry (snnc/backends/__init__.py): `sim`, "
        "the reference simulator with integer arithmetic, and `loihi` (Intel Loihi 2 through Lava). Pick "
        "one of the names the message lists.",
    ),
    Rule(
        "TARGET-OPTION",
        "a pipeline option is unknown or out of range for the target",
        "Each target's pipeline takes its own options (sim: bits = 8 or 16, encoding = layer "
        "names). The message lists the options the target accepts, or the allowed values.",
        "the pipeline's signature in snnc/passes/pipelines.py",
    ),
    Rule(
        "TARGET-UNAVAILABLE",
        "the target is registered but cannot compile yet",
        "The target's energy model exists (snnc report --model target --target T), but its "
        "pipeline, hardware rules and lowering are not built yet, so compile and check cannot run "
        "for it. Compile for the sim target meanwhile; it quantizes and simulates the network.",
    ),
)
