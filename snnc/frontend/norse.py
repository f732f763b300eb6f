"""Converters for Norse 1.1.0 (`norse.torch`; imported only when a model uses Norse).

Norse neurons come in two forms (norse/torch/module/snn.py). *Cells* (`SNNCell`,
`SNNRecurrentCell`) compute one step, `cell(x[t], state) -> (z, state)`, and keep nothing
between calls: `state=None` means a fresh initial state. A model of cells therefore loops over
time in its own `forward` and passes each returned state back (layout `loop`), or is itself one
step of cells (`SequentialState`, a cell: `out, s = model(x[t], s)`), which snnc steps over time
the same way (layout `stepped`); a cell whose state is not passed back forgets everything at
every step and is refused. *Sequence modules*
(`SNN`, `SNNRecurrent`: `LIF`, `IAF`, `LIFRecurrent`) and `Lift` loop over dim 0 of
`[T, B, ...]` themselves (layout `multi_step`). `SequentialState` only routes data and states to
its children and is traced through.

Every spiking step ends with `threshold(v − v_th, method, alpha)` (functional/threshold.py),
which is `heaviside(v − v_th) = (v − v_th > 0)` (functional/heaviside.py) for every method it
accepts (super, heaviside, triangle, tanh, circ, heavi_erfc; any other, "adjoint" included,
raises in Norse itself, which the capture reports): `v > v_th`, fire_op "gt". The mapping onto the IR
`Neuron` (snnc/ir/ops.py), in Norse's float order (measured bit-exact in
docs/library-semantics.md §4), with c_m = `dt * tau_mem_inv` and c_s = `-dt * tau_syn_inv`
evaluated by torch exactly as Norse writes them (float32):

    Norse (functional/...)                              Neuron
    LIFBoxCell (lif_box.py: lif_box_feed_forward_step)  charge "delta_box" (v + c_m·((x + v_leak) − v)),
      v' = v + c_m·((x + v_leak) − v)                     rate c_m, v_rest v_leak, v_init v_leak
      reset_method reset_value / reset_subtract           reset "zero" to v_reset / "subtract" (v − v_th)
    LIFCell, LIF (lif.py: lif_feed_forward_step)        current "euler", i_decay c_s, i_init 0,
      j = i + x;  v' = v + c_m·((v_leak − v) + j)         "current_first" (snnc's i is Norse's j: no delay);
      i' = j + c_s·j                                      charge "delta" (v + (j − (v − v_leak))·c_m:
                                                          the same float value), rate c_m, v_rest v_leak,
                                                          reset "zero" to v_reset, v_init v_leak
    IAFCell, IAF (iaf.py: iaf_feed_forward_step)        charge "affine" with v_decay 1, gain 1, bias 0,
      v' = v + x                                          reset "zero" to v_reset, v_init v_reset
    LIFRecurrentCell, LIFRecurrent (lif.py: lif_step)   Linear(W_in) + Linear(W_rec)(Delay(z)) feeding
      j = (i + W_in·x) + W_rec·z[t−1]                     the LIF neuron above; see `_lif_recurrent`
    LI, LICell (leaky_integrator.py:                    LIF's current and charge with spikes "none": the
      li_feed_forward_step), LILinearCell (li_step)       output is the membrane v' (a readout that never
                                                          fires); LILinearCell first applies its input_weights
    LIBoxCell (leaky_integrator_box.py:                 charge "delta" without a current, spikes "none"
      li_box_feed_forward_step) v' = v + c_m·((v_leak − v) + x)

Parameters may be per-neuron tensors; Norse combines them with the per-step tensors `[B, *shape]`
by torch broadcasting, and so does `_param`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from norse.torch.functional.reset import reset_subtract, reset_value
from norse.torch.module.iaf import IAF, IAFCell
from norse.torch.module.leaky_integrator import LI, LICell, LILinearCell
from norse.torch.module.leaky_integrator_box import LIBoxCell
from norse.torch.module.lif import LIF, LIFCell, LIFRecurrent, LIFRecurrentCell
from norse.torch.module.lif_box import LIFBoxCell
from norse.torch.module.lift import Lift
from norse.torch.module.lsnn import LSNN, LSNNCell, LSNNRecurrent, LSNNRecurrentCell
from norse.torch.module.sequential import SequentialState
from norse.torch.module.snn import SNN, SNNCell, SNNRecurrent, SNNRecurrentCell
from torch import nn
from torch.utils import _pytree as pytree

from snnc.diagnostics import input_error
from snnc.frontend.capture import Ref
from snnc.frontend.context import ConvertContext, tensor_param
from snnc.frontend.layout import Layout
from snnc.frontend.registry import find_module_converter, module_converter
from snnc.ir import ops
from snnc.ir.types import SPIKE, TensorType

RESETS: dict[Callable, str] = {reset_value: "zero", reset_subtract: "subtract"}
UNSUPPORTED = "FE-UNSUPPORTED-ATTR"

# A builder adds the nodes of one Norse neuron module applied to IR node `x`, starting from
# `state` (None: Norse's own initial state), names them ctx.name + suffix, returns the spikes.
Builder = Callable[[ConvertContext, nn.Module, str, Any, str], str]


def layout(model: nn.Module) -> Layout | None:
    """`loop` when a cell runs outside Lift (the model's forward loops over time), `stepped` when
    the model is itself one step of cells (a cell, or a SequentialState of cells: its users call
    `out, s = model(x[t], s)`, which snnc then does, layout.py: Stepped), else `multi_step`
    (sequence modules and Lift take [T, B, ...]); None without Norse modules."""
    modules = list(model.modules())
    if not any(type(m).__module__.startswith("norse.") for m in modules):
        return None
    lifted = {id(m) for lift in modules if isinstance(lift, Lift) for m in lift.lifted_module.modules()}
    if not any(isinstance(m, (SNNCell, SNNRecurrentCell)) and id(m) not in lifted for m in modules):
        return Layout("multi_step")
    if isinstance(model, (SequentialState, SNNCell, SNNRecurrentCell)):
        return Layout("stepped")
    if isinstance(model, nn.Sequential):  # no forward of its own loops over time, and it passes no state on
        raise input_error(
            "FE-LAYOUT",
            f"the model is a {type(model).__name__} of Norse cells, which drops the state each cell returns",
            hint="use norse.torch.SequentialState, which passes the states on (or wrap it in norse.torch.Lift)",
        )
    return Layout("loop")


def is_stateful(module: nn.Module) -> bool:
    """Norse neurons (module/snn.py: SNNCell, SNNRecurrentCell and the sequence modules SNN,
    SNNRecurrent). They keep no state between calls but compute their own dynamics: one without a
    converter is reported whole, never traced through."""
    return isinstance(module, (SNNCell, SNNRecurrentCell, SNN, SNNRecurrent))


def batching(model: nn.Module) -> str:
    """ "step": Norse runs layers one step at a time, also inside sequence modules (`Lift` calls
    its module on each x[t], norse/torch/module/lift.py: Lift.forward), so their matmuls see B rows."""
    return "step"


def reset(model: nn.Module) -> None:
    """Nothing to reset: Norse modules keep no state between calls (`state=None` is the fresh
    initial state, norse/torch/module/snn.py: SNNCell.forward), so every capture starts fresh."""


# --- parameters and state ---------------------------------------------------------------------


def _param(ctx: ConvertContext, name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A Norse parameter (or initial state) as a Neuron parameter. Norse applies it to the
    per-step tensors [B, *shape] by torch broadcasting (a (C,) tensor on [B, C, H, W] runs along
    W, not C), so it is broadcast the same way, then stored as compactly as is exact: one value,
    one per channel, or one per neuron."""
    t = torch.as_tensor(value).detach()
    if t.dim() > 0 and t.dtype != torch.float32:
        ctx.fail(UNSUPPORTED, f"{name} is a {t.dtype} tensor, which makes Norse compute in {t.dtype}")
    per_step = (1, *shape)
    try:
        fits = t.dim() <= len(per_step) and torch.broadcast_shapes(t.shape, per_step) == per_step
    except RuntimeError:
        fits = False
    if not fits:
        ctx.fail(
            UNSUPPORTED,
            f"{name} of shape {tuple(t.shape)} does not broadcast to the per-step shape "
            f"[B, {', '.join(map(str, shape))}]",
            "give one value, or one per neuron without a batch axis",
        )
    full = tensor_param(t.expand(per_step)[0])
    if (full == full.flat[0]).all():
        return np.asarray(full.flat[0], np.float32)
    per_channel = full.reshape(full.shape[0], -1)
    if full.ndim > 1 and (per_channel == per_channel[:, :1]).all():
        return per_channel[:, 0].copy()
    return full


def _spiking(ctx: ConvertContext, p: Any, shape: tuple[int, ...], reset: str) -> dict[str, Any]:
    """The Neuron fields of Norse's fire and reset (functional/threshold.py, functional/reset.py)."""
    threshold = _param(ctx, "v_th", p.v_th, shape)
    if (threshold <= 0).any():
        ctx.fail(
            UNSUPPORTED,
            "v_th must be positive: snnc's neuron fires against a positive threshold",
            "shift v_leak, v_th and v_reset by the same constant so that v_th > 0",
        )
    v_reset = _param(ctx, "v_reset", p.v_reset, shape) if reset == "zero" else np.zeros((), np.float32)
    return {"threshold": threshold, "fire_op": "gt", "reset": reset, "v_reset": v_reset}


def _v_init(ctx: ConvertContext, state: Any, default: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The initial membrane: Norse's default (state=None), or the v of a given constant state
    whose other fields (current i, recurrent spikes z) are zero, as snnc's i_init and Delay are."""
    if state is None:
        return default
    for field, value in state._asdict().items():
        if field != "v" and bool((torch.as_tensor(value) != 0).any()):
            ctx.fail(UNSUPPORTED, f"the initial state has {field} ≠ 0", "start from state=None, or with zero i and z")
    return _param(ctx, "the initial state v", state.v, shape)


def _threaded_state(ctx: ConvertContext) -> Any:
    """The initial state of a cell called once per step in the model's time loop: its state
    argument must be the state it returned at the previous step."""
    if not any(isinstance(leaf, Ref) for leaf in pytree.tree_leaves(ctx.arg(1))):
        ctx.fail(
            "FE-STATE",
            "the cell's state is not passed back to it at the next step, so Norse starts it afresh at "
            "every step (a cell keeps no state between calls)",
            "loop over time in forward and pass the returned state as the second positional argument "
            "(`z, s = cell(x[t], s)`), or wrap the cell in norse.torch.Lift",
        )
    return ctx.state_init(1, 1)


def _given_state(ctx: ConvertContext) -> Any:
    """The initial state given to a sequence module (None: its own), which must be a constant."""
    state = ctx.arg(1)
    if any(isinstance(leaf, Ref) for leaf in pytree.tree_leaves(state)):
        ctx.fail("FE-STATE", "the initial state of the sequence is computed by the model", "pass state=None")
    if ctx.lead != 2:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            f"{type(ctx.call.target).__name__} loops over dim 0 but is called on one time step",
            "call sequence modules on [T, B, ...], or use the matching cell in a time loop",
        )
    return state


# --- neuron builders --------------------------------------------------------------------------


def _lif_box(ctx: ConvertContext, m: LIFBoxCell, x: str, state: Any, suffix: str) -> str:
    """functional/lif_box.py: lif_box_feed_forward_step; initial v = v_leak (module/lif_box.py)."""
    p, shape = m.p, ctx.type_of(x).shape
    reset = RESETS.get(p.reset_method)
    if reset is None:
        ctx.fail(UNSUPPORTED, f"reset_method={p.reset_method!r} is not supported", "use reset_value or reset_subtract")
    v_leak = _param(ctx, "v_leak", p.v_leak, shape)
    neuron = ops.Neuron(
        float_order=ops.FloatOrder(
            "delta_box", rate=_param(ctx, "dt·tau_mem_inv", m.dt * p.tau_mem_inv, shape), v_rest=v_leak
        ),
        v_init=_v_init(ctx, state, v_leak, shape),
        **_spiking(ctx, p, shape, reset),
    )
    return ctx.add(neuron, x, suffix=suffix)


def _membrane(
    ctx: ConvertContext, m: nn.Module, shape: tuple[int, ...], charge: Any, v_leak: np.ndarray, current: Any = "affine"
) -> ops.FloatOrder:
    """Norse's float order: the membrane leaks by c_m = dt·tau_mem_inv towards v_leak."""
    rate = _param(ctx, "dt·tau_mem_inv", m.dt * m.p.tau_mem_inv, shape)
    return ops.FloatOrder(charge, rate=rate, v_rest=v_leak, current=current)


def _lif_neuron(
    ctx: ConvertContext, m: nn.Module, shape: tuple[int, ...], state: Any, *, spiking: bool = True
) -> ops.Neuron:
    """functional/lif.py: lif_feed_forward_step / lif_step after the input current; initial
    v = v_leak, i = 0 (module/lif.py: initial_state). Without spiking: the leaky integrator of
    functional/leaky_integrator.py (li_feed_forward_step, li_step): the same current and membrane
    updates, no fire and no reset, the membrane as output; initial v = v_leak, i = 0
    (module/leaky_integrator.py: initial_state)."""
    p = m.p
    v_leak = _param(ctx, "v_leak", p.v_leak, shape)
    fire = _spiking(ctx, p, shape, "zero") if spiking else {"spikes": "none", "reset": "none"}
    return ops.Neuron(
        float_order=_membrane(ctx, m, shape, "delta", v_leak, current="euler"),
        i_decay=_param(ctx, "-dt·tau_syn_inv", -m.dt * p.tau_syn_inv, shape),
        input_order="current_first",
        v_init=_v_init(ctx, state, v_leak, shape),
        **fire,
    )


def _leaky_integrator(ctx: ConvertContext, m: LI | LICell, x: str, state: Any, suffix: str) -> str:
    return ctx.add(_lif_neuron(ctx, m, ctx.type_of(x).shape, state, spiking=False), x, suffix=suffix)


def _leaky_integrator_linear(ctx: ConvertContext, m: LILinearCell, x: str, state: Any, suffix: str) -> str:
    """functional/leaky_integrator.py: li_step: `i + linear(x, input_weights)` enters the current
    in one addition, exactly as the Linear node followed by the neuron computes it."""
    current = ctx.add(ops.Linear(tensor_param(m.input_weights)), x, suffix=f"{suffix}.input_weights")
    return _leaky_integrator(ctx, m, current, state, suffix)


def _leaky_integrator_box(ctx: ConvertContext, m: LIBoxCell, x: str, state: Any, suffix: str) -> str:
    """functional/leaky_integrator_box.py: li_box_feed_forward_step, v' = v + c_m·((v_leak − v) + x)
    (bitwise the "delta" charge: fl(E − v) = −fl(v − E), docs/library-semantics.md §4.1);
    initial v = v_leak (module/leaky_integrator_box.py: initial_state)."""
    p, shape = m.p, ctx.type_of(x).shape
    v_leak = _param(ctx, "v_leak", p.v_leak, shape)
    neuron = ops.Neuron(
        float_order=ops.FloatOrder(
            "delta", rate=_param(ctx, "dt·tau_mem_inv", m.dt * p.tau_mem_inv, shape), v_rest=v_leak
        ),
        v_init=_v_init(ctx, state, v_leak, shape),
        spikes="none",
        reset="none",
    )
    return ctx.add(neuron, x, suffix=suffix)


def _lif(ctx: ConvertContext, m: LIFCell | LIF, x: str, state: Any, suffix: str) -> str:
    return ctx.add(_lif_neuron(ctx, m, ctx.type_of(x).shape, state), x, suffix=suffix)


def _iaf(ctx: ConvertContext, m: IAFCell | IAF, x: str, state: Any, suffix: str) -> str:
    """functional/iaf.py: iaf_feed_forward_step; initial v = v_reset (module/iaf.py)."""
    shape = ctx.type_of(x).shape
    spiking = _spiking(ctx, m.p, shape, "zero")
    neuron = ops.Neuron(v_init=_v_init(ctx, state, spiking["v_reset"], shape), **spiking)
    return ctx.add(neuron, x, suffix=suffix)


def _lif_recurrent(ctx: ConvertContext, m: LIFRecurrentCell | LIFRecurrent, x: str, state: Any, suffix: str) -> str:
    """functional/lif.py: lif_step sums `(i + linear(x, W_in)) + linear(z, W_rec)`, z the cell's
    spikes of the previous step (zeros at first). The IR neuron adds its whole input to the
    current in one addition, so the graph feeds it `W_in·x + W_rec·z[t−1]` and computes
    `i + (W_in·x + W_rec·z)`: the current, and through it the membrane, can differ from Norse's
    in the last bit (tests/integration/test_norse.py bounds it; spikes are compared exactly).
    The late input of the Neuron adds to the membrane after the charge, not to the current, so
    it cannot carry Norse's order either."""
    hidden = (int(m.recurrent_weights.shape[0]),)
    previous = ctx.delay(TensorType(hidden, SPIKE), suffix=f"{suffix}.z_delay")
    feedforward = ctx.add(ops.Linear(tensor_param(m.input_weights)), x, suffix=f"{suffix}.input_weights")
    feedback = ctx.add(ops.Linear(tensor_param(m.recurrent_weights)), previous, suffix=f"{suffix}.recurrent_weights")
    current = ctx.add(ops.Elementwise("add"), feedforward, feedback, suffix=f"{suffix}.input")
    spikes = ctx.add(_lif_neuron(ctx, m, hidden, state), current, suffix=suffix)
    ctx.connect(previous, spikes)
    return spikes


BUILDERS: dict[type, Builder] = {
    LIFBoxCell: _lif_box,
    LIFCell: _lif,
    LIF: _lif,
    IAFCell: _iaf,
    IAF: _iaf,
    LIFRecurrentCell: _lif_recurrent,
    LIFRecurrent: _lif_recurrent,
    LI: _leaky_integrator,
    LICell: _leaky_integrator,
    LILinearCell: _leaky_integrator_linear,
    LIBoxCell: _leaky_integrator_box,
}


LEAKY_INTEGRATOR_CELLS = (LICell, LIBoxCell, LILinearCell)
CELLS = (LIFBoxCell, LIFCell, IAFCell, LIFRecurrentCell, *LEAKY_INTEGRATOR_CELLS)


def _build(m: nn.Module) -> Builder:
    """The builder of m's class, or of the base class whose forward m keeps (the registry picks
    converters by the same rule: registry.py: find_module_converter)."""
    return next(BUILDERS[cls] for cls in type(m).__mro__ if cls in BUILDERS)


# --- converters -------------------------------------------------------------------------------


@module_converter(LIFBoxCell, LIFCell, IAFCell, LICell, LIBoxCell, LILinearCell)
def cell(ctx: ConvertContext, m: nn.Module) -> str | tuple[str, str]:
    """A feed-forward cell, one step per call in the model's time loop (state threaded). A leaky
    integrator returns its membrane twice, as output and as the state's v: the same tensor."""
    node = _build(m)(ctx, m, ctx.input(0), _threaded_state(ctx), "")
    return (node, node) if isinstance(m, LEAKY_INTEGRATOR_CELLS) else node


@module_converter(LIFRecurrentCell)
def recurrent_cell(ctx: ConvertContext, m: LIFRecurrentCell) -> tuple[str, ...]:
    """Returns (z, LIFState(z, v, i)): the spikes are outputs 0 and 1."""
    spikes = _lif_recurrent(ctx, m, ctx.input(0), _threaded_state(ctx), "")
    return (spikes, spikes)


@module_converter(LIF, IAF, LIFRecurrent, LI)
def sequence(ctx: ConvertContext, m: nn.Module) -> str:
    """norse/torch/module/snn.py: SNN.forward / SNNRecurrent.forward run the cell's step
    function over dim 0 of [T, B, ...] and return (spikes [T, B, ...], final state)."""
    return _build(m)(ctx, m, ctx.input(0), _given_state(ctx), "")


@module_converter(Lift)
def lift(ctx: ConvertContext, m: Lift) -> str:
    """norse/torch/module/lift.py: Lift.forward applies its module to every step x[t] of
    [T, B, ...], passing a stateful module's state on from step to step (None at first)."""
    if isinstance(ctx.arg(0), tuple):
        ctx.fail("FE-STATE", "Lift is given an initial state", "call Lift on the input tensor alone")
    return _lifted(ctx, m.lifted_module, ".lifted_module", ctx.input(0))


def _lifted(ctx: ConvertContext, m: nn.Module, suffix: str, x: str) -> str:
    """Module m run by Lift on one step [B, ...]: a container's children in turn, a Norse cell
    as a neuron that starts from None and keeps its state, any other module by its converter.
    Every cell reached here keeps its state: Lift passes a cell's or a SequentialState's state on
    (`is_stateful`), SequentialState each child's, and a cell inside nn.Sequential returns a tuple
    that Lift cannot stack, so Norse cannot run it."""
    if isinstance(m, nn.Sequential):
        for name, child in m.named_children():
            x = _lifted(ctx, child, f"{suffix}.{name}", x)
        return x
    if isinstance(m, CELLS) and find_module_converter(m) is not None:
        return _build(m)(ctx, m, x, None, suffix)
    return ctx.convert_child(m, ctx.name + suffix, x, lead=1)


@module_converter(LSNNCell, LSNNRecurrentCell, LSNN, LSNNRecurrent)
def lsnn(ctx: ConvertContext, m: nn.Module) -> None:
    """Refused: functional/lsnn.py: lsnn_feed_forward_step (and lsnn_step) adapt the threshold,
    a third state b with `b ← b + dt·τ_adapt_inv·(v_th − b)`, fire on `v > b`, then `b ← b + β·z`.
    snnc's Neuron has a fixed threshold θ (snnc/ir/ops.py), and no exact rewrite of b into it
    exists (β = 0 keeps b = v_th, which a trained LSNN does not have)."""
    ctx.fail(
        "FE-UNSUPPORTED-OP",
        f"{type(m).__name__} adapts its threshold (a state b that decays towards v_th and grows by "
        "beta at each spike, norse/torch/functional/lsnn.py); snnc's neuron has a fixed threshold",
        "use a fixed-threshold cell (LIFCell, LIFBoxCell, IAFCell); snnc has no adaptive-threshold neuron yet",
    )
