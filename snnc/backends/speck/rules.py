"""Speck's hardware rules, each documented once (ARCHITECTURE §4) with where its limit comes from
and whether a SynSense document states it (spec.py's `Limit.cite`). The check of each rule is a
function of checks.py; snnc/diagnostics/rules.py collects this table with every area's.
"""

from snnc.backends.speck import spec
from snnc.diagnostics.rules import Rule

RULES = (
    Rule(
        "SPECK-OP-UNSUPPORTED",
        "the network uses an operation Speck has no hardware for",
        "Speck's cores run Conv2d → IAF → sum pooling, nothing else (docs/targets/speck.md §2.2). Linear "
        "layers run as convolutions, average pooling as sum pooling with the next weights rescaled, "
        "BatchNorm folded into the layer before it; max pooling, multiplications, concatenation, "
        "ReLU and other ops have no counterpart. Replace the operation or convert the network first.",
        "sinabs connectivity_specs.py::SupportedNodeTypes",
    ),
    Rule(
        "SPECK-LAYER-STRUCTURE",
        "a node does not fit the conv → IAF → pooling pipeline of a core",
        "Each core convolves the events it receives, integrates them in one IAF neuron per output and "
        "sends the spikes, each destination with its own sum pooling, to up to two cores. A convolution "
        "feeding anything but one IAF, a neuron not fed by a convolution, a layer adding raw input events "
        "to other layers' events, or several graph inputs cannot be placed. Restructure as the message says.",
        "sinabs connectivity_specs.py::VALID_SINABS_EDGE_TYPES (speck.md §2.2)",
    ),
    Rule(
        "SPECK-RECURRENCE",
        "the network is recurrent",
        "Speck (and sinabs' DynapcnnNetwork) run feed-forward networks. A connection back to an earlier "
        "layer is possible in hardware but can deadlock the chip and is not supported. Remove it.",
        "sinabs faqs/available_network_arch.md; nir_graph_extractor.py (self loops, cycles)",
    ),
    Rule(
        "SPECK-INPUT-EVENTS",
        "the network's input is not events",
        "Speck receives events: pixel events of its DVS or spikes sent by the host, each to one input "
        "neuron. A real-valued or integer input has no way onto the chip. Feed spike or count input "
        "(a float input is read as counts by the speck pipeline).",
    ),
    Rule(
        "SPECK-INPUT-POOLING",
        "the input is pooled before the first layer without the DVS layer",
        "Only the DVS pre-processing layer pools events before a core; host events go straight to a "
        "core. sinabs refuses a network that starts with pooling unless a DVS layer absorbs it. Compile "
        "with --dvs-input if the input comes from the sensor, or pool after the first layer.",
        "sinabs dynapcnn_layer_utils.py::consolidate_dvs_pooling (speck.md §2.5)",
    ),
    Rule(
        "SPECK-DVS-POOLING",
        "the DVS layer's pooling is not 1, 2 or 4 per axis, or differs between its destinations",
        "The DVS layer sum-pools by 1, 2 or 4 on each axis (x and y may differ), once for all its "
        "destinations. Pool the input by those sizes, once, before it branches.",
        spec.DVS_POOL_SIZES.cite(),
    ),
    Rule(
        "SPECK-CROP-FLIP-PLACEMENT",
        "a crop or flip is not one the DVS layer does",
        "Only the DVS pre-processing layer crops (its region of interest: origin and cut) and mirrors or "
        "transposes (mirror, mirror_diagonal) events, once, between the sensor and the layers it sends to; "
        "cores have no crop or flip, and host events go straight to a core. A crop or flip after a layer, on "
        "host input, or different for two layers reading the input cannot run. Crop and flip the sensor's "
        "events in a sinabs DVSLayer (crop, flip_x, flip_y, swap_xy) and compile with --dvs-input.",
        "[DS §3.2.3] event pre-processing pipeline; sinabs dvs_layer.py::DVSLayer (speck.md §2.5)",
    ),
    Rule(
        "SPECK-DVS-POOL-AFTER-CROP",
        "the input is pooled after it is cropped or mirrored",
        "The DVS layer pools the sensor's events first, then cuts its region of interest out of the pooled map "
        "and mirrors it. A pooling after the crop or flip has no place on the chip; sinabs raises ValueError "
        "for it. Pool in the DVS layer (sinabs DVSLayer pool=...) and give the crop in pooled coordinates.",
        "sinabs dynapcnn_layer_utils.py::consolidate_dvs_pooling (speck.md §2.5)",
    ),
    Rule(
        "SPECK-DVS-SIZE",
        "the DVS input is larger than the sensor",
        "Speck's sensor has 128x128 pixels and 2 polarities (1 when merged). A larger input cannot come "
        "from it; sinabs does not check this. Crop or pool the input to the sensor's size.",
        spec.DVS_SIZE.cite(),
    ),
    Rule(
        "SPECK-NEURON",
        "a neuron uses a feature Speck's IAF does not have",
        "A core's neuron integrates, fires when v >= threshold_high, and resets to 0 or subtracts the "
        "threshold in the same update; it has no leak (except a constant bias per slow-clock tick), no "
        "synaptic current and no second input. Leak and current are refused by quantization "
        "(QUANT-UNSUPPORTED); this rule names the other switches. Use sinabs IAFSqueeze or SpikingJelly IFNode.",
        "sinabs chips/dynapcnn.py (return_to_zero); [DS §3.2.4.6] (speck.md §4)",
    ),
    Rule(
        "SPECK-NEURON-SCALAR",
        "a layer's threshold or lower bound differs between neurons",
        "A core holds one threshold_high and one threshold_low for all its neurons (samna CNNLayerConfig; "
        "sinabs calls int() on them). Train with one threshold and one min_v_mem per layer.",
        "[DS §3.2.4.4]; sinabs chips/dynapcnn.py::get_dynapcnn_layer_config_dict (speck.md §2.1)",
    ),
    Rule(
        "SPECK-VMIN-UNSET",
        "a neuron has no lower bound (sinabs min_v_mem=None)",
        "sinabs quantizes a layer whose min_v_mem is None as if the lower bound were -32768 in float units, "
        "which forces a scale of at most 1: weights below 0.5 become 0 and small thresholds 0 (speck.md "
        "§3.3, §8). snnc refuses to write such a sinabs model (an error). For other libraries' neurons, "
        "which have no lower bound at all, the chip's membrane saturates at threshold_low = -32768 "
        "(a warning). Set min_v_mem (sinabs.from_model uses -1.0).",
        "sinabs chips/dynapcnn.py (threshold_low = -2^15); discretize.py",
    ),
    Rule(
        "SPECK-THRESHOLD-LOW",
        "a layer's lower bound quantizes to 0 or above",
        "threshold_low must be negative: 0 is a known silicon bug (use -1), and a positive bound would "
        "clamp every membrane above zero. Use a negative min_v_mem whose quantized value stays below 0.",
        spec.THRESHOLD_LOW_MAX.cite(),
    ),
    Rule(
        "SPECK-KERNEL-SQUARE",
        "a kernel is not square",
        "samna's kernel_size is one number: kernels are square (sinabs raises for others). A linear "
        "layer becomes a convolution whose kernel is its whole input map, so that map must be square.",
        "samna CNNLayerConfig.dimensions.kernel_size; sinabs chips/dynapcnn.py",
    ),
    Rule(
        "SPECK-KERNEL-SIZE",
        "a kernel is larger than 16x16",
        "Speck's kernels are at most 16x16. sinabs does not check it: a linear layer on a 17x17 map "
        "silently becomes a 17x17 kernel (speck.md §8). Use smaller kernels, or pool before a linear layer.",
        spec.MAX_KERNEL.cite(),
    ),
    Rule(
        "SPECK-STRIDE",
        "a stride is not 1, 2, 4 or 8",
        "Speck's convolution strides are 1, 2, 4 or 8 per axis; sinabs does not check it. Use one of them.",
        spec.STRIDES.cite(),
    ),
    Rule(
        "SPECK-PADDING",
        "padding is larger than 7",
        "Speck pads a convolution by 0 to 7 per axis; sinabs does not check it. Use at most 7.",
        spec.MAX_PADDING.cite(),
    ),
    Rule(
        "SPECK-DILATION",
        "a convolution is dilated",
        "samna has no dilation field: sinabs uses dilation for "
        "shapes but never writes it, so the chip would convolve undilated. Use dilation 1.",
        "samna CNNLayerConfig (no dilation field); speck.md §2.1 (inferred)",
    ),
    Rule(
        "SPECK-GROUPS",
        "a convolution is grouped or depthwise",
        "A core's kernel memory always holds a full "
        "in x out block; samna has no groups field. Use groups=1 (a block-diagonal weight computes the same).",
        "speck.md §2.1 (inferred)",
    ),
    Rule(
        "SPECK-CHANNELS",
        "a layer has more than 1024 output channels",
        "A core has at most 1024 output features (its neurons' channel address and its bias memory "
        "both end there). Reduce out_channels to 1024 or split the layer.",
        spec.MAX_CHANNELS.cite(),
    ),
    Rule(
        "SPECK-INPUT-SIZE",
        "a layer reads a map larger than 128x128",
        "A core's input is at most 128x128; sinabs does not check it. Pool before the layer.",
        spec.MAX_INPUT_SIZE.cite(),
    ),
    Rule(
        "SPECK-NEURON-MAP",
        "a convolution's output map is larger than 64x64",
        "A core's neurons form at most "
        "a 64x64 map per channel (the conv output, before pooling). Use a stride or pool before the layer.",
        spec.MAX_NEURON_MAP.cite(),
    ),
    Rule(
        "SPECK-POOL-WINDOW",
        "a sum pool overlaps or pads",
        "Speck pools by remapping addresses: windows do "
        "not overlap (stride = kernel) and are not padded (sinabs raises for stride != kernel).",
        "sinabs dynapcnn_layer_utils.py::extract_pooling_from_module; [DS §2.4]",
    ),
    Rule(
        "SPECK-POOL-SQUARE",
        "a destination's pooling is not square",
        "Each destination of a core pools by one size on both axes (sinabs raises for others). Pool squarely.",
        "sinabs chips/dynapcnn.py (collapse_pair); [DS §2.4]",
    ),
    Rule(
        "SPECK-POOL-SIZE",
        "a destination pools by other than 1, 2 or 4",
        "A core's destination pools by 1, 2 "
        "or 4 (the product of chained pools counts); sinabs accepts 3 unchecked (speck.md §2.1).",
        spec.POOL_SIZES.cite(),
    ),
    Rule(
        "SPECK-POOL-REMAINDER",
        "pooling leaves a remainder of the map",
        "Shapes follow floor division "
        "(sinabs get_output_shape): pooling a 17-wide map by 2 feeds an 8-wide layer. What the chip does "
        "with the events of the last row or column is not documented. Choose sizes the pooling divides.",
        "sinabs dynapcnn_layer.py::get_output_shape (speck.md §2.3, inferred)",
    ),
    Rule(
        "SPECK-EXIT-POOLING",
        "an output is read after pooling",
        "The chip's monitor shows a core's events at "
        "their un-pooled addresses (sinabs chips/dynapcnn.py::monitor_layers warns the same), so pooling "
        "towards an output must happen on the host. snnc's simulations pool as the graph does.",
        "sinabs chips/dynapcnn.py::monitor_layers",
    ),
    Rule(
        "SPECK-MONITOR",
        "--monitor names something the chip cannot monitor",
        "The monitor reports the events of chosen cores, and of the DVS layer with `dvs` (sinabs "
        "chips/dynapcnn.py::monitor_layers). A name that is no layer of the network, or `dvs` "
        "without a DVS layer (no --dvs-input and none in the model), is an error rather than a "
        "monitor silently left off; a monitored DVS layer that pools is a warning, as its events "
        "are reported before pooling.",
        "sinabs chips/dynapcnn.py::monitor_layers",
    ),
    Rule(
        "SPECK-FANOUT",
        "a core or the DVS layer sends to more than 2 layers",
        "Each core and the DVS layer "
        "has 2 destination slots; sinabs crashes with an IndexError on a third. Merge branches, or send to "
        "at most two layers.",
        spec.MAX_DESTINATIONS.cite(),
    ),
    Rule(
        "SPECK-CORES",
        "the network has more than 9 layers",
        "Each layer (conv → IAF → pooling) takes one of Speck's 9 cores. Use at most 9 layers.",
        spec.CORES.cite(),
    ),
    Rule(
        "SPECK-MEMORY-KERNEL",
        "a layer's kernel memory exceeds every core's",
        "Kernel memory is c·2^(clog2(kh·kw)"
        " + clog2(f)) words; the largest cores (5, 6) hold 65,536. Reduce the channels or the kernel; the hint "
        "gives the largest out_channels that fits.",
        spec.KERNEL_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-NEURON",
        "a layer's neuron memory exceeds every core's",
        "Neuron memory is "
        "f·2^(clog2(Ho) + clog2(Wo)) words; the largest cores (0-2) hold 65,536. Pool or stride before the "
        "layer, or reduce out_channels.",
        spec.NEURON_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-BIAS",
        "a layer's bias memory exceeds every core's",
        "A layer with a bias (or a folded BatchNorm) needs one leak word per output channel; every "
        "core holds 1,024. Reduce out_channels or drop the bias.",
        spec.BIAS_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-PAIRING",
        "no core holds both a layer's kernel and neuron memory",
        "Cores trade kernel "
        "memory for neuron memory (16/64, 32/32, 64/16 Ki words): a layer needing much of both fits none. "
        "The message lists every core; shrink the side the hint names.",
        spec.KERNEL_MEMORY.cite(),
    ),
    Rule(
        "SPECK-MEMORY-ASSIGNMENT",
        "every layer fits some core, but they cannot all be placed at once",
        "Layers are matched to cores as sinabs does (Edmonds-Karp, speck.md §1.3); when several layers "
        "compete for the few cores they fit, no assignment exists (sinabs: 'No valid mapping found'). The "
        "message carries each layer's needs against each core's capacity. Make a layer fit more cores.",
        "sinabs mapping.py::get_valid_mapping",
    ),
    Rule(
        "SPECK-CORE-OVERRIDE",
        "a --cores entry is unusable",
        "--cores layer=core,... (cores={...}) fixes "
        "layers to cores: the names must be layers (their conv/linear module or neuron), the cores 0..8, one "
        "layer per core, and each layer must fit its core. Unnamed layers are matched to the remaining cores.",
        "sinabs dynapcnn_network.py::_make_config (layer2core_map)",
    ),
    Rule(
        "SPECK-BANDWIDTH",
        "a core's synaptic operations per second exceed the limit on the calibration data",
        "Each input event of a core updates every output neuron whose receptive field holds it; a core "
        "above its throughput stalls and then behaves unpredictably (sinabs docs/speck/faqs/"
        "tips_for_training.md). SynSense publishes no number, so the limit is yours (--max-sops-per-core); "
        "the count is exact on the --calib data, each step lasting --seconds-per-step, and the message names the "
        "core, its layer and the worst step. Lower the input rate or the layer's fan-out (channels, kernel).",
        "user-given (speck.md §4: the bandwidth is not published)",
    ),
    Rule(
        "SPECK-CONFIG",
        "a Speck configuration file cannot be used",
        "snnc reads .speck.json files back (snnc simulate, to_samna) as untrusted input: the file's size, "
        "every field's type and range, every array's shape and the memory it implies on its core are "
        "checked before anything is built, and the cores' destinations must fit each other's shapes and "
        "form no cycle. The message names the JSON path. Use a file written by snnc compile --target speck.",
        "docs/targets/speck.md §9",
    ),
    Rule(
        "SPECK-SAMNA",
        "the configuration cannot be converted to samna's object",
        "to_samna needs SynSense's samna, which snnc never installs or requires; or the installed samna "
        "does not know a field of the file (another samna version than sinabs 3.1.3 targets). Install samna "
        "to program a chip, or hand the .speck.json to your own tools.",
    ),
    Rule(
        "SPECK-PLACEMENT",
        "where a layer is placed and how much of its core it uses",
        "One note per layer: "
        "its core, its kernel, neuron and bias words against the core's, and every core it would fit.",
        spec.KERNEL_MEMORY.cite(),
    ),
)
