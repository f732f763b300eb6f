"""The diagnostic rules of the reference simulator (snnc/sim).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "SIM-INPUT-SHAPE",
        "the input data has the wrong shape",
        "Data enters a graph time-major as [T, B, *shape], where shape is the graph input's "
        "per-sample shape. Other layouts (batch-major [B, T, ...], missing batch axis, channels "
        "last) would be read as different data. Transpose or reshape the array to [T, B, *shape].",
        "the graph input's TensorType shape (shown by `snnc inspect`)",
    ),
    Rule(
        "SIM-INPUT-DTYPE",
        "the input data's values do not fit the graph input's dtype",
        "A spike input takes values in {0, 1}, a count input small non-negative integers, an int "
        "input integers of its width. Other values (e.g. real-valued frames into a spike input) "
        "would be silently misread by the chips; convert the data, or declare the input float.",
        "the graph input's dtype (ARCHITECTURE §2)",
    ),
    Rule(
        "SIM-INPUT-MISSING",
        "no data was given for a graph input",
        "Every graph input needs an array. For a graph with several inputs pass a dict from input "
        "name to array (in .npz files: one array per input, keyed by input name).",
    ),
    Rule(
        "SIM-RECORD",
        "a requested trace names an unknown state variable",
        "`record` lists state variables to trace (such as the membrane potential v or the current "
        "i) and only stateful nodes have them. Ask for variables the graph's neurons have.",
    ),
    Rule(
        "SIM-QUANTIZED",
        "a quantized graph has nodes that cannot run in integers",
        "A quantized graph is simulated in integers only, with its target's arithmetic, so that its "
        "results are the chip's. Real-valued nodes (BatchNorm, Scale, AvgPool2d, a float input, an "
        "unquantized layer) have no integer meaning, and running them as floats would match no "
        "chip; sums beyond 64-bit integers cannot be held exactly. Quantize the whole graph after "
        "folding BatchNorm and scales, give it spike or integer inputs, or simulate the float graph.",
        "snnc/sim/int_ops.py (int64 is the widest exact register)",
    ),
    Rule(
        "SIM-DEVICE",
        "the requested simulation device does not exist, or cannot run this graph exactly",
        "The simulator runs on 'cpu', or on 'cuda' when a CUDA GPU and a CUDA build of torch are "
        "present; results are identical on both. A quantized graph runs on CUDA only where every "
        "value and every synaptic sum stays below 2^24 (exact in float32: torch has no integer "
        "convolution or matrix product on CUDA). Use device='cpu', or install a CUDA torch.",
    ),
    Rule(
        "SIM-TOO-LARGE",
        "a simulation run would pass the memory or work limit",
        "Before allocating anything, the simulator adds up what the run needs: the graph's state "
        "and values for B samples (and, for graphs that batch whole sequences, all T steps at once), "
        "plus the T x B event counts of every node, the outputs and the requested traces; and the "
        "operations over all steps and samples (snnc/sim/budget.py). Data of a huge batch or number "
        "of steps is refused rather than run. Simulate fewer samples at a time (snnc report "
        "--batch-size) or fewer steps, or, if you mean it, raise the limit (SNNC_MAX_MEMORY / "
        "--max-memory, SNNC_MAX_WORK / --max-work).",
        "snnc/limits.py: 8 GiB of memory and 10^13 operations by default",
    ),
    Rule(
        "SIM-OUTPUT",
        "SimResult.output was read on a graph with several outputs",
        "`.output` is a shorthand for graphs with exactly one output; with several it would have "
        "to pick one silently. Read `result.outputs[name]` instead.",
    ),
)
