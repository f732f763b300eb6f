"""snnTorch 1.0.0 neurons as IR Neurons (docs/library-semantics.md §2, read at snnTorch 1.0.0).

Paths are relative to `site-packages/snntorch/`. Every class below fires through
`_neurons/neurons.py: SpikingNeuron.fire`, `spk = spike_grad(mem − threshold) · graded_spikes_factor`,
whose forward is `(x > 0)` for every surrogate in `surrogate.py`, so `fire_op="gt"`; and resets
through `SpikingNeuron.mem_reset`, `r = spike_grad(mem_prev − threshold)` from the *stored* membrane
of the previous step, so the reset lands one step late (`reset_timing` "next_step"). The stored and
returned `mem` is the membrane before that reset, which is snnc's v with a next_step timing.

| class (file: function)                    | Neuron fields                                                     |
|-------------------------------------------|-------------------------------------------------------------------|
| `Leaky` (`_neurons/leaky.py: forward,     | v_decay = beta.clamp(0, 1) (torch), gain 1, bias 0, gt;           |
|  _base_state_function, _base_sub,         | subtract: `(β·mem + x) − r·θ` → subtract, next_step;              |
|  _base_zero, _base_int`)                  | zero: `β·((1 − r)·mem) + x` → zero, next_step_state;              |
|                                           | none → none. reset_delay=False: zero/none → same_step             |
| `Synaptic` (`_neurons/synaptic.py:        | i_decay = alpha.clamp(0, 1), current affine, current_first;       |
|  _base_state_function, _base_sub,         | subtract → next_step; zero: `mem − r·mem` (the whole charge       |
|  _base_zero`)                             | dropped, syn kept) → zero, next_step                              |
| `RLeaky` (`_neurons/rleaky.py:            | Leaky's fields plus the late input `recurrent(spk[t−1])`, added   |
|  _base_state_function, _base_sub,         | after `β·mem + x`: Delay(1) of the output spikes → Linear (its    |
|  _base_zero`, `RecurrentOneToOne`)        | bias reaches step 0), Conv2d (converted as torch.nn layers), or   |
|                                           | Scale(V) (`RecurrentOneToOne`); zero → next_step                  |

Initial state: zeros (`_init_mem` registers empty buffers; `forward` replaces a state whose shape
differs from the input by zeros), or the constant the user's loop passes at its first step.
`graded_spikes_factor` becomes a Scale after the neuron; per-neuron `beta`/`threshold` are read
as torch broadcasts them against the `[B, *shape]` input (a `(C,)` tensor on `[B, C, H, W]`
varies along W). Refused: `inhibition=True` (`SpikingNeuron.fire_inhibition` lets only the
arg-max neuron spike while `mem_reset` resets them all), `state_quant`, `reset_delay=False`
with subtract reset (`Leaky.forward`'s "avoid double reset" subtracts θ again from a membrane
still above it after its own reset), and a `spike_grad` whose forward is not `x > 0`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import snntorch
import torch
from snntorch._neurons.rleaky import RecurrentOneToOne
from torch import nn

from snnc.frontend.context import ConvertContext, tensor_param
from snnc.frontend.layout import Layout
from snnc.frontend.registry import module_converter
from snnc.ir import ops
from snnc.ir.types import FLOAT, SPIKE, TensorType

Reset = Literal["zero", "subtract", "none"]
Timing = Literal["same_step", "next_step", "next_step_state"]

# The step function forward() runs, bound at construction from reset_mechanism
# (leaky.py / synaptic.py / rleaky.py: __init__), and the reset it implements.
_RESETS: dict[str, Reset] = {"_base_sub": "subtract", "_base_zero": "zero", "_base_int": "none"}
_RESET_VALUES = {"subtract": 0, "zero": 1, "none": 2}  # SpikingNeuron.reset_dict
# Values on both sides of the step fire() takes: spike_grad's forward must give 1 where x > 0, else 0.
_FIRE_PROBE = torch.tensor([-float("inf"), -1.0, -1e-45, -0.0, 0.0, 1e-45, 1e-30, 1.0, float("inf")])


def layout(model: nn.Module) -> Layout | None:
    """`init_hidden=True` neurons keep their state and are called once per step (`nn.Sequential`);
    neurons without it take their state as arguments from a loop over time in the user's forward."""
    neurons = [m for m in model.modules() if isinstance(m, snntorch.SpikingNeuron)]
    if not neurons:
        return None
    return Layout("per_step") if all(m.init_hidden for m in neurons) else Layout("loop")


def is_stateful(module: nn.Module) -> bool:
    """snnTorch keeps state in `SpikingNeuron`s (_neurons/neurons.py): every neuron."""
    return isinstance(module, snntorch.SpikingNeuron)


def reset(model: nn.Module) -> None:
    """Zero every neuron's state buffers with its own `reset_mem` (`snntorch.utils.reset` finds no
    neuron in a model loaded from a file: it walks the class-level instance registry)."""
    for m in model.modules():
        if isinstance(m, snntorch.SpikingNeuron) and hasattr(m, "reset_mem"):
            m.reset_mem()


@module_converter(snntorch.Leaky)
def leaky(ctx: ConvertContext, m: snntorch.Leaky) -> str | tuple[str, str]:
    """The spikes; and where the model reads the returned membrane of a Leaky without reset (the
    regression tutorials' readout `Leaky(reset_mechanism="none")`), that membrane too: a twin
    non-spiking neuron (spikes "none") whose output v[t] = β·v[t−1] + x[t] is the same float."""
    x, shape = ctx.input(0), ctx.value_shape(0)
    kind, timing = _reset(ctx, m, zero_timing="next_step_state")
    op = _neuron(ctx, m, shape, kind, timing, v_init=_initial(ctx, 1, 1, shape))
    spikes = _graded(ctx, ctx.add(op, x), _graded_factor(ctx, m, shape))
    read = [use for use in ctx.uses(1) if use != (ctx.call.name, 1)] if len(ctx.call.outputs) > 1 else []
    if read and kind == "none":
        return spikes, ctx.add(op.replace(spikes="none"), x, suffix=".mem")
    return spikes


@module_converter(snntorch.Synaptic)
def synaptic(ctx: ConvertContext, m: snntorch.Synaptic) -> str:
    x, shape = ctx.input(0), ctx.value_shape(0)
    kind, timing = _reset(ctx, m, zero_timing="next_step")
    op = _neuron(ctx, m, shape, kind, timing, v_init=_initial(ctx, 2, 2, shape)).replace(
        i_decay=_per_sample(ctx, "alpha", m.alpha.clamp(0, 1), shape),
        i_init=_initial(ctx, 1, 1, shape),
    )
    return _graded(ctx, ctx.add(op, x), _graded_factor(ctx, m, shape))


@module_converter(snntorch.RLeaky)
def rleaky(ctx: ConvertContext, m: snntorch.RLeaky) -> str:
    """The feedback `recurrent(spk[t−1])` (spk: the graded output, zeros at step 0) is the
    Neuron's late input, a cycle through a one-step Delay."""
    x, shape = ctx.input(0), ctx.value_shape(0)
    kind, timing = _reset(ctx, m, zero_timing="next_step")
    op = _neuron(ctx, m, shape, kind, timing, v_init=_initial(ctx, 2, 1, shape))
    if (_initial(ctx, 1, 0, shape) != 0).any():
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "the initial spikes passed to RLeaky are not zero",
            "start from rleaky.init_rleaky() (zero spikes); the IR's feedback Delay starts at zero",
        )
    factor = _graded_factor(ctx, m, shape)
    delay = ctx.delay(TensorType(shape, SPIKE if factor is None else FLOAT), suffix=".feedback")
    feedback = ctx.convert_child(m.recurrent, f"{ctx.name}.recurrent", delay)
    spikes = _graded(ctx, ctx.add(op, x, feedback), factor)
    ctx.connect(delay, spikes)
    return spikes


@module_converter(RecurrentOneToOne)
def recurrent_one_to_one(ctx: ConvertContext, m: RecurrentOneToOne) -> str:
    """`_neurons/rleaky.py: RecurrentOneToOne.forward`: `x * V`, V broadcast by torch rules."""
    return ctx.add(ops.Scale(_channel_factor(ctx, "V", m.V, ctx.value_shape(0))), ctx.input(0))


# --- shared by the converters ----------------------------------------------------------------


def _neuron(
    ctx: ConvertContext,
    m: snntorch.SpikingNeuron,
    shape: tuple[int, ...],
    kind: Reset,
    timing: Timing,
    v_init: np.ndarray,
) -> ops.Neuron:
    """The fields the classes share: fire on mem > θ; `β·mem + x` with β = `self.beta.clamp(0, 1)`
    evaluated by torch (each class's `_base_state_function`)."""
    _check_supported(ctx, m)
    return ops.Neuron(
        threshold=_per_sample(ctx, "threshold", m.threshold, shape),
        v_decay=_per_sample(ctx, "beta", m.beta.clamp(0, 1), shape),
        reset=kind,
        reset_timing=timing,
        fire_op="gt",
        v_init=v_init,
    )


def _check_supported(ctx: ConvertContext, m: snntorch.SpikingNeuron) -> None:
    if m.inhibition:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "inhibition=True lets only the neuron with the largest membrane spike while every neuron "
            "above threshold is reset (SpikingNeuron.fire_inhibition, mem_reset); no IR neuron does that",
            "train with inhibition=False",
        )
    if m.state_quant:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "state_quant quantizes the membrane inside the float model; the IR's float neuron has no such step",
            "convert the float model (state_quant=False); snnc quantizes for the target itself",
        )
    with torch.no_grad():
        try:
            fired = m.spike_grad(_FIRE_PROBE.clone())
        except Exception:  # a user surrogate that cannot run on a plain tensor
            fired = None
    if not isinstance(fired, torch.Tensor) or not torch.equal(fired.float(), (_FIRE_PROBE > 0).float()):
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "spike_grad's forward is not the step (mem - threshold > 0) that snntorch.surrogate functions compute",
            "use a surrogate from snntorch.surrogate (or snntorch.surrogate.custom_surrogate)",
        )
    if ctx.module_calls() > 1:
        ctx.fail(
            "FE-UNSUPPORTED-OP",
            "the neuron is called more than once per time step, so its calls share one membrane",
            "use one neuron module per call",
        )


def _reset(ctx: ConvertContext, m: snntorch.SpikingNeuron, zero_timing: Timing) -> tuple[Reset, Timing]:
    """(reset, reset_timing) of the step function forward() runs."""
    kind = _RESETS.get(getattr(m.state_function, "__name__", ""))
    if kind is None or int(m.reset_mechanism_val) != _RESET_VALUES[kind]:
        ctx.fail(  # forward() would run one reset in the charge and the other in reset_delay=False
            "FE-UNSUPPORTED-ATTR",
            f"the neuron's state_function ({getattr(m.state_function, '__name__', m.state_function)}) does "
            f"not match its reset_mechanism ({m.reset_mechanism}): it was changed after construction",
            "pass reset_mechanism to the constructor",
        )
        raise AssertionError
    if m.reset_delay:
        return kind, zero_timing if kind == "zero" else "next_step"
    if kind == "subtract":
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            "reset_delay=False with reset_mechanism='subtract' subtracts the threshold a second time, before "
            "the next charge, from a membrane still above it after its own reset (Leaky.forward); "
            "no IR reset timing does that",
            "use reset_delay=True (the default), or reset_mechanism='zero'",
        )
    return kind, "same_step"  # zero: the stored mem is 0 or ≤ θ, so mem_reset never fires (r ≡ 0)


def _graded_factor(ctx: ConvertContext, m: snntorch.SpikingNeuron, shape: tuple[int, ...]) -> np.ndarray | None:
    """`fire` returns the spikes times graded_spikes_factor (None: a factor of 1, no Scale)."""
    factor = _channel_factor(ctx, "graded_spikes_factor", m.graded_spikes_factor, shape)
    return None if (factor == 1).all() else factor


def _graded(ctx: ConvertContext, neuron: str, factor: np.ndarray | None) -> str:
    return neuron if factor is None else ctx.add(ops.Scale(factor), neuron, suffix=".graded")


def _initial(ctx: ConvertContext, k: int, slot: int, shape: tuple[int, ...]) -> np.ndarray:
    """The initial value of state argument k (the module's output `slot` at the previous step):
    zero when absent or of a shape other than the input's (forward replaces it by zeros), else
    the constant the first step passes, which must be the same for every sample."""
    if ctx.arg(k) is None:
        return np.zeros((), np.float32)
    if not ctx.is_traced(k):
        ctx.fail(
            "FE-STATE",
            f"state argument {k} is the same constant at every step, so the neuron forgets its state",
            "pass the state the neuron returned at the previous step",
        )
    value = ctx.state_init(k, slot)
    if not isinstance(value, torch.Tensor) or tuple(value.shape[1:]) != shape or value.dim() != len(shape) + 1:
        if isinstance(value, torch.Tensor) and bool(value.any()):
            ctx.fail(
                "FE-STATE",
                f"the initial state (argument {k}) of shape {list(value.shape)} is used only when it matches "
                "the input shape",
                "start from the neuron's init function (init_leaky, init_synaptic, init_rleaky)",
            )
        return np.zeros((), np.float32)
    if not bool((value == value[:1]).all()):
        ctx.fail("FE-STATE", f"the initial state (argument {k}) differs between the samples of the batch")
    return _compress(value[0].detach().float())


def _per_sample(ctx: ConvertContext, what: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A parameter as torch broadcasts it against the `[B, *shape]` input, as a scalar, per-channel
    or per-neuron array (the three shapes a Neuron parameter may have)."""
    value = torch.as_tensor(value).detach().float()
    try:
        full = torch.broadcast_to(value, (1, *shape))[0]
    except RuntimeError:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            f"{what} of shape {list(value.shape)} does not broadcast to one value per neuron of {list(shape)}",
            "give one value, one per neuron, or one per channel shaped (C, 1, 1)",
        )
        raise AssertionError from None
    return _compress(full)


def _compress(full: torch.Tensor) -> np.ndarray:
    flat = full.reshape(-1)
    if bool((flat == flat[0]).all()):
        return tensor_param(flat[0])
    channels = full.reshape(full.shape[0], -1)
    if bool((channels == channels[:, :1]).all()):
        return tensor_param(channels[:, 0])
    return tensor_param(full)


def _channel_factor(ctx: ConvertContext, what: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A multiplier as a Scale factor: one value, or one per channel."""
    factor = _per_sample(ctx, what, value, shape)
    if factor.ndim > 1:
        ctx.fail(
            "FE-UNSUPPORTED-ATTR",
            f"{what} varies within a channel; the IR scales by one factor per channel",
            "give one value, or one per channel shaped (C, 1, 1)",
        )
    return factor
