"""The diagnostic rules of NIR reading and export (snnc/nir).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "FE-NIR-READ",
        "a NIR file or graph cannot be read",
        "The file is not an HDF5 file written by nir.write, or its node tree lacks what NIR's "
        "format needs (a 'type' per node, the graph's 'nodes' and 'edges', a node's fields), or an "
        "edge names a node that does not exist, or a node's values cannot be read as its NIR "
        "primitive's. Files whose data lies outside them (HDF5 external storage, external or soft "
        "links, virtual datasets) are refused too: reading them would copy local files into the "
        "graph. The message names the node. Export the model again with the library's NIR "
        "exporter and nir.write.",
        "nir 1.0.8 nir/serialization.py (read, write) and nir/ir/*.py (each primitive's fields)",
    ),
    Rule(
        "FE-NIR-TOO-LARGE",
        "a NIR file's datasets declare more than the memory limit",
        "Reading an HDF5 dataset allocates the shape it declares, whatever the file holds (unwritten "
        "chunks read as fill values, compressed chunks inflate), so a small file can declare "
        "terabytes. snnc sums the declared sizes of every dataset before NIR reads the file "
        "(snnc/nir/hdf5.py) and refuses past the memory limit. If the file is meant to be that "
        "large, raise the limit (SNNC_MAX_MEMORY / --max-memory).",
        "snnc/limits.py: 8 GiB by default",
    ),
    Rule(
        "FE-NIR-NORMALIZED",
        "the NIR reader changed something to make the graph readable (info)",
        "Real exporters write files that nir.read's type check rejects: neuron parameters as 0-d "
        "scalars, a batch axis in the Input shape, graphs without Input/Output nodes, cycles "
        "without a Delay (docs/environment.md §5, §8). snnc broadcasts scalars, drops the leading "
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
        "FE-NIR-PRODUCER",
        "a NIR file is read with its exporter's conventions, or could be (info)",
        "Each library's NIR exporter writes its neurons with known losses: SpikingJelly's v >= "
        "threshold as >, snnTorch's one-step-late subtract reset as v_reset = 0, sinabs' "
        "multi-spikes, subtract reset and >= lost with dt = 1, Norse's tau as dt/tau_inv. Given the "
        "producer, or recognising it from the parameter patterns its exporter leaves, snnc inverts "
        "the exporter and reads the neurons as the library computes them; what the file does not "
        "record takes the library's default, and the note says which. Where the file fits several "
        "exporters it is read with NIR's own semantics and the note names them. Pass producer= "
        "(--nir-producer) to choose, 'nir' for NIR's own semantics.",
        "snnc/nir/producers.py (each exporter's source, cited there)",
    ),
    Rule(
        "FE-NIR-PRODUCER-UNKNOWN",
        "the NIR producer is unknown or given for a source that is not NIR",
        "producer names the library whose exporter wrote a NIR file: spikingjelly, snntorch, sinabs "
        "or norse, or 'nir' for NIR's own semantics. It means nothing for PyTorch, ONNX or .snnc "
        "sources.",
    ),
    Rule(
        "FE-NIR-DT",
        "the NIR time step is invalid or given for a source that has none",
        "NIR states neurons in continuous time; snnc discretizes them with forward Euler steps of "
        "dt seconds (snnc/nir/primitives.py), so dt must be a positive number, and it means "
        "nothing for PyTorch, ONNX or .snnc sources. Give dt only for .nir models, e.g. dt=1e-4 "
        "(SpikingJelly's and snnTorch's exporters) or dt=1e-3 (Norse's).",
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
        "summed edges. BatchNorm, ReLU, Concat, Reshape other than to 1-d, Crop, Flip and Elementwise "
        "other than add have no NIR form, nor has max pooling of anything but spikes (written exactly "
        "as an OR) unless maxpool='avg' writes it as an average pool. Fold BatchNorm (fold-bn), "
        "convert ReLU ANNs (snnc convert), or replace the op; every such node is listed.",
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
        "EXPORT-NIR-MAXPOOL",
        "max pools of spikes were written as their exact OR (info)",
        "NIR has no max pooling primitive. A max over a window of spikes is an OR, so `snnc export` "
        "writes it as the window's sum pool followed by NIR's stateless Threshold(0.5), which every "
        "NIR reader computes exactly on the integer sums of spikes (snnc/passes/maxpool_to_or.py). "
        "Nothing to fix.",
        "nir 1.0.8 nir/ir/pooling.py (SumPool2d), nir/ir/threshold.py (Threshold)",
    ),
    Rule(
        "EXPORT-WRITE",
        "the export file cannot be written",
        "Writing failed (missing directory, no permission, disk full). The file is written to a "
        "temporary name and renamed only when complete, so an existing file at the path is left "
        "as it was. Choose a writable path.",
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
