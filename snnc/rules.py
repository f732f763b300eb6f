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
        "a quantized graph has nodes that cannot run in integers",
        "A quantized graph is simulated in integers only, with its target's arithmetic, so that its "
        "results are the chip's. Real-valued nodes (BatchNorm, Scale, AvgPool2d, a float input, an "
        "unquantized layer) have no integer meaning, and running them as floats would match no "
        "chip; sums beyond 64-bit integers cannot be held exactly. Quantize the whole graph after "
        "folding BatchNorm and scales, give it spike or integer inputs, or simulate the float graph.",
        "snnc/backends/sim/int_ops.py (int64 is the widest exact register)",
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
    # --- COST: the cost model and `snnc report` (snnc/cost) ---------------------------------------
    Rule(
        "COST-MODEL",
        "an unknown energy model or counting option was asked for",
        "`snnc report --model` takes literature, memory or target (with --target), and the API also "
        "speck and loihi; precision presets are fp32, fp16, int8, int32 (Horowitz 2014); integer "
        "inputs count as 'mac' or 'ac'; SOPs are 'exact' or 'paper'; dt is a positive number of "
        "seconds. The message names the value given; pick one of the listed choices.",
        "the models and presets in snnc/cost/energy.py and snnc/cost/targets.py (fact sheet cost/energy.md)",
    ),
    Rule(
        "COST-TARGET",
        "the cost model was asked for a target it has no model of",
        "Per-target energy models exist for speck and loihi only (cost/energy.md §7c). Use one of "
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
        "configured by the user (no published SynOps/s ceiling; sinabs FAQ, cost/energy.md §4)",
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
    # --- PASS / SPIKE / TARGET: the passes (snnc/passes/) and compile/check (snnc/compiler.py) --
    Rule(
        "PASS-BN-NOT-FOLDED",
        "a BatchNorm could not be folded exactly and stays in the graph",
        "fold-bn folds an eval-mode BatchNorm into the Linear/Conv before it (if nothing else reads "
        "that layer), into the neurons after it (affine charge, no current state, no late input: "
        "gain and bias), or into the one Linear/Conv after it. A convolution's zero padding is not "
        "shifted by the BatchNorm, so folding into a padded convolution is exact only when the "
        "shift is zero. The message says why each place did not fit. Left in place, the BatchNorm "
        "feeds real values to the next synaptic layer (SPIKE-DRIVEN). Move it right after a "
        "Linear/Conv, or before an unpadded one.",
    ),
    Rule(
        "PASS-SCALE-NOT-ABSORBED",
        "a Scale could not be absorbed into the next layer or neurons",
        "absorb-scale moves a per-channel Scale into the one Linear/Conv that reads it (its "
        "weights) or into the neurons that read it (their thresholds and other voltages divided "
        "by the factor). A Scale read by anything else (a pooling, an output, a neuron with a late "
        "input) stays, and the next synaptic layer then reads real values. Move the scaling next "
        "to a layer or neuron, or fold it into the weights before it.",
    ),
    Rule(
        "PASS-SCALE-NOT-POSITIVE",
        "a Scale with a zero or negative factor feeds neurons",
        "Dividing a neuron's threshold by a factor s keeps its spikes only for s > 0: a negative "
        "factor flips the comparison, a zero one voids it. The Scale stays. Put the sign into the "
        "weights of the layer before the Scale, or retrain with positive factors.",
        "the firing comparison h >= threshold (ARCHITECTURE §2.3)",
    ),
    Rule(
        "PASS-AVGPOOL-NOT-CONVERTED",
        "an average pool divides some windows by fewer elements than kh·kw",
        "avgpool-to-sumpool replaces average pooling by sum pooling and a scale 1/(kh·kw), which "
        "is exact only if every window divides by the full area. torch divides border windows by "
        "fewer elements with padding and count_include_pad=False, and clips windows that "
        "overhang the input with ceil_mode. Use padding 0 (or count_include_pad=True) and "
        "ceil_mode=False.",
        "torch.nn.functional.avg_pool2d's divisor (aten/src/ATen/native/cpu/AvgPoolKernel.cpp)",
    ),
    Rule(
        "PASS-MAXPOOL-NOT-CONVERTED",
        "a max pool cannot be expressed as an OR of spikes",
        "maxpool-to-or replaces a max pool of spikes by a sum pool and a neuron firing on a sum "
        "of at least 1. A max of counts or real values is not an OR, and for very large windows "
        "the simulator's float sum of one spike rounds below 1 (sinabs' sum-pool order). Max "
        "pool spikes only: place the pooling right after a single-spike neuron.",
    ),
    Rule(
        "PASS-SEW-NOT-DISTRIBUTED",
        "an add read by a synaptic layer has an input that is not events",
        "distribute-sew-add turns layer(a + b) into layer(a) + layer(b) so that each event stream "
        "reaches the layer's synapses on its own (a merge of two sources into one core). It "
        "applies when both a and b are events (spikes or counts); with a real-valued input the "
        "layer would still multiply by real values. Make both branches spike before the add.",
    ),
    Rule(
        "SPIKE-DRIVEN",
        "a synaptic layer multiplies its weights by real values instead of accumulating events",
        "On neuromorphic hardware a synapse adds its weight to a neuron when an event arrives; it "
        "cannot multiply by a real number. A Linear/Conv whose input is not spikes (or bounded "
        "counts) — after an unfolded BatchNorm, an average pool, a ReLU, a Scale, another layer "
        "with no neuron between, or a real-valued graph input outside an encoding layer — is a "
        "multiply-accumulate. The message names the layer and the path from the op that made the "
        "values real; the hint says how to fix that op. Errors on chip targets, warnings on sim.",
        "the target's synapse: event-driven accumulate (speck.md §2.2, loihi.md §2.1)",
    ),
    Rule(
        "SPIKE-PRODUCT",
        "an elementwise product of two event tensors",
        "Multiplying two spike tensors (spiking self-attention's Q·K) needs both operands at the "
        "same time, which no synaptic crossbar computes: a synapse multiplies one event by a "
        "stored weight. The cost model still counts the operation. Run the product off-chip or "
        "reformulate it with weights and neurons.",
    ),
    Rule(
        "QUANT-SATURATION",
        "quantization clipped values to their format",
        "A value did not fit the target's format and was clipped: weights beyond the clip "
        "quantile (QuantSpec.clip_quantile < 1), a decay factor above 1 or below 0, or calibration "
        "data beyond the declared range of a real-valued input (input_range), which saturate at the "
        "input format's ends. Clipped values change the function more than rounding does; the "
        "message gives how many and the range. Use clip_quantile 1.0 (the scale then fits every "
        "weight), retrain with the factor in [0, 1], or declare the input range the data take.",
        "the QuantSpec's weight bits and the Arithmetic's decay_shift (snnc/passes/quant_spec.py, from "
        "../shared/targets/speck.md §3.1 and loihi.md §1.2, §2.1)",
    ),
    Rule(
        "QUANT-ZEROED",
        "weights, a threshold or a leak rounded to zero",
        "At the layer's scale some non-zero weights are below half a step and became 0 (a warning; "
        "an error when all of them did, the layer being dead), a threshold became 0 (an error: the "
        "neuron would fire every step), or a leak 1 - a_v is below one decay step and vanished. "
        "This happens when a threshold or lower bound sets the scale (QUANT-THRESHOLD), or with "
        "sinabs' min_v_mem=None, which counts as -32768 in the threshold range. Bring the weights "
        "and thresholds closer in magnitude, or set v_min.",
        "half a quantization step, 0.5 / scale (speck.md §3.2, §3.3)",
    ),
    Rule(
        "QUANT-THRESHOLD",
        "a threshold or state bound is out of range of the weights' scale",
        "One scale serves a layer's weights and its neurons' thresholds and state values (speck.md "
        "§3.2). When the threshold (with v_min) needs a smaller scale than the weights, the "
        "weights lose the bits the message gives (a warning); the simulator's formats keep the "
        "threshold a bit below the state's maximum, so that a membrane above it is held until the "
        "reset (QuantSpec.threshold_headroom_bits). A neuron fed without weights keeps its "
        "input's scale (1 for events), so a threshold beyond its format does not fit at all (an "
        "error). Rescale weights and thresholds together in training, or use a wider format; an "
        "8-bit real-valued input times 8-bit weights often binds in a 16-bit state (--bits 16).",
        "the Arithmetic's threshold and voltage formats (Speck 16-bit, speck.md §3.1; Loihi vth 17 bits "
        "<< 6, loihi.md §1.2)",
    ),
    Rule(
        "QUANT-UNSUPPORTED",
        "the target's number formats cannot express a layer",
        "The quantizer refuses what the target has no integer form for, rather than approximate "
        "it: a leak or a current state on Speck (IAF only, speck.md §4), a synaptic bias that Loihi "
        "cannot move into the neuron because a current state sits between (loihi.md §7.5), raw "
        "events added to weighted sums, a layer reading another layer's sums or a non-spiking "
        "neuron's membrane, a neuron's late input, real-valued layers, real-valued inputs on a "
        "target that takes events only (Speck), or an already quantized graph. The graph is returned "
        "unchanged. Change the layer as the hint says, or pick a target that has the feature.",
    ),
    Rule(
        "QUANT-LOSS",
        "what quantizing a layer cost (info)",
        "One line per layer: the weights' scale and their max and mean rounding error relative to "
        "max |w|, the threshold before and after; one per quantized real-valued input: its format, "
        "scale and step, and its rounding error on the calibration data; with calibration data, "
        "each neuron layer's spike agreement between the float and the integer simulation (for a "
        "non-spiking readout, its membrane's error). snnc compile prints these as the per-layer "
        "quantization losses; nothing needs fixing unless the numbers are large.",
    ),
    Rule(
        "TARGET-UNKNOWN",
        "no compilation target has this name",
        "compile and check take a target name from the registry (snnc/targets.py): today `sim`, "
        "the reference simulator with integer arithmetic. Pick one of the names the message lists.",
    ),
    Rule(
        "TARGET-OPTION",
        "a pipeline option is unknown or out of range for the target",
        "Each target's pipeline takes its own options (sim: bits = 8 or 16, encoding = layer "
        "names). The message lists the options the target accepts, or the allowed values.",
        "the pipeline's signature in snnc/passes/pipelines.py",
    ),
    # --- interchange: NIR and ONNX reading (snnc/frontend/nir*.py, onnx.py), NIR export ----------
    Rule(
        "FE-NIR-READ",
        "a NIR file or graph cannot be read",
        "The file is not an HDF5 file written by nir.write, or its node tree lacks what NIR's "
        "format needs (a 'type' per node, the graph's 'nodes' and 'edges', a node's fields), or an "
        "edge names a node that does not exist. The message names the node. Export the model again "
        "with the library's NIR exporter and nir.write.",
        "nir 1.0.8 nir/serialization.py (read, write) and nir/ir/*.py (each primitive's fields)",
    ),
    Rule(
        "FE-NIR-NORMALIZED",
        "the NIR reader changed something to make the graph readable (info)",
        "Real exporters write files that nir.read's type check rejects: neuron parameters as 0-d "
        "scalars, a batch axis in the Input shape, graphs without Input/Output nodes, cycles "
        "without a Delay (shared/ENVIRONMENT.md §5, §8). snnc broadcasts scalars, drops the leading "
        "axis when the graph only fits without it, adds the boundary nodes, delays a cycle's back "
        "edge by one step, picks dt = 1e-4 s when none is given, and infers the shapes itself; "
        "each note says which of these it did. Nothing to fix unless the note is not what the "
        "exporter meant (then pass dt or fix the export).",
    ),
    Rule(
        "FE-NIR-SIDECAR",
        "a NIR file's snnc metadata no longer matches its NIR graph (warning)",
        "Files written by `snnc export` carry the exact snnc graph in their metadata. When another "
        "tool has changed the NIR part since (new weights, nodes added or removed), the stored "
        "graph no longer describes the file, so snnc reads the NIR graph as it reads any NIR file: "
        "what NIR cannot express (subtract reset, v >= threshold, multi-spikes, ...) is then lost. "
        "Export the model from snnc again.",
    ),
    Rule(
        "FE-NIR-DT",
        "the NIR time step is invalid or given for a source that has none",
        "NIR states neurons in continuous time; snnc discretizes them with forward Euler steps of "
        "dt seconds (snnc/frontend/nir_primitives.py), so dt must be a positive number, and it means "
        "nothing for PyTorch, ONNX or .snnc sources. Give dt only for .nir models, e.g. dt=1e-4 "
        "(SpikingJelly's and snnTorch's exporters) or dt=1e-3 (Norse's).",
    ),
    Rule(
        "FE-ONNX-READ",
        "an ONNX file cannot be read",
        "The file is not an ONNX protobuf (truncated, another format), or a node reads a tensor "
        "nothing computes, or a graph output is computed by no node. Export the model again with "
        "torch.onnx.export; snnc reads the file with the onnx package and never runs it.",
        "the ONNX IR specification (onnx/docs/IR.md): graph inputs, initializers, node inputs",
    ),
    Rule(
        "EXPORT-FORMAT",
        "the requested export format is unknown",
        "snnc exports to NIR (to='nir', `snnc export --to nir`); NIR is how SNN libraries and "
        "chips exchange graphs. Choose nir.",
    ),
    Rule(
        "EXPORT-NIR-UNSUPPORTED",
        "a node has no NIR primitive",
        "NIR 1.0.8 has Input, Output, Affine, Linear, Scale, Conv1d/2d, Flatten, Sum/AvgPool2d, "
        "Delay, Threshold and the I/IF/LI/LIF/CubaLI/CubaLIF neurons; snnc writes additions as "
        "summed edges. BatchNorm, ReLU, MaxPool2d, Concat, Reshape other than to 1-d and "
        "Elementwise other than add have no NIR form. Fold BatchNorm (fold-bn), convert ReLU ANNs "
        "(snnc convert), or replace the op; every such node is listed.",
        "nir 1.0.8 nir/ir/__init__.py (the serializable primitives)",
    ),
    Rule(
        "EXPORT-NIR-LOSSY",
        "a plain NIR reader will compute a node differently (warning)",
        "NIR's neurons fire on v > threshold, reset to v_reset in the same step, emit one spike "
        "and start at rest (nir/ir/neuron.py). A node that fires on >=, resets by subtraction or "
        "at the next step, emits several spikes, clamps the membrane, starts elsewhere, has a late "
        "input or quantized parameters is written as the nearest NIR neuron; snnc reads the exact "
        "node back from the file's metadata, other tools get the NIR approximation named here.",
        "nir 1.0.8 nir/ir/neuron.py (IF, LIF, CubaLIF equations)",
    ),
    Rule(
        "EXPORT-WRITE",
        "the export file cannot be written",
        "Writing failed (missing directory, no permission, disk full). The file is written to a "
        "temporary name and renamed only when complete, so an existing file at the path is left "
        "as it was. Choose a writable path.",
    ),
    # --- ANN to SNN conversion (snnc/convert_ann.py, snnc/passes/ann_to_snn.py) ------------------
    Rule(
        "CONVERT-OPTION",
        "a conversion option is out of range",
        "The percentile must lie in (0, 100] (100 is the maximum activation), the input encoding "
        "must be 'current' or 'rate', the input scale positive and the simulated steps at least "
        "one. Give a valid value; 99.9 is the percentile of Rueckauer et al. 2017.",
    ),
    Rule(
        "CONVERT-CALIB",
        "the calibration or evaluation data does not fit the model",
        "Thresholds are measured on samples [N, *input_shape] (no time axis) with finite values; "
        "rate coding needs non-negative inputs; the accuracy report needs one label per sample. "
        "The message gives the shape or range found; reshape or rescale the data.",
    ),
    Rule(
        "CONVERT-UNSUPPORTED",
        "the graph has an op that rate conversion cannot turn into spiking form",
        "Conversion replaces ReLUs by IF neurons and rescales the linear layers; an op that is not "
        "linear in the firing rates (an elementwise product or logic op) or a graph that already "
        "spikes has no converted form. Convert an ANN built from Linear/Conv, ReLU, pooling, "
        "BatchNorm, Flatten, Add and Concat.",
    ),
    Rule(
        "CONVERT-MAXPOOL",
        "max pooling of spike trains overestimates the pooled rate (warning)",
        "A max pool over spikes emits a spike whenever any input spikes, so its rate can exceed "
        "the largest input rate that the ANN's max stands for (Rueckauer et al. 2017, §2.5). "
        "Accuracy may drop; train the ANN with average pooling for a closer conversion.",
    ),
    Rule(
        "CONVERT-DEAD-LAYER",
        "a ReLU never activates on the calibration data (warning)",
        "Its threshold cannot be measured, so it is set to 1. Either the calibration samples do "
        "not exercise the layer, or the layer is dead in the trained ANN; calibrate on "
        "representative data or remove the layer.",
    ),
    Rule(
        "QUANT-INPUT-RANGE",
        "the range of a real-valued input is not known",
        "A real-valued input becomes integers of the target's input format, whose scale maps the "
        "input's range onto it (snnc/passes/quant_input.py). Without calibration data or a declared "
        "range, [0, 1] is assumed (images as torchvision's ToTensor gives them); data beyond it "
        "saturate, data in a much smaller range lose precision. Pass calibration data "
        "(snnc.compile(..., calib=X), snnc compile --calib X.npz) or the range "
        "(input_range=(lo, hi), --input-range LO,HI).",
        "the assumed range [0, 1]",
    ),
    Rule(
        "EXPORT-BN-FOLDED",
        "BatchNorm was folded into the neighbouring layer before export",
        "NIR has no BatchNorm primitive, so `snnc export --to nir` folds each eval-mode BatchNorm into "
        "the Conv/Linear before it (or the neuron after it) with the fold-bn pass. The exported "
        "graph computes the same function in real arithmetic; float sums may differ in the last bit. "
        "A BatchNorm that cannot be folded exactly stays and is reported as unsupported.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
"""Every rule by id."""
