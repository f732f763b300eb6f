"""Every diagnostic rule of snnc, documented once (ARCHITECTURE §4).

A rule id names the problem, not its fix (ruff's rule naming convention), and stays stable: CI
scripts filter on it. Each entry says what the rule means, why it matters and how to fix it, and,
where the rule compares a value with a limit, where that limit comes from. The prefix says which
part of snnc reports it: IR (verifier), IO (the .snnc file format), SIM (reference simulator),
FE (model loading), CLI (the command line).

`tests/test_rules.py` keeps this table honest: every rule id used in snnc's sources is listed
here, and every entry here is used somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One rule: `title` is a one-line summary, `doc` the paragraph a user reads to fix it."""

    id: str
    title: str
    doc: str
    limit_source: str | None = None  # where a numeric limit comes from; None if the rule has none


_RULES = (
    # --- IR: the verifier (snnc/ir/verify.py) and per-op type inference (snnc/ir/ops.py) --------
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
        "behaviour; thresholds must be positive (a threshold <= 0 fires on every step) and a "
        "multi-spike cap at least 1. Give the parameter the right shape or value.",
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
        "quantized only half a layer; quantize weights and format together.",
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
        "IR-UNUSED",
        "a node's result reaches no output (warning)",
        "The node is computed but nothing observable depends on it. It costs memory and time on "
        "the chip for nothing and often marks a wiring mistake. Connect it to an output or let a "
        "pass remove it.",
    ),
    # --- IO: the .snnc file format (snnc/ir/serialize.py) ----------------------------------------
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
    # --- SIM: the reference simulator (snnc/backends/sim) ----------------------------------------
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
        "the simulator was given a quantized graph",
        "The reference simulator runs float graphs; integer simulation of quantized graphs, with "
        "the target's arithmetic, is not available yet, and running integer parameters as floats "
        "would not match any chip. Simulate the float graph, before quantization.",
    ),
    Rule(
        "SIM-DEVICE",
        "the requested simulation device does not exist",
        "The simulator runs on 'cpu', or on 'cuda' when a CUDA GPU and a CUDA build of torch are "
        "present; results are identical on both. Use device='cpu', or install a CUDA torch.",
    ),
    Rule(
        "SIM-OUTPUT",
        "SimResult.output was read on a graph with several outputs",
        "`.output` is a shorthand for graphs with exactly one output; with several it would have "
        "to pick one silently. Read `result.outputs[name]` instead.",
    ),
    # --- FE: loading models ----------------------------------------------------------------------
    Rule(
        "FE-UNSUPPORTED-SOURCE",
        "this version of snnc cannot read the given model source",
        "snnc.load reads snnc.Graph objects and .snnc files. PyTorch modules, .pt/.pth checkpoints, "
        "NIR and ONNX files and 'pkg.module:factory' references are read by the frontend, which this "
        "version does not include yet. Build the graph with snnc.ir.GraphBuilder and save it with "
        "snnc.ir.serialize.save in the meantime.",
    ),
    Rule(
        "FE-CORRUPT-FILE",
        "a PyTorch model file cannot be read",
        "The file is not a PyTorch zip checkpoint (truncated, damaged, or the legacy pre-1.6 "
        "format) or its pickle cannot be decoded. Save the model again with torch.save from "
        "PyTorch 1.6 or newer.",
    ),
    Rule(
        "FE-MISSING-CLASS",
        "a model file refers to code that cannot be imported here",
        "A pickled model stores references to the classes it was built from; when the library (or "
        "the version) that defines them is not installed, the model cannot be rebuilt. Install the "
        "library the model was saved with, or build the model in code and load only its state dict.",
    ),
    Rule(
        "FE-UNSAFE-PICKLE",
        "a model file refers to code outside snnc's allowlist",
        "Unpickling can call any importable function, so a model file could run arbitrary code "
        "when loaded. snnc loads with torch's restricted unpickler and allows only the SNN "
        "libraries' classes and pure functions; the message names the refused global. Load a file "
        "you trust with trust_pickle=True, or build the model in code and load its state dict.",
        "the allowlist in snnc/frontend/safe_load.py",
    ),
    Rule(
        "FE-NOT-A-MODEL",
        "a model file holds something other than a model",
        "The file loaded, but it holds e.g. a state dict: weights without the architecture, from "
        "which no graph can be built. Give the code that builds the model as 'pkg.module:factory' "
        "together with the weights file.",
    ),
    Rule(
        "FE-FACTORY",
        "a 'pkg.module:factory' source cannot be imported or returns no model",
        "The factory is imported and called to build the model; the module or the function was not "
        "found, or what it returned is not a torch.nn.Module. Check the spelling, that the package "
        "is importable from the current environment, and that the function returns the model.",
    ),
    Rule(
        "FE-WEIGHTS",
        "a state dict does not load into the model built by the factory",
        "The weights file is damaged, holds more than tensors, or its keys and shapes do not match "
        "the architecture the factory built. Use the state dict saved from the same architecture "
        "(model.state_dict()).",
    ),
    Rule(
        "FE-INPUT-SHAPE",
        "the model's input shape is unknown",
        "To trace a model snnc runs it once on an example input, which needs the per-sample input "
        "shape; the model does not state it and it cannot be derived from its first layer. Pass "
        "input_shape=(C, H, W), without the time and batch axes.",
    ),
    Rule(
        "FE-INPUT-DTYPE",
        "the requested input dtype is unknown",
        "The graph input's dtype says what values the data holds (spikes, counts, real values) and "
        "the spike-driven checks and cost model rely on it. Choose one of the dtypes the message "
        "lists.",
    ),
    Rule(
        "FE-CAPTURE",
        "running the model on the example input failed",
        "snnc records what the model computes by running it once; the model raised an error on an "
        "input of the stated shape and time layout, so the shape is probably wrong or the model "
        "expects another layout. Check input_shape (per sample, without time and batch) against "
        "what the model's forward expects.",
    ),
    Rule(
        "FE-LAYOUT",
        "the model mixes time layouts",
        "Layers of one model must agree on how time is passed: all step by step, or all on whole "
        "[T, B, ...] sequences. A mixture cannot be traced into one per-step graph. Put every layer "
        "in the same step mode (e.g. spikingjelly functional.set_step_mode(net, 'm')).",
    ),
    Rule(
        "FE-TIME-STRUCTURE",
        "the model does different work at different time steps",
        "The IR describes one time step that repeats (ARCHITECTURE §2.1), so a model whose forward "
        "computes something else at some steps (layers skipped, time-dependent branches) has no "
        "such description. Make the per-step computation the same at every step.",
    ),
    Rule(
        "FE-STATE",
        "a neuron's state is not threaded from one step to the next",
        "Neuron state must come from the same neuron at the previous step, starting from a value "
        "that does not depend on the input, or the stateful op of the IR cannot represent it. Pass "
        "each neuron its own state from the previous step and initialise it with constants.",
    ),
    Rule(
        "FE-UNSUPPORTED-OP",
        "the model uses a layer or operation snnc cannot convert",
        "Every layer must map to an IR op exactly; anything else is rejected rather than silently "
        "approximated (ARCHITECTURE §2.2). The message names the layer and the operation; replace "
        "it with a supported one, or register a converter for it.",
    ),
    Rule(
        "FE-UNSUPPORTED-ATTR",
        "a supported layer uses a setting snnc cannot convert",
        "The layer type is supported, but this configuration (a padding mode, asymmetric 'same' "
        "padding, dilated pooling, uneven adaptive pooling, ...) has no exact IR equivalent. Change "
        "the setting as the hint says.",
    ),
    Rule(
        "FE-BATCHNORM-STATS",
        "a BatchNorm keeps no running statistics",
        "Without running mean and variance a BatchNorm normalises each batch by its own statistics, "
        "so its output depends on the other samples and cannot be folded into weights for a chip. "
        "Train with track_running_stats=True.",
    ),
    Rule(
        "FE-SHAPE",
        "a converted layer's shape differs from what the model computed",
        "After conversion every node's shape is compared with the tensor the model produced while "
        "traced; a difference means the layer is used in a way the converter does not model, and "
        "the graph would compute something else. Please report it with the model.",
    ),
    Rule(
        "FE-OUTPUT",
        "the model returns no tensor that maps to a graph output",
        "The graph's outputs are the tensors the model returns; none of them was computed from the "
        "input by converted layers. Return the output spikes, as a tensor or stacked over time.",
    ),
    # --- CLI: the snnc command (snnc/cli.py) -----------------------------------------------------
    Rule(
        "CLI-DATA-READ",
        "the --data file cannot be read as a plain .npz archive",
        "`snnc simulate --data` reads numpy .npz archives with pickling disabled, because "
        "unpickling runs code from the file. Object arrays, .npy or other formats, and damaged "
        "archives are refused. Save plain numeric arrays: np.savez(path, x=array).",
    ),
    Rule(
        "CLI-DATA-KEY",
        "no array in the --data archive matches the graph input",
        "The array for an input is taken by the input's name, else the key 'x', else the only "
        "array in the archive. The message lists the keys found; rename the array to the input's "
        "name (shown by `snnc inspect`).",
    ),
    Rule(
        "CLI-OUTPUT-WRITE",
        "the -o output file cannot be written",
        "The results could not be written (no permission, disk full, or the path is a directory). "
        "Nothing was left behind: results go to a temporary file that replaces the target only "
        "when complete. Choose a writable path.",
    ),
    # --- PASS: the pass driver (snnc/passes/base.py) ----------------------------------------------
    Rule(
        "PASS-BROKE-GRAPH",
        "a pass produced a graph that fails the verifier",
        "Every pass promises a verified graph in and a verified graph out. With verification after "
        "each pass enabled (tests, --verify-each), a pass whose output fails names itself and the "
        "passes run before it, followed by the verifier's errors. This is a bug in snnc, not in the "
        "model: please report it together with the model.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
"""Every rule by id."""
