"""The diagnostic rules of the IR: the verifier (snnc/ir/verify.py), per-op type inference
(snnc/ir/ops.py) and the .snnc file format (snnc/ir/serialize.py).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "IR-ARITY",
        "an op has the wrong number of inputs",
        "Each op kind takes a fixed number of inputs (Linear one, Elementwise two, Concat one or "
        "more, Input none). A node with another count has no defined meaning, so nothing downstream "
        "can evaluate it. Rebuild the node with the inputs its op expects; if a frontend produced "
        "it, the converter mapped the source layer wrongly and should be reported.",
        "the op's `arity` in snnc/ir/ops.py",
    ),
    Rule(
        "IR-SHAPE",
        "an op's attributes or parameters do not fit its input type",
        "Type inference computes every node's output shape from its input shapes and attributes "
        "(weight shape, kernel, stride, padding, groups, axes). When they do not fit, e.g. a Linear "
        "whose in_features differ from its flattened input, or a kernel larger than the padded "
        "input, the layer cannot run as written. Fix the layer's attributes or insert the missing "
        "reshape/flatten; the message names the node and both shapes.",
        "PyTorch's output-size formulas for conv and pooling (torch.nn.Conv2d / MaxPool2d docs), "
        "implemented in snnc/ir/ops.py `_window_out`",
    ),
    Rule(
        "IR-NEURON-PARAM",
        "a neuron parameter or switch is invalid",
        "Neuron parameters must be scalars, one value per channel, or one per neuron, so they "
        "broadcast over the layer; the switches (reset, fire_op, spikes, ...) must name a known "
        "behaviour; thresholds must be positive (a threshold <= 0 fires on every step; 0 is allowed "
        "with fire_op gt, which fires where h > 0) and a multi-spike cap at least 1. Give the "
        "parameter the right shape or value.",
        "the Neuron definition in snnc/ir/ops.py (ARCHITECTURE §2.3)",
    ),
    Rule(
        "IR-TYPE",
        "a node's declared type differs from the type its op and inputs imply",
        "Each node stores its output type, and passes and backends trust it. A stored type that "
        "disagrees with what inference gives (or a Delay fed a different type than it declares) "
        "means the graph was edited without re-inferring, so later stages would size buffers and "
        "pick arithmetic wrongly. Rebuild the node through GraphBuilder so its type is inferred.",
    ),
    Rule(
        "IR-DUPLICATE-NAME",
        "two nodes share a name",
        "Node names are the source module paths and every diagnostic, trace and report refers to "
        "nodes by name, so they must be unique. Rename one node (GraphBuilder.fresh gives a free name).",
    ),
    Rule(
        "IR-DANGLING",
        "a node reads a node that is not in the graph",
        "An input edge names a node that does not exist, so the graph cannot be evaluated. This "
        "usually means a node was removed without rewiring its users; connect the user to an "
        "existing node.",
    ),
    Rule(
        "IR-OUTPUT-USED",
        "a node reads a graph output",
        "Output nodes mark results leaving the graph; they are not values other nodes compute "
        "with. Read the node that feeds the output instead.",
    ),
    Rule(
        "IR-NO-INPUT",
        "the graph has no input",
        "Without an Input node no data can enter the graph, so simulation and compilation have "
        "nothing to run on. Add an input with the per-sample shape and dtype of the data.",
    ),
    Rule(
        "IR-NO-OUTPUT",
        "the graph has no output",
        "Without an Output node nothing is observable, and dead-code elimination would remove "
        "every node. Mark the result (usually the last spiking layer) as an output.",
    ),
    Rule(
        "IR-CYCLE",
        "a cycle does not pass through a Delay",
        "Every time step evaluates the graph in topological order; a recurrent connection is only "
        "well defined if it reads the previous step's value, i.e. passes through a Delay of at "
        "least one step. Insert a Delay on the recurrent edge.",
    ),
    Rule(
        "IR-NONFINITE",
        "a parameter holds NaN or infinite values",
        "NaN or infinite weights make every downstream value undefined and cannot be quantized for "
        "any chip. They usually come from a diverged training run or a bad checkpoint; retrain or "
        "repair the layer named in the message.",
    ),
    Rule(
        "IR-QUANT-FORMAT",
        "a parameter's number format and its values disagree",
        "After quantization every integer parameter carries a NumberFormat (bits, signedness, "
        "scale) telling backends how the target stores it, and a parameter with a format must hold "
        "integers. An integer array without a format, or a format on real values, means a pass "
        "quantized only half a layer; quantize weights and format together. A quantized graph "
        "input's format must match its dtype (int<bits> or uint<bits>) and have one positive scale.",
    ),
    Rule(
        "IR-QUANT-RANGE",
        "a quantized parameter does not fit its number format",
        "A quantized value outside its format's range would wrap or saturate on the chip, so the "
        "hardware would compute something other than the simulated model. Requantize with a "
        "smaller scale or a wider format.",
        "the parameter's NumberFormat: [-2^(bits-1), 2^(bits-1)-1] signed, [0, 2^bits-1] unsigned "
        "(snnc/ir/quant.py); the bit widths come from the target description",
    ),
    Rule(
        "IR-QUANT-ARITHMETIC",
        "a quantized graph has no usable Arithmetic",
        "Integer parameters alone do not say what a target computes: register widths, wrap or "
        "saturate, the decay's shift and rounding (ARCHITECTURE §2.4). A graph with quantized "
        "parameters must carry an Arithmetic (Graph.arithmetic), with known overflow and rounding "
        "modes and widths the integer simulator holds. Quantize with snnc.passes.quantize, which "
        "attaches the target's.",
        "snnc/ir/quant.py `Arithmetic.problems` (1..62-bit registers, 2^decay_shift within the voltage register)",
    ),
    Rule(
        "IR-QUANT-NEURON",
        "a quantized neuron uses a float-only form",
        "The integer semantics of a neuron (the Neuron docstring) has only the affine charge and "
        "current, with rate 1 and v_rest 0; the delta forms of SpikingJelly, Norse and sinabs are "
        "float orders that the quantizer maps onto the affine one. A quantized neuron in another "
        "form has no defined integer meaning; quantize the float neuron with snnc.passes.quantize.",
    ),
    Rule(
        "IR-TOO-LARGE",
        "simulating or compiling one sample would pass the memory or work limit",
        "The graph's declared sizes (an input shape, a Delay's steps, a padding, a layer's width) "
        "make one sample, for one step, need more memory or operations than the limit allows, "
        "counted before anything is allocated (snnc/ir/resources.py). A small file can declare "
        "terabytes, so such a graph is refused rather than run. The message names the node that "
        "needs most; fix the graph, or, if the sizes are meant, raise the limit "
        "(SNNC_MAX_MEMORY / --max-memory, SNNC_MAX_WORK / --max-work).",
        "snnc/limits.py: 8 GiB of memory and 10^13 operations by default",
    ),
    Rule(
        "IR-UNUSED",
        "a node's result reaches no output (warning)",
        "The node is computed but nothing observable depends on it. It costs memory and time on "
        "the chip for nothing and often marks a wiring mistake. Connect it to an output or let a "
        "pass remove it.",
    ),
    Rule(
        "IO-NOT-FOUND",
        "an input file does not exist",
        "The path given for a model or data file does not name a readable file. Check the path "
        "(relative paths are taken from the current directory) and that the file was written.",
    ),
    Rule(
        "IO-NOT-SNNC",
        "the file is not an snnc graph file",
        "The file does not start with the .snnc header, so it is some other format (a PyTorch "
        "checkpoint, NIR, ONNX, ...) or was renamed. Save the graph with snnc.ir.serialize.save, or "
        "load the source model through the frontend once it reads that format.",
    ),
    Rule(
        "IO-VERSION",
        "the .snnc file uses a format version this snnc does not read",
        "The same bytes may mean different things in another format version, so the file is not "
        "guessed at. A higher version was written by a newer snnc: upgrade, or save the graph "
        "again with this version. A lower or unknown one usually means a damaged file.",
        "`VERSION` in snnc/ir/serialize.py",
    ),
    Rule(
        "IO-TOO-LARGE",
        "a .snnc file is larger than the memory limit",
        "A .snnc file is read into memory whole (its checksum covers every byte), so a file larger "
        "than the memory limit is refused before reading. Graphs of real networks take megabytes; "
        "if the file is meant to be this large, raise the limit (SNNC_MAX_MEMORY / --max-memory).",
        "snnc/limits.py: 8 GiB by default",
    ),
    Rule(
        "IO-CORRUPT",
        "the .snnc file is damaged or inconsistent",
        "The header says .snnc but the content cannot be decoded: truncated, edited by hand, or "
        "arrays that do not match the header. Nothing in it can be trusted; write the file again "
        "from the source model.",
    ),
    Rule(
        "IO-WRITE",
        "a .snnc file cannot be written",
        "Saving failed (missing directory, no permission, disk full). The file is written to a "
        "temporary name and renamed only when complete, so an existing file at the path is left "
        "as it was. Choose a writable path or free space.",
    ),
)
