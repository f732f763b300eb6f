"""The NetX HDF5 network description, exactly as lava-dl 0.6.0's `netx.hdf5.Network` reads it.

docs/targets/netx.md is the schema (what NetX reads, ignores, truncates or zeroes); this writer
follows it field by field:

- `/layer/0 .. /layer/{n-1}`: an `input` layer (shape only, no neuron, so the first synapse is the
  network's input port and needs no Input block fed through its bias, netx.md §2, §5), then per
  block a `flatten` (before a dense reading a 3-D tensor: NetX then reads it in PyTorch's C-H-W
  order) and a `dense` or `conv` layer. Every field is a dataset, `type` an `S10` bytes array,
  names `'0'..'n-1'` (§1).
- Integer datasets only: `NetDict` casts weights and biases with `astype(int)`, which truncates
  (§1). Dense weights are written as the quantized integers; NetX re-encodes them
  (`utils.py: optimize_weight_bits`) for Lava's Dense, which is exact only in the ranges of §4:
  `dense_weight_problem` replays that encoding and the LOIHI-NETX-WEIGHTS rule refuses a layer it
  would change. Conv weights are passed through unchanged (§4).
- Conv kernels in PyTorch's (O, I/groups, kH, kW) cross-correlation form, stride/padding/dilation
  as (H, W): NetX flips and transposes them itself (`create_conv`, §2, §8 lava-dl #260), so
  writing them pre-flipped would break silently. A 1-d conv is the 2-d conv over (C, 1, L).
- Shapes (C, H, W) or (N,); NetX reverses them to Lava's (W, H, C) (§2).
- Neuron: CUBA with iDecay = 4096 − m_i (NetX passes du = iDecay − 1 to Lava), vDecay = 4096 − m_v,
  vThMant = θ / 2^6, a never-firing vThMant 2^17 for a non-spiking read-out (§3); `bias` in HDF5
  units, bias / 2^6, because NetX sets bias_exp = 6 (§3): per channel (C,), or per neuron in
  Lava's (W, H, C) order, which is the only per-neuron shape NetX accepts for a conv (§2).
- A Delay in front of a dense layer is its `delay` (a scalar: every synapse), which NetX turns into
  a DelayDense; NetX clamps delays beyond 62 (§2), which LOIHI-DELAY refuses first.
- Per-layer reset: the file holds none. Samples following each other are separated by running
  it with `Network(reset_interval=T, reset_offset=1)`: block k then resets before its first input
  of each sample, at Lava step 2 + k (§5). runner.py does that.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from snnc.atomic import write_atomically
from snnc.backends.loihi.blocks import Block, LoihiNet
from snnc.backends.loihi.lava import NEVER_FIRES, lif_parameters, to_lava_layout
from snnc.ir.ops import Conv1d, Linear

NETX_BIAS_SHIFT = 6  # NetX builds every LIF with bias_exp = 6 (netx.md §3)


def write_netx(net: LoihiNet, path: Path) -> Path:
    """Write `net` (a chain of blocks that passed the loihi rules for NetX) to `path`, atomically."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as f:
        layers = f.create_group("layer", track_order=True)
        shape = _netx_shape(net.input.type.shape)  # type: ignore[union-attr]
        entries: list[dict[str, object]] = [{"type": "input", "shape": shape}]
        for block in net.blocks:
            if block.flatten:
                entries.append({"type": "flatten", "shape": np.array([math.prod(block.in_shape)])})
            entries.append(_layer(block))
        for k, entry in enumerate(entries):
            _write_group(layers.create_group(str(k), track_order=True), entry)
    return write_atomically(path, buffer.getvalue(), rule="IO-WRITE")


def _netx_shape(shape: tuple[int, ...]) -> np.ndarray:
    """(C, H, W) or (N,); a 1-d conv's (C, L) as (C, 1, L)."""
    if len(shape) == 2:
        shape = (shape[0], 1, shape[1])
    return np.array(shape, np.int64)


def _layer(block: Block) -> dict[str, object]:
    lif = lif_parameters(block.neuron)
    neuron = {
        "type": "CUBA",
        "iDecay": lif["du"] + 1,  # NetX: du = iDecay − 1 (hdf5.py: get_neuron_params)
        "vDecay": lif["dv"],
        "vThMant": NEVER_FIRES if lif["vth"] == NEVER_FIRES else lif["vth"],
        "refDelay": 1,  # read but unused by Lava's LIF (netx.md §3); slayer writes 1
        "gradedSpike": 0,
    }
    entry: dict[str, object] = {"shape": _netx_shape(block.out_shape), "neuron": neuron}
    bias = _bias(block)
    if bias is not None:
        entry["bias"] = bias
    op = block.synapse.op
    if isinstance(op, Linear):
        if block.delay:  # NetX builds a DelayDense (hdf5.py: create_dense); a scalar applies to every synapse
            entry["delay"] = np.int64(block.delay)
        entry.update(
            type="dense",
            weight=op.weight.astype(np.int32),
            inFeatures=np.int64(op.in_features),
            outFeatures=np.int64(op.out_features),
        )
        return entry
    weight = op.weight[:, :, None, :] if isinstance(op, Conv1d) else op.weight
    pairs = {name: getattr(op, name) for name in ("stride", "padding", "dilation")}
    if isinstance(op, Conv1d):
        pairs = {name: (1 if name != "padding" else 0, value[0]) for name, value in pairs.items()}
    entry.update(
        type="conv",
        weight=weight.astype(np.int32),
        inChannels=np.int64(op.in_channels),
        outChannels=np.int64(op.out_channels),
        kernelSize=np.array(weight.shape[2:], np.int64),
        groups=np.int64(op.groups),
        **{name: np.array(value, np.int64) for name, value in pairs.items()},
    )
    return entry


def _bias(block: Block) -> np.ndarray | None:
    """The neuron bias in HDF5 units (bias / 2^6), per channel or per neuron; None if zero."""
    bias = np.asarray(block.neuron.op.bias, np.int64)  # type: ignore[union-attr]
    if not bias.any():
        return None
    units = (bias >> NETX_BIAS_SHIFT).astype(np.int32)  # exact: the netx spec quantizes biases to 2^6 steps
    shape = block.out_shape
    if units.ndim == 0:
        return np.full(shape[0], int(units), np.int32) if len(shape) > 1 else np.full(shape, int(units), np.int32)
    if units.ndim == 1 or len(shape) == 1:
        return units
    return np.ascontiguousarray(to_lava_layout(units, shape))  # NetX takes a per-neuron bias as (W, H, C)


def _write_group(group, entry: dict[str, object]) -> None:
    for key, value in entry.items():
        if key == "type":
            group.create_dataset("type", (1,), "S10", [str(value).encode("ascii")], track_times=False)
        elif key == "neuron":
            sub = group.create_group("neuron", track_order=True)
            for name, v in value.items():  # type: ignore[attr-defined]
                if name == "type":
                    sub.create_dataset("type", data=v, track_times=False)
                else:
                    sub.create_dataset(name, data=np.int64(v), track_times=False)
        else:
            group.create_dataset(key, data=value, track_times=False)


# --- what NetX + Lava's Dense do to dense weights (netx.md §4) -----------------------------------


def dense_weight_problem(weight: np.ndarray) -> str | None:
    """Why NetX would not reproduce Σ w·s with `weight`, or None if it does exactly. Replays
    lava-dl 0.6.0 `netx/utils.py: optimize_weight_bits` (sign mode, scale, scale_bits, common
    trailing zero bits n, num_weight_bits) and lava-nc 0.10.0's Dense on the result
    (`utils/weightutils.py: determine_sign_mode, clip_weights, truncate_weights`; the sum shifted
    by weight_exp = −scale_bits), netx.md §4 and loihi.md §2.1."""
    w = np.asarray(weight, np.int64)
    lo, hi = int(w.min()), int(w.max())
    if lo == hi == 0:
        return "every weight is 0: NetX's weight optimiser divides by the largest weight (OverflowError)"
    mixed = lo < 0 and hi >= 0
    if mixed and (hi > 254 or lo < -256):
        return f"weights in [{lo}, {hi}] leave [-256, 254], to which NetX clips mixed-sign weights"
    if mixed:
        scale = min(127 / hi if hi > 0 else math.inf, -128 / lo)
    elif hi < 0:
        scale = -256 / lo
    else:
        scale = 255 / hi
    scale_bits = math.floor(math.log2(scale)) + int(mixed)
    if scale_bits < 0:
        return f"weights in [{lo}, {hi}] make NetX shift them by {scale_bits} bits, which zeroes them"
    n = next((k for k in range(8, 0, -1) if not np.any(w % (1 << k))), 0) - int(mixed)
    num_weight_bits = 8 - scale_bits - n
    shifted = w << scale_bits
    # Lava's Dense re-derives the sign mode from the shifted weights, then clips and truncates
    lava_mixed = shifted.min() < 0 < shifted.max()
    inhibitory = not lava_mixed and shifted.max() <= 0 and shifted.min() < 0
    if lava_mixed:
        kept = np.clip(shifted, -256, 255)
    elif inhibitory:
        kept = -np.clip(-shifted, 0, 255)
    else:
        kept = np.clip(shifted, 0, 255)
    k = 8 - num_weight_bits + int(lava_mixed)
    if k < 0:
        return f"NetX asks Lava for {num_weight_bits}-bit weights, which Lava's Dense zeroes"
    magnitude = -kept if inhibitory else kept
    kept = (magnitude >> k) << k
    kept = -kept if inhibitory else kept
    changed = kept != shifted
    if changed.any():
        i = tuple(int(v) for v in np.argwhere(changed)[0])
        return (
            f"NetX and Lava's Dense turn weight {int(w[i])} at {i} into {int(kept[i]) / (1 << scale_bits):g} "
            f"(weights in [{lo}, {hi}], encoded ×2^{scale_bits} in {num_weight_bits} bits)"
        )
    return None
