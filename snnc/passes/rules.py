"""The diagnostic rules of the passes (snnc/passes): the pass driver, the rewrites, the
spike-driven check and quantization.

Each rule is documented once, here, beside the code that reports it; snnc/diagnostics/rules.py
collects every area's table (see there for the conventions).
"""

from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "PASS-BROKE-GRAPH",
        "a pass produced a graph that fails the verifier",
        "Every pass promises a verified graph in and a verified graph out. With verification after "
        "each pass enabled (tests, --verify-each), a pass whose output fails names itself and the "
        "passes run before it, followed by the verifier's errors. This is a bug in snnc, not in the "
        "model: please report it together with the model.",
    ),
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
        "PASS-MERGE-RESCALE",
        "a merge adds events whose average pooling differs per input; the next layer gets sinabs' rescale",
        "consolidate-pool-scales moves the factor 1/(kh·kw) an average pool leaves behind into the next "
        "layer's weights. Where inputs pooled with different factors merge into one layer (a sum of event "
        "streams read by one set of weights), no single factor is exact; sinabs then scales the layer by "
        "round(mean(distinct factors)·0.5, 2) (e.g. 0.31 for 1/4 and 1), and so does snnc, to configure the "
        "chip as sinabs does. The network computes something else than the trained float model. Use sum "
        "pooling (sinabs SumPool2d) before a merge, or the same pooling on every merged input, and retrain.",
        "sinabs backend/dynapcnn/weight_rescaling_methods.py::rescale_method_1 (docs/targets/speck.md §2.3)",
    ),
    Rule(
        "PASS-INPUT-EVENTS",
        "a float graph input is read as event counts",
        "An event chip takes events only, so input-events declares a real-valued (float) input as event "
        "counts: each value must be a non-negative integer, the number of events at that input neuron in "
        "that time step. Models are loaded with a float input unless told otherwise; give "
        "--input-dtype spike (input_dtype='spike') to declare spike input and drop this note.",
    ),
    Rule(
        "PASS-ARITHMETIC-NARROWER",
        "a target's pipeline set an arithmetic narrower than the one the graph was quantized for",
        "set-arithmetic gives a quantized graph the registers a target's time-stepped model computes "
        "with (Speck: a step's summed events held before firing). It only widens: narrower registers or "
        "another decay shift could lose quantized values, so the graph keeps its arithmetic. This is a "
        "bug in the target's pipeline, not in the model; please report it.",
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
        "PASS-SUMPOOL-NOT-FOLDED",
        "a sum pool cannot be folded into the next layer's weights",
        "fold-sumpool merges a sum pool into the one Conv2d, or the one Linear after a Flatten, "
        "that reads it. It keeps the pool when something else reads it, and when the "
        "convolution's zero padding would stand where the folded kernel reads real inputs (padding "
        "before overlapping windows, or padding after a pooled map whose windows dropped input "
        "rows). On Loihi such a pool needs --pooling graded --emit lava; or change the padding or "
        "the input size.",
    ),
    Rule(
        "PASS-SUMPOOL-NOT-CONVERTED",
        "a sum pool read by neurons has no convolution of the same shape",
        "sumpool-to-conv turns a sum pool feeding neurons into a depthwise convolution of ones. "
        "With ceil_mode, a last window overhanging the input gives an output size no "
        "convolution has. Use ceil_mode=False or an input size the windows divide.",
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
        "the QuantSpec's weight bits and the Arithmetic's decay_shift (snnc/passes/quantize/spec.py, from "
        "docs/targets/speck.md §3.1 and loihi.md §1.2, §2.1)",
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
        "QUANT-INPUT-RANGE",
        "the range of a real-valued input is not known",
        "A real-valued input becomes integers of the target's input format, whose scale maps the "
        "input's range onto it (snnc/passes/quantize/inputs.py). Without calibration data or a declared "
        "range, [0, 1] is assumed (images as torchvision's ToTensor gives them); data beyond it "
        "saturate, data in a much smaller range lose precision. Pass calibration data "
        "(snnc.compile(..., calib=X), snnc compile --calib X.npz) or the range "
        "(input_range=(lo, hi), --input-range LO,HI).",
        "the assumed range [0, 1]",
    ),
)
