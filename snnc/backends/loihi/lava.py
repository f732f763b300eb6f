"""A lowered graph as a Lava process network, for what NetX cannot hold (graded pooling, dense
delays, per-neuron bias exponents, other input gains, branching networks).

Two halves, so that Lava itself runs in a torch-free interpreter (runner.py):
- `describe(net)` turns the blocks (blocks.py) into a `LavaDescription`: plain numpy arrays in
  Lava's layouts, computed in snnc's process and saved to one .npz (`save`/`load`);
- `build(description)` creates and connects the Lava processes (imported lazily through the shim).
`to_lava(compiled)` does both.

Mapping, block by block (docs/targets/loihi.md §1–§3; each row exact for the integers of the
quantized graph, whose Arithmetic is Lava's, snnc/backends/loihi/spec.py):

| IR                                  | Lava (lava-nc 0.10.0, fixed_pt)                                  |
|-------------------------------------|------------------------------------------------------------------|
| Linear W, gain 2^(6+e)              | `Dense(weights=2W, weight_exp=e−1, num_weight_bits=8, MIXED)`: 2W |
|                                     | survives clip [−256, 255] and the 1-bit truncation, the even sum |
|                                     | shifts back exactly (loihi.md §2.1, §7.6 item 11)                |
| Delay d → Linear                    | `DelayDense(..., delays=d)`: delay 0 is the next step (§2.1)     |
| Conv2d / Conv1d (as H = 1), gain 2^6 | `Conv` with the kernel flipped and in (O, kW, kH, I) order, pairs |
|                                     | as (x, y): Lava convolves, PyTorch correlates (§2.2)             |
| Neuron θ, i_decay m_i, v_decay m_v  | `LIF` / `LIFReset`: vth = θ >> 6, du = 4095 − m_i, dv = 4096 − m_v |
|                                     | (§1.3, §7.2), bias_mant·2^bias_exp per neuron (§1.2)              |
| Neuron with spikes "none"           | vth = 2^17: v > 2^23 never holds for a 24-bit v (netx.md §3)      |
| SumPool2d (graded pooling)          | depthwise `Conv` of ones → `GradedVec(vth=0)`, whose s_out is the |
|                                     | sum itself (lava/proc/graded/models.py: AbstractGradedVecModel)  |
| a block reading integers or counts  | its synapse's `num_message_bits` > 0: W @ payload (§2.3)          |

Layouts: Lava's are (W, H, C) for 3-D tensors (a 1-d conv's (C, L) is (L, 1, C)) and (N,) for
dense; a Dense reading a 3-D tensor reads `out.transpose([2, 1, 0]).flatten()`, PyTorch's C-H-W
order, as NetX does (netx.md §2).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from snnc.backends.loihi.blocks import Block, LoihiNet, blocks, uniform
from snnc.ir.ops import Conv1d, Linear, Neuron

if TYPE_CHECKING:
    from snnc.driver.compile import Compiled

NEVER_FIRES = 1 << 17  # vth << 6 = 2^23 > the largest v, 2^23 − 1 (netx.md §3)
BIAS_EXPONENTS = range(8)  # bias_exp: unsigned 3-bit (loihi.md §1.2)
BIAS_MANTISSA = 4095  # bias_mant: signed 13-bit


def lava_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """An IR per-sample shape in Lava's layout."""
    if len(shape) == 3:
        c, h, w = shape
        return (w, h, c)
    if len(shape) == 2:
        c, length = shape
        return (length, 1, c)
    return tuple(shape)


def to_lava_layout(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Values of IR shape `shape` on the last axes of `x` in Lava's layout (leading axes kept)."""
    lead = x.shape[: x.ndim - len(shape)]
    if len(shape) == 2:
        x = x.reshape(*lead, shape[0], 1, shape[1])
    if len(shape) >= 2:
        n = len(lead)
        return x.transpose(*range(n), n + 2, n + 1, n)
    return x


def from_lava_layout(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `to_lava_layout`."""
    if len(shape) < 2:
        return x
    n = x.ndim - 3
    y = x.transpose(*range(n), n + 2, n + 1, n)
    return y.reshape(*x.shape[:n], *shape)


@dataclass(frozen=True)
class LavaLayer:
    """One block in Lava's terms (see the module docstring)."""

    name: str
    kind: Literal["dense", "conv", "pool"]
    source: int  # −1: the network input
    flatten: bool
    delay: int
    in_shape: tuple[int, ...]  # Lava layout
    out_shape: tuple[int, ...]
    num_message_bits: int
    weights: np.ndarray = field(repr=False)  # Dense (out, in) doubled; Conv (O, kW, kH, I/groups) flipped
    weight_exp: int = 0
    stride: tuple[int, int] = (1, 1)  # (x, y)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    vth: int = 0
    du: int = 0
    dv: int = 0
    bias_mant: np.ndarray | None = field(default=None, repr=False)  # per neuron, Lava layout
    bias_exp: np.ndarray | None = field(default=None, repr=False)
    lava_delay: int = 2  # Lava step at which frame 0 reaches this layer's neurons (1-based)


@dataclass(frozen=True)
class LavaDescription:
    name: str
    input_shape: tuple[int, ...]  # Lava layout
    layers: tuple[LavaLayer, ...]
    outputs: dict[str, int]  # graph output -> layer
    output_shapes: dict[str, tuple[int, ...]]  # graph output -> IR shape

    def save(self, path: Path) -> None:
        arrays, meta = {}, []
        for k, layer in enumerate(self.layers):
            record = asdict(layer)
            for key in ("weights", "bias_mant", "bias_exp"):
                value = record.pop(key)
                if value is not None:
                    arrays[f"{k}.{key}"] = value
            meta.append(record)
        header = {
            "name": self.name,
            "input_shape": self.input_shape,
            "layers": meta,
            "outputs": self.outputs,
            "output_shapes": self.output_shapes,
        }
        np.savez(path, header=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: Path) -> LavaDescription:
        with np.load(path) as data:
            header = json.loads(str(data["header"]))
            layers = []
            for k, record in enumerate(header["layers"]):
                for key in ("weights", "bias_mant", "bias_exp"):
                    record[key] = data.get(f"{k}.{key}")
                for key in ("in_shape", "out_shape", "stride", "padding", "dilation"):
                    record[key] = tuple(record[key])
                layers.append(LavaLayer(**record))
        return cls(
            header["name"],
            tuple(header["input_shape"]),
            tuple(layers),
            header["outputs"],
            {k: tuple(v) for k, v in header["output_shapes"].items()},
        )


# --- graph -> description (numpy only) ------------------------------------------------------------


def describe(net: LoihiNet) -> LavaDescription:
    """The Lava form of `net`'s blocks (which passed the loihi rules)."""
    assert net.input is not None  # the rules report a graph without one (LOIHI-LAYER)
    layers = tuple(_layer(net, b) for b in net.blocks)
    shapes = {name: net.blocks[k].out_shape for name, k in net.outputs.items()}
    return LavaDescription(net.graph.name, lava_shape(net.input.type.shape), layers, dict(net.outputs), shapes)


def _layer(net: LoihiNet, block: Block) -> LavaLayer:
    common = {
        "name": block.name,
        "kind": block.kind,
        "source": -1 if block.source is None else block.source,
        "flatten": block.flatten,
        "delay": block.delay,
        "in_shape": lava_shape(block.in_shape),
        "out_shape": lava_shape(block.out_shape),
        "num_message_bits": block.input_bits,
        "lava_delay": net.lava_delay(block.index),
    }
    if block.kind == "pool":
        op = block.synapse.op
        channels = block.out_shape[0]
        ones = np.ones((channels, op.kernel[1], op.kernel[0], 1), np.int64)
        return LavaLayer(**common, weights=ones, stride=_xy(op.stride), padding=_xy(op.padding), groups=channels)
    neuron = lif_parameters(block.neuron)  # type: ignore[arg-type]
    gain_exp = neuron.pop("gain_exp")
    op = block.synapse.op
    if isinstance(op, Linear):
        return LavaLayer(**common, weights=2 * op.weight.astype(np.int64), weight_exp=gain_exp - 1, **neuron)
    weight, stride, padding, dilation = _conv2d(op)
    lava_weight = weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1) << gain_exp  # (O, kW, kH, I/g), flipped
    return LavaLayer(
        **common,
        weights=np.ascontiguousarray(lava_weight),
        stride=_xy(stride),
        padding=_xy(padding),
        dilation=_xy(dilation),
        groups=op.groups,
        **neuron,
    )


def _xy(pair: tuple[int, ...]) -> tuple[int, int]:
    """An IR (y, x) pair as Lava's (x, y)."""
    y, x = pair
    return (int(x), int(y))


def _conv2d(op) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """A Conv1d as the Conv2d over (C, 1, L) it is; a Conv2d unchanged. Weight (O, I/g, kH, kW)."""
    if isinstance(op, Conv1d):
        return (op.weight[:, :, None, :], (1, op.stride[0]), (0, op.padding[0]), (1, op.dilation[0]))
    return op.weight, op.stride, op.padding, op.dilation


def lif_parameters(node) -> dict[str, Any]:
    """A quantized Neuron's LIF parameters: vth, du, dv, per-neuron bias_mant/bias_exp (Lava
    layout), and gain_exp e for its input gain 2^(6+e). The rules have checked that θ, the decays
    and the gain are one value per layer and representable."""
    op: Neuron = node.op
    shape = node.type.shape
    theta, m_i, m_v, gain = (uniform(v) for v in (op.threshold, op.i_decay, op.v_decay, op.gain))
    assert None not in (theta, m_i, m_v, gain)
    mant, exp = bias_fields(_full(op.bias, shape))
    return {
        "vth": NEVER_FIRES if op.spikes == "none" else theta >> 6,  # type: ignore[operator]
        "du": 4095 - m_i,  # type: ignore[operator]
        "dv": 4096 - m_v,  # type: ignore[operator]
        "bias_mant": to_lava_layout(mant, shape),
        "bias_exp": to_lava_layout(exp, shape),
        "gain_exp": int(gain).bit_length() - 1 - 6,  # type: ignore[arg-type]
    }


def _full(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A scalar, per-channel or per-neuron parameter broadcast to the per-sample shape."""
    value = np.asarray(value, np.int64)
    if value.ndim == 1 and len(shape) > 1:
        value = value.reshape(value.shape[0], *([1] * (len(shape) - 1)))
    return np.broadcast_to(value, shape).copy()


def bias_fields(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bias = bias_mant << bias_exp with the smallest exponent 0..7 whose mantissa fits 13 bits."""
    mant, exp = bias.copy(), np.zeros_like(bias)
    todo = np.ones(bias.shape, bool)
    for e in BIAS_EXPONENTS:
        m = bias >> e
        fits = todo & ((m << e) == bias) & (np.abs(m) <= BIAS_MANTISSA)
        mant[fits], exp[fits] = m[fits], e
        todo &= ~fits
    return mant, exp


# --- description -> Lava processes ----------------------------------------------------------------


@dataclass
class LavaNetwork:
    """Lava processes with their ports connected, one (synapse, neuron) pair per layer.
    `feed(out_port)` connects a source whose data has the `description.input_shape`;
    `out(k)` is layer k's s_out; `processes()` every process (to check which model ran)."""

    description: LavaDescription
    synapses: list[Any]
    neurons: list[Any]

    def feed(self, out_port: Any) -> None:
        for layer, synapse in zip(self.description.layers, self.synapses):
            if layer.source == -1:
                (out_port.transpose([2, 1, 0]).flatten() if layer.flatten else out_port).connect(synapse.s_in)

    def out(self, k: int) -> Any:
        return self.neurons[k].s_out

    def processes(self) -> list[Any]:
        return [*self.synapses, *self.neurons]


def build(description: LavaDescription, reset_interval: int | None = None) -> LavaNetwork:
    """The Lava processes of `description`, connected. With `reset_interval` R, every neuron
    resets u and v before its first input of each R-step sample (LIFReset, reset_offset = its
    Lava delay), so samples can follow each other back to back (netx.md §5) — except through a
    synaptic delay, whose DelayDense buffer carries a sample's last spikes into the next: run
    such a network one sample at a time (with R beyond the run: one reset, before the input)."""
    lava = _import_lava()
    synapses, neurons = [], []
    for layer in description.layers:
        synapse, neuron = _processes(lava, layer, reset_interval)
        if layer.source >= 0:
            port = neurons[layer.source].s_out
            (port.transpose([2, 1, 0]).flatten() if layer.flatten else port).connect(synapse.s_in)
        synapse.a_out.connect(neuron.a_in)
        synapses.append(synapse)
        neurons.append(neuron)
    return LavaNetwork(description, synapses, neurons)


def _processes(lava: dict[str, Any], layer: LavaLayer, reset_interval: int | None) -> tuple[Any, Any]:
    bits = layer.num_message_bits
    if layer.kind == "dense":
        weights = layer.weights.astype(np.int32)
        kwargs = {"weight_exp": layer.weight_exp, "num_weight_bits": 8, "sign_mode": lava["MIXED"]}
        if layer.delay:
            synapse = lava["DelayDense"](
                weights=weights, delays=np.full(weights.shape, layer.delay), max_delay=layer.delay, **kwargs
            )
        else:
            synapse = lava["Dense"](weights=weights, num_message_bits=bits, **kwargs)
    else:
        synapse = lava["Conv"](
            weight=layer.weights.astype(np.int32),
            input_shape=layer.in_shape,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            groups=layer.groups,
            num_message_bits=bits,
        )
    if layer.kind == "pool":
        return synapse, lava["GradedVec"](shape=layer.out_shape, vth=0)
    params = {
        "shape": layer.out_shape,
        "vth": layer.vth,
        "du": layer.du,
        "dv": layer.dv,
        "bias_mant": layer.bias_mant,
        "bias_exp": layer.bias_exp,
    }
    if reset_interval is None:
        return synapse, lava["LIF"](**params)
    return synapse, lava["LIFReset"](**params, reset_interval=reset_interval, reset_offset=layer.lava_delay)


def _import_lava() -> dict[str, Any]:
    """The Lava classes this module builds, imported through snnc's shim."""
    from snnc.backends.loihi.shim import install

    install()
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.graded.process import GradedVec
    from lava.proc.lif.process import LIF, LIFReset
    from lava.utils.weightutils import SignMode

    return {
        "Conv": Conv,
        "Dense": Dense,
        "DelayDense": DelayDense,
        "GradedVec": GradedVec,
        "LIF": LIF,
        "LIFReset": LIFReset,
        "MIXED": SignMode.MIXED,
    }


def to_lava(compiled: Compiled, reset_interval: int | None = None) -> LavaNetwork:
    """The Lava process network of a graph compiled for loihi, ready to connect and run with
    `Loihi2SimCfg(select_tag="fixed_pt")`. Feed it with `network.feed(source.s_out)` (data in
    `network.description.input_shape`, Lava's layout; see to_lava_layout), read layer k at
    `network.out(k)`: the spikes of snnc step t arrive at Lava step t + layer.lava_delay."""
    return build(describe(blocks(compiled.graph)), reset_interval)
