"""The diagnostic rules of the flows: ANN to SNN conversion (snnc/driver/convert.py,
snnc/passes/ann_to_snn.py) and validation (snnc/driver/validate.py).

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
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
        "VALIDATE-TOLERANCE",
        "two stages of validation disagree more than the tolerance allows",
        "snnc validate runs the same input through the source model, the IR's float simulation, the "
        "integer simulation of the compiled graph and the target's own model, and compares each with "
        "the one before: per layer the spike mismatch (share of spikes not in common), the firing-rate "
        "error and the membrane error relative to the threshold; per stage the share of samples whose "
        "decision changes and, with labels, the drop in accuracy. The message names the layer, the "
        "stages and the measured value; the report's first divergence shows where and why they part. "
        "Fix the cause it names (e.g. more bits, a threshold that rounds exactly, a smaller weight range) "
        "or, if the difference is acceptable, raise the tolerance (--tolerance key=value).",
        "the user's --tolerance (defaults: decisions 0.05, accuracy 0.02, rate 0.05; spikes and membrane unchecked)",
    ),
    Rule(
        "VALIDATE-TOLERANCE-OPTION",
        "a validation tolerance is unknown or not a non-negative number",
        "The tolerances are spikes, decisions, accuracy, rate and membrane, each a non-negative "
        "number or 'none' (not checked), written key=value,key=value on the command line.",
    ),
    Rule(
        "VALIDATE-DATA",
        "the validation data or labels do not fit the model",
        "validate runs models with one input on one array [T, B, *input shape] (time-major, as "
        "snnc simulate takes it) and takes one integer class label per sample; the batch size must be "
        "at least one. The message gives what was found.",
    ),
    Rule(
        "VALIDATE-NO-TARGET-MODEL",
        "the target has no execution model of its own in validate yet (warning)",
        "A chip backend can declare how the chip itself runs a compiled graph (an event-driven model, "
        "the vendor's simulator), which validate then compares with snnc's integer simulation. This "
        "target has not declared one, so validate compared the source, the IR and the integer "
        "simulation only; the integer simulation is what snnc's lowering computes for the target.",
    ),
)
