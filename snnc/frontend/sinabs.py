"""Converters for sinabs 3.1.3 layers (imported only when a model uses sinabs).

Every sinabs spiking layer runs `sinabs/layers/functional/lif.py: lif_forward_single` once per
step (IAF is LIF with α_m = 1, `layers/iaf.py: IAF.alpha_mem_calculated`):

    i = α_s·(i + x)        with tau_syn, else i = x
    v = α_m·v + g·i        g = (1 − α_m) if norm_input else 1
    s = spike_fn(v, θ);  v = reset_fn(s, v, θ);  v = relu(v − v_min) + v_min   if min_v_mem is set

which maps onto the IR `Neuron` (snnc/ir/ops.py) field by field, in the same float order
(measured bit-exact in docs/library-semantics.md §3):

    sinabs                                          Neuron
    α_m = alpha_mem_calculated (torch)              v_decay = α_m, charge "affine", bias 0
    norm_input                                      gain = 1 − α_m (computed in torch), else 1
    tau_syn: α_s = alpha_syn_calculated (torch)     i_decay = α_s, current "decay_after", i_init 0
    spike_threshold                                 threshold
    SingleSpike: (v − θ) ≥ 0                        spikes "single", fire_op "ge"
    MultiSpike: (v > 0)·trunc(v/θ)                  spikes "multi" (floor(h/θ) where h ≥ θ)
    MaxSpike(m): the same, clamped to m             spikes "multi", max_spikes m
    MembraneSubtract(None or θ): v − s·θ            reset "subtract", same_step
    MembraneReset(0): v·(s == 0) + 0                reset "zero", v_reset 0, same_step
    min_v_mem                                       v_min (clamp max(v − v_min, 0) + v_min)
    zero state on the first call                    v_init 0
    a state the layer already holds (v_mem, i_syn)  v_init, i_init (one row for every sample)
    IAF/LIFRecurrent: x + rec_connect(s[t−1])       add(x, Delay(rec_connect(s))), zero at t = 0

Time constants are read as the torch values sinabs uses (`alpha_mem_calculated`, the trained
`alpha_mem` with train_alphas), never recomputed in numpy. Refused, because no Neuron field
expresses them: `spike_fn=None` (ExpLeak: a non-spiking membrane readout), custom spike or reset
functions, `MembraneSubtract(subtract_value ≠ θ)` and `MembraneReset(reset_value ≠ 0)` (it adds
reset_value to every membrane on every step, spiking or not).

An initialised state is part of the layer: sinabs' forward continues from it, and its Speck
configuration writes it as the neurons' initial values (`backend/dynapcnn/chips/dynapcnn.py::
get_dynapcnn_layer_config_dict`, batch row 0). snnc takes it as the initial state where every
sample's row is the same (one row, or a state set for all); a state that differs between samples
is what a run on a batch left behind, and snnc starts from zero, as a newly built layer does
(call `reset_states()` before loading to start a one-sample model from zero too).

sinabs' `backend/dynapcnn/dvs_layer.py: DVSLayer` (Speck's DVS pre-processing: merge polarities →
sum pooling → crop → flip) becomes, in that order, the SumPool2d of its pooling, also 1x1, so that a
backend sees that the input passes the DVS layer; a Crop where its region is not the whole pooled
map; and a Flip where flip_y, flip_x or swap_xy is set. Merging is the identity on the one channel
it takes.

Time layouts: squeeze layers (`IAFSqueeze`, `LIFSqueeze`) take `[B·T, ...]` batch-major and
reshape it with the batch_size or num_timesteps they were built with (`layers/reshape.py:
SqueezeMixin.squeeze_forward`); the others take `[B, T, ...]` batch-first.
"""

from __future__ import annotations

import pickle
import weakref
from typing import Any

import numpy as np
import torch
from sinabs import layers as sl
from sinabs.activation import MaxSpike, MembraneReset, MembraneSubtract, MultiSpike, SingleSpike

from snnc.diagnostics import input_error
from snnc.frontend.context import ConvertContext, tensor_param
from snnc.frontend.layout import EXAMPLE_BATCH, EXAMPLE_STEPS, Layout
from snnc.frontend.registry import module_converter
from snnc.ir import ops
from snnc.ir.types import FLOAT, TensorType

UNSUPPORTED = "FE-UNSUPPORTED-ATTR"


# --- layout and reset -------------------------------------------------------------------------


def layout(model: Any) -> Layout | None:
    """`batch_time` for squeeze layers (with the batch size or steps they reshape to), `batch_first`
    for the sequence layers; a model mixing both is refused."""
    layers = [m for m in model.modules() if isinstance(m, sl.StatefulLayer)]
    if not layers:
        return None
    squeeze = [m for m in layers if isinstance(m, sl.SqueezeMixin)]
    if not squeeze:
        return Layout("batch_first")
    if len(squeeze) < len(layers):
        raise input_error(
            "FE-LAYOUT",
            "the model mixes sinabs squeeze layers ([B·T, ...] input) with sequence layers ([B, T, ...] input)",
            hint="use the Squeeze variants (IAFSqueeze, LIFSqueeze) throughout, or none of them",
        )
    batch = _agreed(squeeze, "batch_size")
    steps = _agreed(squeeze, "num_timesteps")
    return Layout("batch_time", batch or EXAMPLE_BATCH, steps or EXAMPLE_STEPS)


def _agreed(layers: list[Any], attr: str) -> int | None:
    """The one value of `attr` the squeeze layers set (sinabs stores −1 for unset), or None."""
    values = sorted({int(getattr(m, attr)) for m in layers} - {-1})
    if len(values) > 1:
        raise input_error(
            "FE-LAYOUT",
            f"the model's squeeze layers were built with different {attr} values {values}, "
            "so they split [B·T, ...] into batch and time differently",
            hint=f"build every squeeze layer with the same {attr}",
        )
    return values[0] if values else None


def is_stateful(module: Any) -> bool:
    """sinabs keeps state in `StatefulLayer`s (layers/stateful_layer.py): every neuron layer."""
    return isinstance(module, sl.StatefulLayer)


def copies(model: Any) -> dict[int, Any]:
    """Copies of the layers `copy.deepcopy` cannot copy: `layers/stateful_layer.py:
    StatefulLayer.__deepcopy__` looks each named parameter up as an attribute of the copy, which
    fails for a child's parameter (IAFRecurrent's `rec_connect.weight`). Pickling copies them whole."""
    return {
        id(m): pickle.loads(pickle.dumps(m))
        for m in model.modules()
        if isinstance(m, sl.StatefulLayer) and next(m.children(), None) is not None
    }


_INITIAL: weakref.WeakKeyDictionary[Any, dict[str, torch.Tensor]] = weakref.WeakKeyDictionary()
"""The state each layer held when it was loaded (state name → [B, ...]), kept for its converter."""


def reset(model: Any) -> None:
    """Keep every layer's state for its converter, then empty the buffers, as in a newly built
    layer. `reset_states()` would keep them sized by the old batch, and a call with another batch
    size then re-samples old rows at random (`layers/stateful_layer.py:
    handle_state_batch_size_mismatch`, drawing from torch's RNG)."""
    _register_dvs_layer(model)
    for m in model.modules():
        if isinstance(m, sl.StatefulLayer):
            if m.is_state_initialised():
                _INITIAL[m] = {name: b.detach().clone() for name, b in m.named_buffers(recurse=False) if b.numel()}
            m.init_state_with_shape((0,))


# --- neurons ----------------------------------------------------------------------------------


@module_converter(sl.IAF, sl.IAFSqueeze, sl.LIF, sl.LIFSqueeze, sl.ExpLeak, sl.ExpLeakSqueeze)
def neuron(ctx: ConvertContext, m: sl.LIF) -> str:
    """`layers/lif.py: LIF.forward` → `functional/lif.py: lif_forward` (the squeeze variants
    reshape [B·T, ...] around it, `layers/reshape.py: SqueezeMixin.squeeze_forward`)."""
    return ctx.add(_neuron(ctx, m, ctx.value_shape(0)), ctx.input(0))


@module_converter(sl.IAFRecurrent, sl.LIFRecurrent)
def recurrent_neuron(ctx: ConvertContext, m: sl.LIFRecurrent) -> str:
    """`functional/lif.py: lif_recurrent`: the step's input is `x[t] + rec_out`, where rec_out is
    zeros at t = 0 and then `rec_connect(s[t−1]).reshape(x[t].shape)`, so the Delay comes after
    the connection (a Delay before it would add rec_connect's bias at t = 0)."""
    shape = ctx.value_shape(0)
    op = _neuron(ctx, m, shape)
    feedback = ctx.delay(TensorType(shape, FLOAT), suffix=".rec_delay")
    total = ctx.add(ops.Elementwise("add"), ctx.input(0), feedback, suffix=".rec_add")
    spikes = ctx.add(op, total)
    rec = ctx.convert_child(m.rec_connect, f"{ctx.name}.rec_connect", spikes, lead=1)
    if ctx.type_of(rec).shape != shape:
        rec = ctx.add(ops.Reshape(shape), rec, suffix=".rec_connect.reshape")
    if ctx.type_of(rec).dtype != FLOAT:
        ctx.fail(
            UNSUPPORTED,
            f"rec_connect passes {ctx.type_of(rec).dtype} values through unchanged",
            "use a synaptic layer (nn.Linear, nn.Conv2d) as rec_connect",
        )
    ctx.connect(feedback, rec)
    return spikes


def _neuron(ctx: ConvertContext, m: sl.LIF, shape: tuple[int, ...]) -> ops.Neuron:
    """The Neuron of any sinabs LIF-family layer (see the module docstring for the mapping)."""
    spikes, max_spikes = _spike_fn(ctx, m)
    alpha_mem = m.alpha_mem_calculated.detach()
    alpha_syn = m.alpha_syn_calculated
    gain = 1 - alpha_mem if m.norm_input else torch.tensor(1.0)  # sinabs' own float32 expression

    def param(name: str, value: Any) -> np.ndarray:
        return _compact(_full(ctx, name, value, shape))

    initial = {name: param(name, value) for name, value in _initial_state(m).items()}
    return ops.Neuron(
        threshold=param("spike_threshold", m.spike_threshold),
        v_decay=param("alpha_mem", alpha_mem),
        gain=param("1 - alpha_mem", gain),
        i_decay=None if alpha_syn is None else param("alpha_syn", alpha_syn.detach()),
        float_order=None if alpha_syn is None else ops.FloatOrder(current="decay_after"),
        reset=_reset_fn(ctx, m, shape),
        fire_op="ge",
        spikes=spikes,
        max_spikes=max_spikes,
        v_min=None if m.min_v_mem is None else param("min_v_mem", m.min_v_mem),
        v_init=initial.get("v_mem", np.zeros((), np.float32)),
        i_init=initial.get("i_syn", np.zeros((), np.float32)) if alpha_syn is not None else np.zeros((), np.float32),
    )


def _initial_state(m: sl.LIF) -> dict[str, torch.Tensor]:
    """The state the layer held when loaded where it is one row for all samples (module docstring)."""
    return {
        name: value[0]
        for name, value in _INITIAL.get(m, {}).items()
        if name in ("v_mem", "i_syn") and bool((value == value[:1]).all())
    }


def _spike_fn(ctx: ConvertContext, m: sl.LIF) -> tuple[str, int | None]:
    """(spikes, max_spikes) of `activation/spike_generation.py`: SingleSpike `(v − θ) ≥ 0`;
    MultiSpike `(v > 0)·trunc(v/θ)`, which is 0 below θ and floor(v/θ) from θ on; MaxSpike clamps it."""
    fn = m.spike_fn
    if fn is SingleSpike:
        return "single", None
    if fn is MultiSpike:
        return "multi", None
    if type(fn) is MaxSpike:
        most = fn.max_num_spikes_per_bin
        if most is not None and float(most) != int(most):
            ctx.fail(
                UNSUPPORTED,
                f"MaxSpike(max_num_spikes_per_bin={most}) caps spike counts at a non-integer",
                "use an integer max_num_spikes_per_bin",
            )
        return "multi", None if most is None else int(most)
    if fn is None:
        ctx.fail(
            "FE-UNSUPPORTED-OP" if isinstance(m, sl.ExpLeak) else UNSUPPORTED,
            f"{type(m).__name__} with spike_fn=None outputs its membrane potential (a non-spiking leaky "
            "integrator); the IR's Neuron emits spikes only",
            "give the layer a spike_fn (SingleSpike, MultiSpike or MaxSpike(m)), or read the membrane "
            "outside the converted model",
        )
    ctx.fail(
        UNSUPPORTED,
        f"spike_fn={getattr(fn, '__name__', fn)!r} is not one of sinabs' SingleSpike, MultiSpike, MaxSpike",
        "use SingleSpike, MultiSpike or MaxSpike(m)",
    )
    raise AssertionError


def _reset_fn(ctx: ConvertContext, m: sl.LIF, shape: tuple[int, ...]) -> str:
    """The reset of `activation/reset_mechanism.py`: MembraneSubtract `v − s·subtract_value`
    (θ when None); MembraneReset `v·(s == 0) + reset_value`, which adds reset_value on every step."""
    fn = m.reset_fn
    if type(fn) is MembraneSubtract:
        if fn.subtract_value is None:
            return "subtract"
        value = _full(ctx, "subtract_value", fn.subtract_value, shape)
        if np.array_equal(value, _full(ctx, "spike_threshold", m.spike_threshold, shape)):
            return "subtract"
        ctx.fail(
            UNSUPPORTED,
            f"MembraneSubtract(subtract_value={fn.subtract_value}) subtracts a value other than the "
            "spike threshold; snnc's subtract reset subtracts the threshold",
            "use MembraneSubtract() (subtract_value=None) or set subtract_value to the threshold",
        )
    if type(fn) is MembraneReset:
        if bool((torch.as_tensor(fn.reset_value) == 0).all()):
            return "zero"
        ctx.fail(
            UNSUPPORTED,
            f"MembraneReset(reset_value={fn.reset_value}) adds reset_value to every neuron's membrane on "
            "every step, spiking or not (MembraneReset.__call__: v·(s == 0) + reset_value); no snnc "
            "neuron does that",
            "use MembraneReset() (reset_value=0) or MembraneSubtract()",
        )
    ctx.fail(
        UNSUPPORTED,
        f"reset_fn={fn!r} is not one of sinabs' MembraneSubtract, MembraneReset",
        "use MembraneSubtract() or MembraneReset()",
    )
    raise AssertionError


def _full(ctx: ConvertContext, name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A layer parameter per neuron: broadcast by torch's rules against the per-step state
    [B, *shape], as sinabs applies it."""
    t = torch.as_tensor(value).detach()
    try:
        return tensor_param(torch.broadcast_to(t, (1, *shape))[0])
    except RuntimeError:
        ctx.fail(
            UNSUPPORTED,
            f"{name} has shape {tuple(t.shape)}, which does not broadcast to the layer's state (B, {shape})",
            "give one value, or one per neuron",
        )
        raise AssertionError from None


def _compact(value: np.ndarray) -> np.ndarray:
    """The smallest form the IR takes: one value, one per channel (axis 0), or one per neuron."""
    flat = value.reshape(value.shape[0], -1) if value.ndim > 1 else value.reshape(1, -1)
    if (flat == flat.flat[0]).all():
        return np.array(flat.flat[0], np.float32)
    if value.ndim > 1 and (flat == flat[:, :1]).all():
        return flat[:, 0].copy()
    return value


# --- other layers -----------------------------------------------------------------------------


@module_converter(sl.SumPool2d)
def sum_pool(ctx: ConvertContext, m: sl.SumPool2d) -> str:
    """`layers/pool2d.py: SumPool2d` is `nn.LPPool2d(1, kernel, stride, ceil_mode)`, and
    `torch/nn/functional.py: lp_pool2d` computes avg_pool2d(x)·(kw·kh): the IR's SumPool2d. With
    ceil_mode, a window cut off by the border is averaged over its cut size and still multiplied
    by the full area (a 2×2 window holding two ones gives 4), which the IR does not do."""
    if m.norm_type != 1:
        ctx.fail(UNSUPPORTED, f"SumPool2d with norm_type={m.norm_type} is a power-average pooling", "use norm_type=1")
    op = ops.SumPool2d(m.kernel_size, m.stride)
    cut = any((n - k) % s for n, k, s in zip(ctx.value_shape(0)[1:], op.kernel, op.stride))
    if m.ceil_mode and cut:
        ctx.fail(
            UNSUPPORTED,
            "SumPool2d with ceil_mode=True here has windows cut off by the border, which sinabs scales "
            "to the full window area instead of summing",
            "use ceil_mode=False, or an input size that the windows tile exactly",
        )
    return ctx.add(op, ctx.input(0))


@module_converter(sl.Merge)
def merge(ctx: ConvertContext, m: sl.Merge) -> str:
    """`layers/merge.py: Merge.forward` adds its two inputs (events of two sources), zero-padding the
    smaller one at the end of each axis, which the IR's add does not do."""
    if ctx.value_shape(0) != ctx.value_shape(1):
        ctx.fail(
            UNSUPPORTED,
            f"Merge of differently shaped inputs {ctx.value_shape(0)} and {ctx.value_shape(1)} zero-pads one of them",
            "merge inputs of the same shape",
        )
    return ctx.add(ops.Elementwise("add"), ctx.input(0), ctx.input(1))


@module_converter(sl.Repeat)
def repeat(ctx: ConvertContext, m: sl.Repeat) -> str:
    """`layers/reshape.py: Repeat.forward` applies its module to `x.flatten(0, 1)`: [B, T, ...] as
    B·T samples. Per sample and step that is the module itself."""
    if ctx.lead < 2 or isinstance(m.module, sl.StatefulLayer):
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            "Repeat is supported around a stateless layer in a [B, T, ...] model only",
            "wrap only torch layers (Conv2d, pooling, ...) in Repeat, in models of IAF/LIF layers",
        )
    return ctx.convert_child(m.module, f"{ctx.name}.module", ctx.input(0), lead=ctx.lead - 1)


# --- the DVS layer (sinabs.backend.dynapcnn, importable only where samna is) ---------------------


def _register_dvs_layer(model: Any) -> None:
    """Register the DVSLayer converter for the class the model uses: its module imports samna, so
    snnc cannot name it before a model that holds one is loaded."""
    for m in model.modules():
        cls = type(m)
        if cls.__name__ == "DVSLayer" and cls.__module__ == "sinabs.backend.dynapcnn.dvs_layer":
            module_converter(cls)(dvs_layer)


def dvs_layer(ctx: ConvertContext, m: Any) -> str:
    """`backend/dynapcnn/dvs_layer.py: DVSLayer.forward`: merge polarities (a sum over channels: its
    input has 1 channel then, `DVSLayer.input_shape`), SumPool2d(pool), then `crop_layer` (crop2d.py:
    `Crop2d.forward` slices the pooled map, its bounds in post-pooling coordinates) and `flip_layer`
    (flipdims.py: `FlipDims.forward`: rows, columns, then the transpose)."""
    if m.merge_polarities and ctx.value_shape(0)[0] != 1:
        ctx.fail(UNSUPPORTED, "DVSLayer merges polarities of a multi-channel input", "give it a 1-channel input")
    pool = tuple(int(k) for k in m.get_pooling())
    out = ctx.add(ops.SumPool2d(pool, pool), ctx.input(0))
    _, height, width = ctx.type_of(out).shape
    c = m.crop_layer
    top, bottom, left, right = (int(v) for v in (c.top_crop, c.bottom_crop, c.left_crop, c.right_crop))
    if not (0 <= top < bottom <= height and 0 <= left < right <= width):
        ctx.fail(
            UNSUPPORTED,
            f"DVSLayer crops its {height}x{width} pooled map to rows {top}:{bottom}, columns {left}:{right}, "
            "which do not lie inside it (sinabs would slice as Python does and write the chip's cut from the "
            "bounds as given)",
            f"give crop=((top, bottom), (left, right)) with 0 <= top < bottom <= {height} and "
            f"0 <= left < right <= {width}, in pooled coordinates",
        )
    if (top, bottom, left, right) != (0, height, 0, width):
        out = ctx.add(ops.Crop(top, bottom, left, right), out, suffix=".crop_layer")
    f = m.flip_layer
    if f.flip_y or f.flip_x or f.swap_xy:
        out = ctx.add(ops.Flip(flip_y=f.flip_y, flip_x=f.flip_x, swap_xy=f.swap_xy), out, suffix=".flip_layer")
    return out
