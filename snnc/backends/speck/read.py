"""Reading a Speck configuration file (docs/targets/speck.md §9) back, from any source, safely.

A `.speck.json` may come from anywhere, so it is treated as hostile: the file's size is checked
before it is read, every number before it is used, and every array's declared dimensions, and
the memory they imply on their core (placement.py's formulas, against the core's capacity),
before the array is built; nested lists are walked level by level with their lengths checked
first. Every problem is SPECK-CONFIG (exit code 2) naming the JSON path (`cnn_layers[3].weights`),
never a traceback. What is read is a `ChipConfig`: the used cores and the DVS layer, which the
event model (events.py) runs and `to_graph` turns into the time-stepped IR graph of the chip.

The time-stepped graph fires as sinabs' default `MultiSpike` (floor(v/θ) spikes per step, which
SynSense finds closest to the chip, speck.md §4): the file does not say which spike function the
model was trained with; the compiled `.speck.snnc` graph keeps the model's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snnc.backends.speck import spec
from snnc.backends.speck.dvs import View
from snnc.backends.speck.lower import FORMAT, VERSION
from snnc.backends.speck.placement import clog2
from snnc.diagnostics import SnncError, input_error
from snnc.ir.graph import Graph, GraphBuilder
from snnc.ir.ops import Conv2d, Elementwise, Neuron, SumPool2d
from snnc.ir.quant import NumberFormat
from snnc.ir.types import Count

MAX_BYTES = 64 << 20  # a full chip holds < 0.7 M numbers: ~5 MB of JSON
MAX_NAME = 256
WEIGHT = (-(2 ** (spec.WEIGHT_BITS.value - 1)), 2 ** (spec.WEIGHT_BITS.value - 1) - 1)
STATE = (-(2 ** (spec.STATE_BITS.value - 1)), 2 ** (spec.STATE_BITS.value - 1) - 1)


class _Bad(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Core:
    """One used core, in the IR's layouts: weights (f, c, ky, kx), initial state (f, Ho, Wo)."""

    index: int
    name: str  # its weight layer's module (source.weight), else core<k>
    neuron: str  # its neuron's module (source.neuron), else core<k>.iaf
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    weights: np.ndarray
    biases: np.ndarray
    leak: bool
    zero_reset: bool
    threshold_high: int
    threshold_low: int
    monitor: bool
    initial: np.ndarray
    destinations: tuple[tuple[int, int], ...]  # (core, pooling) of each enabled slot


@dataclass(frozen=True)
class Dvs:
    """The DVS layer when it is used (it sends to a core): the sensor's shape it takes, its pooling,
    and its region of interest and mirroring of the pooled map."""

    in_shape: tuple[int, int, int]
    pooling: tuple[int, int]  # (y, x)
    view: View
    destinations: tuple[int, ...]
    sensor: bool  # pass_sensor_events

    @property
    def pooled(self) -> tuple[int, int]:
        _, h, w = self.in_shape
        return h // self.pooling[0], w // self.pooling[1]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.in_shape[0], *self.view.shape)


@dataclass(frozen=True)
class ChipConfig:
    chip: str
    name: str
    cores: tuple[Core, ...]  # in an order where every core comes after those sending to it
    dvs: Dvs | None

    def core(self, index: int) -> Core:
        return next(c for c in self.cores if c.index == index)

    @property
    def entries(self) -> tuple[Core, ...]:
        """The cores that take the input: the DVS layer's destinations, else the cores no core sends to."""
        if self.dvs is not None:
            return tuple(self.core(k) for k in self.dvs.destinations)
        targets = {k for c in self.cores for k, _ in c.destinations}
        return tuple(c for c in self.cores if c.index not in targets)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.dvs.in_shape if self.dvs is not None else self.entries[0].in_shape


def read_config(path: str | Path) -> ChipConfig:
    """The configuration in the file at `path`; SnncError SPECK-CONFIG (exit 2) for anything unusable."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _Bad(str(path), f"the file has {size:,} bytes; a Speck configuration has at most {MAX_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        raise input_error("IO-NOT-FOUND", f"{path} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, _Bad) as e:
        raise _error(f"cannot read {path} as a Speck configuration: {e}") from None
    return parse_config(data)


def parse_config(data: Any) -> ChipConfig:
    """The configuration a `.speck.json` holds, parsed (`build_config`'s output reads back the same)."""
    try:
        return _config(data)
    except (_Bad, RecursionError) as e:
        raise _error(f"invalid Speck configuration: {e}") from None


def _error(message: str) -> SnncError:
    return input_error(
        "SPECK-CONFIG",
        message,
        hint="give a configuration written by `snnc compile --target speck` (docs/targets/speck.md §9)",
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a configuration holds")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"an object repeats the key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


# --- plain values -------------------------------------------------------------------------------


def _obj(value: Any, path: str, *keys: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(path, f"expected an object, got {type(value).__name__}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise _Bad(path, f"missing {', '.join(missing)}")
    return value


def _int(value: Any, path: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(path, f"expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise _Bad(path, f"{value} is outside {lo}..{hi}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(path, f"expected true or false, got {type(value).__name__}")
    return value


def _name(value: Any, path: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        raise _Bad(path, f"expected a module name of 1..{MAX_NAME} characters")
    return value


def _xy(value: Any, path: str, lo: int, hi: int) -> tuple[int, int]:
    """A samna {x, y} pair as (y, x), the IR's order."""
    obj = _obj(value, path, "x", "y")
    return _int(obj["y"], f"{path}.y", lo, hi), _int(obj["x"], f"{path}.x", lo, hi)


def _array(value: Any, path: str, shape: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
    """A nested list of integers of exactly `shape` (checked level by level, before building it)."""
    level = [value]
    for depth, n in enumerate(shape):
        nxt = []
        for item in level:
            if not isinstance(item, list) or len(item) != n:
                got = f"a list of {len(item)}" if isinstance(item, list) else type(item).__name__
                raise _Bad(path, f"expected {n} items at depth {depth} (shape {list(shape)}), got {got}")
            nxt.extend(item)
        level = nxt
    for v in level:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise _Bad(path, f"expected integers in {lo}..{hi}, found {v!r}")
    return np.array(level, dtype=np.int64).reshape(shape)


# --- the configuration --------------------------------------------------------------------------


def _config(data: Any) -> ChipConfig:
    top = _obj(data, "$", "format", "version", "chip", "cnn_layers", "dvs_layer")
    if top["format"] != FORMAT or top["version"] != VERSION:
        raise _Bad("$", f"format {top['format']!r} version {top['version']!r}; expected {FORMAT!r} version {VERSION}")
    if top["chip"] not in spec.CHIPS:
        raise _Bad("$.chip", f"{top['chip']!r} is not one of {', '.join(spec.CHIPS)}")
    layers = top["cnn_layers"]
    if not isinstance(layers, list) or len(layers) != spec.CORES.value:
        raise _Bad("$.cnn_layers", f"expected a list of {spec.CORES.value} cores")
    cores = {}
    for k, raw in enumerate(layers):
        path = f"$.cnn_layers[{k}]"
        if _obj(raw, path, "source")["source"] is not None:
            cores[k] = _core(k, raw, path)
    if not cores:
        raise _Bad("$.cnn_layers", "no core is used (every source is null)")
    dvs = _dvs(top["dvs_layer"], cores)
    _check_links(cores, dvs)
    names = [n for c in cores.values() for n in (c.name, c.neuron)]
    if len(set(names)) != len(names):
        raise _Bad("$.cnn_layers", "two cores name the same module in their source")
    name = _name(top.get("graph"), "$.graph", "speck")
    return ChipConfig(str(top["chip"]), name, _ordered(cores), dvs)


def _core(k: int, raw: Any, path: str) -> Core:
    obj = _obj(
        raw, path, "dimensions", "destinations", "weights", "biases", "leak_enable", "return_to_zero",
        "threshold_high", "threshold_low", "monitor_enable", "neurons_initial_value", "source",
    )  # fmt: skip
    dims = _obj(
        obj["dimensions"], f"{path}.dimensions", "input_shape", "output_shape", "padding", "stride", "kernel_size"
    )
    c, h, w = _shape(dims["input_shape"], f"{path}.dimensions.input_shape", spec.MAX_INPUT_SIZE.value)
    f, ho, wo = _shape(dims["output_shape"], f"{path}.dimensions.output_shape", spec.MAX_INPUT_SIZE.value)
    k_size = _int(dims["kernel_size"], f"{path}.dimensions.kernel_size", 1, spec.MAX_KERNEL.value)
    stride = _xy(dims["stride"], f"{path}.dimensions.stride", 1, max(spec.STRIDES.value))
    padding = _xy(dims["padding"], f"{path}.dimensions.padding", 0, spec.MAX_PADDING.value)
    want = tuple((n + 2 * p - k_size) // s + 1 for n, p, s in zip((h, w), padding, stride))
    if want != (ho, wo):
        raise _Bad(f"{path}.dimensions", f"a {h}x{w} input convolved by {k_size}, stride {stride}, padding {padding} "
                   f"gives {want[0]}x{want[1]}, not the declared {ho}x{wo}")  # fmt: skip
    kernel = c * 2 ** (clog2(k_size * k_size) + clog2(f))
    neurons = f * 2 ** (clog2(ho) + clog2(wo))
    cap = spec.capacities()[k]
    if kernel > cap.kernel or neurons > cap.neuron or f > cap.bias:
        raise _Bad(f"{path}.dimensions", f"needs kernel {kernel:,}, neuron {neurons:,}, bias {f:,} words; core {k} "
                   f"holds {cap.kernel:,}, {cap.neuron:,}, {cap.bias:,}")  # fmt: skip
    weights = _array(obj["weights"], f"{path}.weights", (f, c, k_size, k_size), *WEIGHT)
    initial = _array(obj["neurons_initial_value"], f"{path}.neurons_initial_value", (f, wo, ho), *STATE)
    slots = obj["destinations"]
    if not isinstance(slots, list) or len(slots) != spec.MAX_DESTINATIONS.value:
        raise _Bad(f"{path}.destinations", f"expected {spec.MAX_DESTINATIONS.value} slots")
    destinations = []
    for j, slot in enumerate(slots):
        sp = f"{path}.destinations[{j}]"
        d = _obj(slot, sp, "layer", "enable", "pooling")
        if _bool(d["enable"], f"{sp}.enable"):
            pool = _int(d["pooling"], f"{sp}.pooling", 1, max(spec.POOL_SIZES.value))
            if pool not in spec.POOL_SIZES.value:
                raise _Bad(f"{sp}.pooling", f"{pool} is not one of {spec.POOL_SIZES.value}")
            destinations.append((_int(d["layer"], f"{sp}.layer", 0, spec.CORES.value - 1), pool))
    source = _obj(obj["source"], f"{path}.source")
    return Core(
        index=k,
        name=_name(source.get("weight"), f"{path}.source.weight", f"core{k}"),
        neuron=_name(source.get("neuron"), f"{path}.source.neuron", f"core{k}.iaf"),
        in_shape=(c, h, w),
        out_shape=(f, ho, wo),
        stride=stride,
        padding=padding,
        weights=np.swapaxes(weights, 2, 3),  # samna [f][c][x][y] → (f, c, y, x)
        biases=_array(obj["biases"], f"{path}.biases", (f,), *STATE),
        leak=_bool(obj["leak_enable"], f"{path}.leak_enable"),
        zero_reset=_bool(obj["return_to_zero"], f"{path}.return_to_zero"),
        threshold_high=_int(obj["threshold_high"], f"{path}.threshold_high", 1, STATE[1]),
        threshold_low=_int(obj["threshold_low"], f"{path}.threshold_low", STATE[0], 0),
        monitor=_bool(obj["monitor_enable"], f"{path}.monitor_enable"),
        initial=np.swapaxes(initial, 1, 2),  # [f][x][y] → (f, y, x)
        destinations=tuple(destinations),
    )


def _shape(value: Any, path: str, most: int) -> tuple[int, int, int]:
    obj = _obj(value, path, "size", "feature_count")
    y, x = _xy(obj["size"], f"{path}.size", 1, most)
    return _int(obj["feature_count"], f"{path}.feature_count", 1, spec.MAX_CHANNELS.value), y, x


def _dvs(raw: Any, cores: dict[int, Core]) -> Dvs | None:
    path = "$.dvs_layer"
    obj = _obj(raw, path, "pass_sensor_events", "merge", "pooling", "origin", "cut", "destinations")
    slots = obj["destinations"]
    if not isinstance(slots, list) or len(slots) != spec.MAX_DESTINATIONS.value:
        raise _Bad(f"{path}.destinations", f"expected {spec.MAX_DESTINATIONS.value} slots")
    targets = []
    for j, slot in enumerate(slots):
        d = _obj(slot, f"{path}.destinations[{j}]", "layer", "enable")
        if _bool(d["enable"], f"{path}.destinations[{j}].enable"):
            targets.append(_int(d["layer"], f"{path}.destinations[{j}].layer", 0, spec.CORES.value - 1))
    sensor = _bool(obj["pass_sensor_events"], f"{path}.pass_sensor_events")
    if not targets:
        return None
    py, px = _xy(obj["pooling"], f"{path}.pooling", 1, max(spec.DVS_POOL_SIZES.value))
    if py not in spec.DVS_POOL_SIZES.value or px not in spec.DVS_POOL_SIZES.value:
        raise _Bad(f"{path}.pooling", f"{py}x{px}: the DVS layer pools by {spec.DVS_POOL_SIZES.value} per axis")
    oy, ox = _xy(obj["origin"], f"{path}.origin", 0, spec.DVS_SIZE.value - 1)
    cy, cx = _xy(obj["cut"], f"{path}.cut", 0, spec.DVS_SIZE.value - 1)
    mirror = _obj(obj.get("mirror", {"x": False, "y": False}), f"{path}.mirror", "x", "y")
    view = View(
        oy,
        cy + 1,
        ox,
        cx + 1,
        flip_y=_bool(mirror["y"], f"{path}.mirror.y"),
        flip_x=_bool(mirror["x"], f"{path}.mirror.x"),
        swap_xy=_bool(obj.get("mirror_diagonal", False), f"{path}.mirror_diagonal"),
    )
    merge = _bool(obj["merge"], f"{path}.merge")
    channels = 1 if merge else 2
    if "input_shape" in obj:
        shape = _shape(obj["input_shape"], f"{path}.input_shape", spec.DVS_SIZE.value)
        if shape[0] != channels:
            raise _Bad(f"{path}.input_shape.feature_count", f"{shape[0]}, but a DVS layer with merge {merge} "
                       f"takes {channels} polarities")  # fmt: skip
    else:  # a file without snnc's input_shape: the sensor image ends where the cut does
        shape = (channels, (cy + 1) * py, (cx + 1) * px)
    dvs = Dvs(shape, (py, px), view, tuple(targets), sensor)
    h, w = dvs.pooled
    if not (oy <= cy < h and ox <= cx < w):
        raise _Bad(path, f"origin (y {oy}, x {ox}) to cut (y {cy}, x {cx}) is not a region of the {h}x{w} pooled map")
    return dvs


def _check_links(cores: dict[int, Core], dvs: Dvs | None) -> None:
    """Every destination is a used core whose input is the sender's pooled output."""
    for c in cores.values():
        f, ho, wo = c.out_shape
        for j, (k, pool) in enumerate(c.destinations):
            path = f"$.cnn_layers[{c.index}].destinations[{j}]"
            if k not in cores:
                raise _Bad(path, f"sends to core {k}, which is not used (its source is null)")
            if cores[k].in_shape != (f, ho // pool, wo // pool):
                raise _Bad(path, f"sends {f}x{ho // pool}x{wo // pool} events to core {k}, whose input is "
                           f"{'x'.join(map(str, cores[k].in_shape))}")  # fmt: skip
    if dvs is not None:
        for k in dvs.destinations:
            want = dvs.out_shape
            if k not in cores or cores[k].in_shape != want:
                raise _Bad("$.dvs_layer.destinations", f"core {k} does not take the DVS layer's {want} events")
    else:
        entries = {
            c.in_shape for c in cores.values() if c.index not in {k for x in cores.values() for k, _ in x.destinations}
        }
        if len(entries) != 1:
            raise _Bad(
                "$.cnn_layers", f"the input cores take {len(entries)} different input shapes; one input expected"
            )


def _ordered(cores: dict[int, Core]) -> tuple[Core, ...]:
    """Cores in an order where each comes after every core sending to it; a cycle is refused."""
    waiting = {k: sum(k == t for c in cores.values() for t, _ in c.destinations) for k in cores}
    ready = [k for k in sorted(cores) if waiting[k] == 0]
    order: list[Core] = []
    while ready:
        k = ready.pop(0)
        order.append(cores[k])
        for t, _ in cores[k].destinations:
            waiting[t] -= 1
            if waiting[t] == 0:
                ready.append(t)
    if len(order) != len(cores):
        raise _Bad("$.cnn_layers", "the cores' destinations form a cycle; snnc simulates feed-forward networks")
    return tuple(order)


# --- the time-stepped graph ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChipGraph:
    """The chip's time-stepped graph and, per core, the names of its neuron node and of its output
    (monitored cores only): the event model reports under the same names."""

    graph: Graph
    neurons: dict[int, str]
    outputs: dict[int, str]


def to_graph(config: ChipConfig) -> ChipGraph:
    """The chip as an IR graph, run by the integer simulator (spec.STEPS arithmetic): per core
    conv → IAF (MultiSpike, see the module docstring) → a sum pool per pooled destination; merges
    as adds; the DVS layer's pooling, crop and flip after the input; an output per monitored core
    (its events before pooling, as the monitor shows them). Names come from the file, made unique."""
    b = GraphBuilder(config.name, arithmetic=spec.STEPS)
    source = b.input("input", config.input_shape, Count())
    dvs = config.dvs
    if dvs is not None:
        if dvs.pooling != (1, 1):
            source = b.add(b.fresh("dvs.pool"), SumPool2d(dvs.pooling, dvs.pooling), source)
        for op in dvs.view.ops(*dvs.pooled):
            source = b.add(b.fresh(f"dvs.{op.kind}"), op, source)
    feeds: dict[int, list[str]] = {c.index: [] for c in config.cores}
    for entry in config.entries:
        feeds[entry.index].append(source)
    fmt = NumberFormat(spec.WEIGHT_BITS.value, True, 1.0)
    neurons, outputs = {}, {}
    for core in config.cores:
        merged = feeds[core.index][0]
        for other in feeds[core.index][1:]:
            merged = b.add(b.fresh(f"{core.name}.merge"), Elementwise("add"), merged, other)
        bias = core.biases if core.biases.any() else None
        op = Conv2d(core.weights, bias, core.stride, core.padding, weight_format=fmt)
        conv = b.add(b.fresh(core.name), op, merged)
        neurons[core.index] = b.add(b.fresh(core.neuron), _neuron(core), conv)
        for target, pool in core.destinations:
            out = neurons[core.index]
            if pool != 1:
                out = b.add(b.fresh(f"{core.neuron}.pool"), SumPool2d(pool, pool), out)
            feeds[target].append(out)
        if core.monitor:
            outputs[core.index] = b.output(b.fresh(f"core{core.index}"), neurons[core.index])
    return ChipGraph(b.build(), neurons, outputs)


def _neuron(core: Core) -> Neuron:
    return Neuron(
        threshold=np.int64(core.threshold_high),
        reset="zero" if core.zero_reset else "subtract",
        spikes="multi",
        v_min=np.int64(core.threshold_low),
        v_init=core.initial,
        v_decay=np.int64(1),
        gain=np.int64(1),
        bias=np.zeros((), np.int64),
        v_reset=np.int64(0),
        i_init=np.int64(0),
        state_format=NumberFormat(spec.STATE_BITS.value, True, 1.0),
    )
