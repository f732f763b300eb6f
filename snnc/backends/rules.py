"""The diagnostic rules of choosing a target and its options (snnc/backends, snnc/driver/compile.py).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "TARGET-UNKNOWN",
        "no compilation target has this name",
        "compile, check, report and validate take a target name from the one registry "
        "(snnc/backends/__init__.py). Pick one of the names the message lists.",
    ),
    Rule(
        "TARGET-OPTION",
        "a target option is unknown, of the wrong type or out of range for the target",
        "Each target declares its options as a dataclass (sim: bits = 8 or 16, encoding = layer "
        "names, input_range = LO,HI); the API takes them as keywords and the CLI as flags generated "
        "from the same fields. The message lists the options the target accepts, or the allowed "
        "values; a flag that belongs to another target says which.",
        "each target's Options dataclass (snnc/backends/<target>/target.py), validated by snnc/backends/target.py",
    ),
)
