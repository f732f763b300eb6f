"""The diagnostic rules of ANN to SNN conversion (snnc/driver/convert.py, snnc/passes/ann_to_snn.py).

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
)
