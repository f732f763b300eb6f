"""The diagnostic rules of loading models: PyTorch models, pickles, ONNX (snnc/frontend).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
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
        "when loaded. snnc reads .pt files with its own restricted unpickler: names resolve only to "
        "exact allowlisted objects (the SNN libraries' and torch.nn's layer classes, the libraries' "
        "pure functions, the torch objects a checkpoint needs), classes are rebuilt without calling "
        "them, and only a few listed functions are called, after their arguments are checked. The "
        "message names the refused global or call. Load a file you trust with trust_pickle=True "
        "(--trust-pickle), or build the model in code and load its state dict.",
        "the allowlist in snnc/frontend/allowlist.py and snnc/frontend/unpickler.py",
    ),
    Rule(
        "FE-TOO-LARGE",
        "loading or tracing a model would pass the memory limit",
        "A model file states the sizes of its tensors and an input shape states the size of the "
        "example snnc runs the model on; both are checked before memory is allocated: the "
        "checkpoint's storages (and the full size of views whose elements share memory) against "
        "the memory limit, and, while the model runs once to be traced, every operation's result "
        "(snnc/frontend/guard.py). Check the input shape and the model; if the sizes are meant, "
        "raise the limit (SNNC_MAX_MEMORY / --max-memory).",
        "snnc/limits.py: 8 GiB by default",
    ),
    Rule(
        "FE-TENSOR-LAYOUT",
        "a parameter in a model file is a view whose elements share memory",
        "torch.save stores each tensor as a view (offset, sizes, strides) of a storage. A trained "
        "layer's weights never have a stride of 0 or overlapping rows, but a crafted file can make "
        "a parameter of 10^9 x 8 elements out of 8 stored numbers, which costs its full size as "
        "soon as it is copied. Such parameters are refused; save the model from the trained "
        "network again.",
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
        "The factory ('pkg.module:function' or 'path/to/file.py:function') is imported, which runs "
        "that code, and called to build the model; the module, file or function was not found, or "
        "what it returned is not a torch.nn.Module. The current directory is importable, as with "
        "`python -m`; a .py file's own directory is too. Check the spelling and that the function "
        "returns the model.",
    ),
    Rule(
        "FE-WEIGHTS",
        "a state dict does not load into the model built by the factory",
        "The weights file is damaged, holds more than tensors, or its keys and shapes do not match "
        "the architecture the factory built. Use the state dict saved from the same architecture "
        "(model.state_dict()).",
    ),
    Rule(
        "FE-WEIGHTS-STATE",
        "a state dict holds run-time state, which is left out (info)",
        "A state dict saved after a forward pass holds the neurons' state (sinabs' v_mem and i_syn, "
        "shaped by that batch) where a freshly built model has empty buffers. State is not a weight: "
        "snnc runs every sequence from a fresh state, so these keys are left out. Nothing to fix.",
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
        "FE-INPUT-TIME",
        "the requested input time is unknown",
        "input_time says whether the model's input is a 'sequence' ([T, B, ...] or what the model's "
        "layout takes) or 'static' (one frame per sample that the model repeats over its time steps "
        "itself). Choose one of the two, or leave it unset to let snnc find out.",
    ),
    Rule(
        "FE-TIME-LAYOUT",
        "the graph's time layout differs from how the model is called (info)",
        "snnc's graphs take time-major data [T, B, *shape] and output every step. The note says how "
        "the model differs: it reads a static input (pass one frame [B, *shape], held for the steps "
        "the model makes, or [T, B, *shape]); it reads its input batch-first (transpose the data); "
        "it returns a mean or sum over time (reduce the simulated output the same way); it returns "
        "a neuron's state (record it in the simulation). Nothing to fix.",
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
        "approximated (ARCHITECTURE §2.2). Modules without a converter are traced through down to "
        "the layers, neurons and torch operations they call; a library neuron without one, or an "
        "operation no converter handles, is reported once per module, naming the module path, the "
        "operations and the file and line of the call. Replace it with a supported one, or "
        "register a converter for it.",
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
    Rule(
        "FE-ONNX-READ",
        "an ONNX file cannot be read",
        "The file is not an ONNX protobuf (truncated, another format), or a node reads a tensor "
        "nothing computes, or a graph output is computed by no node. Export the model again with "
        "torch.onnx.export; snnc reads the file with the onnx package and never runs it.",
        "the ONNX IR specification (onnx/docs/IR.md): graph inputs, initializers, node inputs",
    ),
    Rule(
        "FE-SOURCE-RUN",
        "the model itself cannot be run on the validation data",
        "snnc validate runs the source model as its library does, in the time layout the library "
        "implies (one step per call, the whole sequence, sinabs' [B*T, ...] squeeze layout, or "
        "batch-first). Its forward failed on the data, or a sinabs squeeze layer was built for "
        "another number of steps or samples than the data have, so its reshape would mix samples. "
        "Give data whose per-sample shape, steps and batch fit the model.",
        "sinabs layers/reshape.py: SqueezeMixin.squeeze_forward (reshape by batch_size or num_timesteps)",
    ),
    Rule(
        "FE-SOURCE-OUTPUT",
        "a module's outputs in the source run cannot be lined up with the graph (info)",
        "The source stage of snnc validate keeps what each converted module returns, by module path, "
        "and puts it back into [T, B, *shape]. A module called a different number of times than there "
        "are steps (one module shared by two call sites) or returning another shape cannot be lined "
        "up; validate then compares the other stages at that layer and says so.",
    ),
)
