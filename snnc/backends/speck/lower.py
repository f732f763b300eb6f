"""The Speck configuration file (docs/targets/speck.md §9): the whole chip in samna's field names.

`build_config(graph, options)` turns a lowered graph (grouped into layers, grouping.py; placed,
placement.py) into one JSON object; `write(config, ...)` writes it atomically. Every value below is
what sinabs 3.1.3 writes into samna's `SpeckConfiguration` (`chips/dynapcnn.py::
DynapcnnConfigBuilder.build_config`), field by field (speck.md §5):

    samna field (cnn_layers[core])        value                                  sinabs source
    dimensions.input_shape.size.{x,y}     input W, H of the layer                 get_dynapcnn_layer_config_dict
    dimensions.input_shape.feature_count  input channels C                        (layer.in_shape)
    dimensions.output_shape.*             conv output Wo, Ho, f (before pooling)  (get_neuron_shape)
    dimensions.padding.{x,y}, stride.{x,y}  conv padding[1], [0]; stride[1], [0]
    dimensions.kernel_size                k (square)
    destinations[j].{layer,enable,pooling}  core of the j-th non-exit destination, True, its pooling
    weights                               [f][c][x][y]: torch (f, c, y, x) with the last axes swapped
    biases                                [f], zeros without a bias
    leak_enable                           any(bias != 0)
    return_to_zero                        True for a zero reset (MembraneReset), False for subtract
    threshold_high                        the quantized threshold
    threshold_low                         the quantized lower bound, -32768 without one
    monitor_enable                        True on layers with an exit (set by monitor_layers)
    neurons_initial_value                 [f][x][y]: the initial state (zeros if never set)

    dvs_layer (write_dvs_layer_config, DVSLayer.get_config_dict): merge, mirror.{x,y} = flip_x,
    flip_y, mirror_diagonal = swap_xy, cut.{x,y} = (right − 1, bottom − 1), origin.{x,y} = (left,
    top) of the crop in pooled coordinates (dvs.py), pooling.{x,y}, pass_sensor_events,
    destinations[j].{layer,enable}

Fields sinabs never writes keep samna's defaults in sinabs' configs; snnc writes them explicitly
with the values below (samna's defaults are not published; these are the documented "off" states,
[DS §3.2.4.2-3, §3.2.5]): feature_shift 0, output_decimator_enable False, output_decimator_interval
0, input_congestion_balancer_enable False, leak_internal_slow_clk_enable False, readout disabled,
dvs_filter disabled. An unused core is an inert 1x1 core with both destinations disabled. Each used
core names the user's modules it implements (`source`: weight, neuron, pooling per destination,
and the BatchNorms folded into it); `placement` lists the cores in sinabs'
layer order with their memory and the cores they fit. A configured DVS layer names its modules
(`source`) and the shape of the events it takes (`input_shape`, as a core's: the region of
interest alone does not say how large the sensor image is).
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from snnc.atomic import write_atomically
from snnc.backends.output import artefact_path
from snnc.backends.speck import spec
from snnc.backends.speck.grouping import Layer, Network
from snnc.backends.speck.placement import Placement
from snnc.ir.graph import Graph

FORMAT, VERSION = "snnc.speck", 1
MIN_STATE = -(2 ** (spec.STATE_BITS.value - 1))  # threshold_low without a lower bound (chips/dynapcnn.py)


def _xy(x: int, y: int) -> dict[str, int]:
    return {"x": int(x), "y": int(y)}


def _shape(size_x: int, size_y: int, features: int) -> dict[str, Any]:
    return {"size": _xy(size_x, size_y), "feature_count": int(features)}


def _slot(layer: int = 0, enable: bool = False, pooling: int = 1) -> dict[str, Any]:
    return {"layer": int(layer), "enable": bool(enable), "pooling": int(pooling), "feature_shift": 0}


UNWRITTEN = {
    "output_decimator_enable": False,
    "output_decimator_interval": 0,
    "input_congestion_balancer_enable": False,
    "leak_internal_slow_clk_enable": False,
}
"""CNN layer fields sinabs never writes, at their "off" values ([DS §3.2.4.2-3])."""

READOUT = {
    "enable": False,
    "readout_configuration_sel": 0,
    "output_mode_sel": 0,
    "output_neuron_num": 0,
    "threshold": 0,
    "override_threshold_max": False,
    "low_pass_filter_disable": False,
    "low_pass_filter32_not16": False,
    "internal_slow_clk": False,
    "monitor_enable": False,
    "readout_pin_monitor_enable": False,
}
"""The readout layer, disabled: sinabs never configures it (speck.md §5; field names [DS §3.2.2])."""

DVS_FILTER = {
    "enable": False,
    "filter_size": _xy(0, 0),
    "hot_pixel_filter_enable": False,
    "low_pass_mode_enable": False,
    "threshold": 0,
    "internal_slow_clk": False,
}
"""The DVS noise filter, disabled (field names [DS §3.2.2, §3.2.3.5])."""


def unused_core() -> dict[str, Any]:
    """An inert core: 1x1x1 in and out, zero weights, both destinations off, not monitored."""
    return {
        "dimensions": {
            "input_shape": _shape(1, 1, 1),
            "output_shape": _shape(1, 1, 1),
            "padding": _xy(0, 0),
            "stride": _xy(1, 1),
            "kernel_size": 1,
        },
        "destinations": [_slot(), _slot()],
        "weights": [[[[0]]]],
        "biases": [0],
        "leak_enable": False,
        "return_to_zero": False,
        "threshold_high": 1,
        "threshold_low": -1,
        "monitor_enable": False,
        "neurons_initial_value": [[[0]]],
        **UNWRITTEN,
        "source": None,
    }


def _ints(array: np.ndarray) -> list:
    return np.asarray(array).astype(np.int64).tolist()


def _scalar(value: np.ndarray) -> int:
    return int(np.ravel(value)[0])


def core_config(layer: Layer, cores: dict[str, int | None], monitored: bool) -> dict[str, Any]:
    conv, neuron = layer.conv.op, layer.neuron.op
    f, c, kh, _ = conv.weight.shape  # type: ignore[attr-defined]
    _, ho, wo = layer.conv.type.shape
    _, h, w = layer.in_shape
    bias = _channel_bias(layer)
    state = np.broadcast_to(np.asarray(neuron.v_init).reshape(_param_shape(neuron.v_init, f)), (f, ho, wo))  # type: ignore[attr-defined]
    slots = [_slot(cores[d.layer], True, d.pooling[0]) for d in layer.to_layers]  # type: ignore[index]
    return {
        "dimensions": {
            "input_shape": _shape(w, h, c),
            "output_shape": _shape(wo, ho, f),
            "padding": _xy(conv.padding[1], conv.padding[0]),  # type: ignore[attr-defined]
            "stride": _xy(conv.stride[1], conv.stride[0]),  # type: ignore[attr-defined]
            "kernel_size": int(kh),
        },
        "destinations": [*slots, _slot(), _slot()][:2],
        "weights": _ints(np.swapaxes(conv.weight, 2, 3)),  # type: ignore[attr-defined]
        "biases": _ints(bias),
        "leak_enable": bool(np.any(bias != 0)),
        "return_to_zero": neuron.reset == "zero",  # type: ignore[attr-defined]
        "threshold_high": _scalar(neuron.threshold),  # type: ignore[attr-defined]
        "threshold_low": MIN_STATE if neuron.v_min is None else _scalar(neuron.v_min),  # type: ignore[attr-defined]
        "monitor_enable": monitored,
        "neurons_initial_value": _ints(np.swapaxes(state, 1, 2)),
        **UNWRITTEN,
        "source": {
            "weight": layer.conv.source,
            "neuron": layer.neuron.source,
            "pooling": [[p.source for p in d.pools] for d in layer.to_layers],
            "folded": list(dict.fromkeys((*layer.conv.folded, *layer.neuron.folded))),  # BatchNorms (fold-bn)
        },
    }


def _channel_bias(layer: Layer) -> np.ndarray:
    """The core's leak word per channel: the convolution's bias plus a bias the neuron carries (both
    in state units; the neuron's is one value per channel, SPECK-NEURON-SCALAR)."""
    f, ho, wo = layer.conv.type.shape
    conv, neuron = layer.conv.op, layer.neuron.op
    bias = np.zeros(f, np.int64) if conv.bias is None else conv.bias.astype(np.int64)  # type: ignore[attr-defined]
    extra = np.asarray(neuron.bias)  # type: ignore[attr-defined]
    per_channel = extra.reshape(-1, 1, 1) if extra.ndim == 1 else extra.reshape(_param_shape(extra, f))
    return bias + np.broadcast_to(per_channel, (f, ho, wo)).reshape(f, -1)[:, 0].astype(np.int64)


def _param_shape(value: np.ndarray, channels: int) -> tuple[int, ...]:
    """A neuron parameter's shape aligned with the (f, Ho, Wo) map: scalar, (f,) per channel, or full."""
    value = np.asarray(value)
    return (channels, 1, 1) if value.ndim == 1 else value.shape


def dvs_config(net: Network, cores: dict[str, int | None], dvs_input: bool, monitored: bool) -> dict[str, Any]:
    """The DVS layer: configured when the input comes from the sensor or the model has a DVS layer
    (sinabs then configures it with the pixel array off unless dvs_input, `DynapcnnNetwork`),
    else passing nothing. `monitored`: its events are reported too (`--monitor dvs`)."""
    stage = net.input
    if stage is None or not (dvs_input or stage.dvs_layer):
        return {
            "pass_sensor_events": False,
            "merge": False,
            "pooling": _xy(1, 1),
            "origin": _xy(0, 0),
            "cut": _xy(127, 127),
            "mirror": {"x": False, "y": False},
            "mirror_diagonal": False,
            "on_channel": True,
            "off_channel": True,
            "monitor_enable": False,
            "raw_monitor_enable": False,
            "destinations": [{"layer": 0, "enable": False}, {"layer": 0, "enable": False}],
            "source": [],
        }
    channels, height, width = stage.node.type.shape
    py, px = stage.pooling
    view = stage.view
    slots = [{"layer": int(cores[name]), "enable": True} for name in stage.layers]  # type: ignore[arg-type]
    return {
        "pass_sensor_events": dvs_input,
        "merge": channels == 1,  # sinabs inserts DVSLayer(merge_polarities = C == 1)
        "pooling": _xy(px, py),
        "origin": _xy(view.left, view.top),
        "cut": _xy(view.right - 1, view.bottom - 1),  # the inclusive end of the region, in the pooled map
        "mirror": {"x": view.flip_x, "y": view.flip_y},
        "mirror_diagonal": view.swap_xy,
        "on_channel": True,
        "off_channel": True,
        "monitor_enable": monitored,
        "raw_monitor_enable": False,
        "destinations": [*slots, {"layer": 0, "enable": False}, {"layer": 0, "enable": False}][:2],
        "input_shape": _shape(width, height, channels),
        "source": list(dict.fromkeys(n.source for n in stage.chain)),
    }


MONITOR_WORDS = ("exit", "all", "none", "dvs")
"""--monitor's words besides layer names (sinabs chips/dynapcnn.py: monitor_layers, `_make_config`)."""


def monitored_layers(net: Network, monitor: tuple[str, ...] | None) -> set[str]:
    """The layers whose monitor is on: sinabs' default is every layer with an exit (`_make_config`).
    Names that match no layer are reported by checks.py (SPECK-MONITOR), not silently dropped."""
    exits = {layer.name for layer in net.layers if layer.exits}
    if not monitor or monitor == ("exit",):
        return exits
    if "all" in monitor:
        return {layer.name for layer in net.layers}
    keys = monitor_keys(net)
    return {keys[m] for m in monitor if m in keys} | (exits if "exit" in monitor else set())


def monitor_keys(net: Network) -> dict[str, str]:
    """Every name --monitor accepts for a layer (the core's layer name, its neuron, its module)."""
    return {k: layer.name for layer in net.layers for k in (layer.name, layer.neuron.name, layer.conv.source)}


def build_config(graph: Graph, net: Network, placed: Placement, options: Any) -> dict[str, Any]:
    cores = placed.cores
    monitored = monitored_layers(net, options.monitor)
    cnn_layers = [unused_core() for _ in range(spec.CORES.value)]
    for layer in net.layers:
        cnn_layers[cores[layer.name]] = core_config(layer, cores, layer.name in monitored)  # type: ignore[index]
    return {
        "format": FORMAT,
        "version": VERSION,
        "chip": options.chip,
        "graph": graph.name,
        "cnn_layers": cnn_layers,
        "dvs_layer": dvs_config(net, cores, options.dvs_input, "dvs" in (options.monitor or ())),
        "readout": dict(READOUT),
        "dvs_filter": dict(DVS_FILTER),
        "factory_config": {},
        "placement": [
            {
                "core": cores[layer.name],
                "layer": index,
                "source": cnn_layers[cores[layer.name]]["source"],  # type: ignore[index]
                "memory": placed.memory[layer.name].as_dict(),
                "fits_cores": list(placed.fits[layer.name]),
            }
            for index, layer in enumerate(net.layers)
        ],
    }


def dumps(config: dict[str, Any]) -> bytes:
    """Deterministic JSON: objects one key per line (small objects of plain values on one line),
    numeric arrays one innermost 2-d block per line (a kernel's [x][y] block, a state's [x][y] map),
    so that a changed weight is a one-line diff."""
    return (_dump(config, 0) + "\n").encode("utf-8")


def _dump(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not any(isinstance(v, (dict, list)) for v in value.values()) and len(value) <= 4:
            return json.dumps(value, separators=(", ", ": "))
        items = [f"{inner}{json.dumps(k)}: {_dump(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "[\n" + ",\n".join(inner + _dump(v, depth + 1) for v in value) + "\n" + pad + "]"
    if isinstance(value, list) and _rank(value) > 2:
        return _numbers(value, depth)
    return json.dumps(value, separators=(",", ":"))


def _rank(value: Any) -> int:
    rank = 0
    while isinstance(value, list) and value:
        value, rank = value[0], rank + 1
    return rank


def _numbers(value: list, depth: int) -> str:
    """A nested list of integers of rank > 2: one innermost 2-d block per line."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if _rank(value) == 3:
        rows = (inner + "[" + ",".join("[" + ",".join(map(str, row)) + "]" for row in block) + "]" for block in value)
    else:
        rows = (inner + _numbers(v, depth + 1) for v in value)
    return "[\n" + ",\n".join(rows) + "\n" + pad + "]"


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Without the cyclic garbage collector: a chip's configuration is some 10^5 small lists, whose
    creation would trigger collections that scan all of them again (measured: 1.6x the time of the
    9-layer benchmark, benchmarks/bench_speck_compile.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write(config: dict[str, Any], report: str, graph: Graph, out_dir: Path) -> dict[str, Path]:
    """`<name>.speck.json` and `<name>.speck.txt` (the placement and memory report) in `out_dir`,
    and the lowered graph `<name>.speck.snnc`; every byte is built before the first file is written."""
    from snnc.ir import serialize

    files = {
        "config": (artefact_path(out_dir, graph.name, "speck.json"), dumps(config)),
        "report": (artefact_path(out_dir, graph.name, "speck.txt"), report.encode("utf-8")),
        "graph": (artefact_path(out_dir, graph.name, "speck.snnc"), serialize.dumps(graph)),
    }
    for path, data in files.values():
        write_atomically(path, data, rule="IO-WRITE")
    return {name: path for name, (path, _) in files.items()}


def report(config: dict[str, Any]) -> str:
    """The placement and memory report: per layer its core, its memory against the core's, the
    cores it fits, where its events go and whether it is monitored."""
    rows = [("layer", "modules", "core", "kernel", "neuron", "bias", "fits cores", "sends to", "monitor")]
    caps = spec.capacities()
    for entry in config["placement"]:
        core = entry["core"]
        cfg = config["cnn_layers"][core]
        mem, cap = entry["memory"], caps[core]
        sends = [f"core {d['layer']} (pool {d['pooling']})" for d in cfg["destinations"] if d["enable"]]
        src = entry["source"]
        rows.append(
            (
                str(entry["layer"]),
                " → ".join([src["weight"], src["neuron"]]),
                str(core),
                f"{mem['kernel']:,}/{cap.kernel:,}",
                f"{mem['neuron']:,}/{cap.neuron:,}",
                f"{mem['bias']:,}/{cap.bias:,}",
                ",".join(map(str, entry["fits_cores"])),
                ", ".join(sends) or "-",
                "yes" if cfg["monitor_enable"] else "no",
            )
        )
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    dvs = config["dvs_layer"]
    if dvs["pass_sensor_events"]:
        to = ", ".join(f"core {d['layer']}" for d in dvs["destinations"] if d["enable"])
        (y0, x0), (y1, x1) = ((dvs[k]["y"], dvs[k]["x"]) for k in ("origin", "cut"))
        mirror = [axis for axis in ("x", "y") if dvs["mirror"][axis]] + (["diagonal"] if dvs["mirror_diagonal"] else [])
        lines.append(
            f"DVS: pooling {dvs['pooling']['y']}x{dvs['pooling']['x']}, rows {y0}..{y1} and columns {x0}..{x1} "
            f"of the pooled map, mirror {', '.join(mirror) or 'none'}, merge {dvs['merge']}, sends to {to}"
        )
    used = len(config["placement"])
    lines.append(f"{config['chip']}: {used} of {spec.CORES.value} cores used")
    return "\n".join(lines) + "\n"
