"""A quantized `Neuron`, evaluated in integers from the integer semantics in its docstring
(snnc/ir/ops.py) and the graph's `Arithmetic` (snnc/ir/quant.py).

The state (v, i) and every intermediate are float32 tensors where static bounds prove that no
intermediate reaches 2^23 and every operation is exact on float32 integers (no decay shift, no
spike-count division: `_float_exact`), so that the per-step loop reads the synaptic sums in the
float32 they arrive in without a conversion; else int32 where no intermediate can leave int32
before its register's rule applies, int64 otherwise (the planner in int_ops.py decides). Steps
that change no value are skipped, all exact: a gain of 1, a bias of 0, a decay multiplier of 2^k,
and a register rule whose input provably stays in range. The per-step loop of an IF neuron
without traces is four in-place tensor operations: charge, register (a saturating clamp), fire,
reset (h − h·s on a float32 state); on chunks large enough, the same four in one compiled pass
over the layer (fused.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from snnc.ir.ops import Neuron
from snnc.ir.quant import Arithmetic
from snnc.sim import fused
from snnc.sim.int_arith import bound, decayed, in_register
from snnc.sim.neuron import serial_steps

Tensor = torch.Tensor
INT32_MAX = 2**31 - 1
EXACT_FLOAT32 = 2**24  # every integer of smaller magnitude is a float32, and so is every exact result below it


@dataclass(frozen=True)
class NeuronPlan:
    """What the planner knows statically about one neuron node."""

    arithmetic: Arithmetic
    input_bound: int  # max |x| of its input
    dtype: torch.dtype  # float32 (exact below 2^24), int32 or int64 for the state and intermediates
    spikes: torch.dtype  # carrier of its output (float32 0/1 and counts where exact)

    @staticmethod
    def state_dtype(op: Neuron, arith: Arithmetic, input_bound: int, late_bound: int = 0) -> torch.dtype:
        """int32 if no intermediate can exceed it: decay products v·m and i·m (where the decay is
        a real multiply), g·x and the 2^b its input register's rule computes with, the current's
        sum of the decayed current and the input, and the charge sum of the decayed state, the
        input or current, the bias, the late input and a reset subtraction."""
        vmax, imax = bound(arith.voltage), bound(arith.current)
        gx = int(np.abs(op.gain).max()) * input_bound
        a_max = min(gx, bound(arith.input))  # |a| = |R_input(g·x)|
        inflow = imax if op.has_current else a_max
        theta = int(np.abs(op.threshold).max())
        worst = max(gx, vmax + inflow + int(np.abs(op.bias).max()) + late_bound + theta)
        if gx > arith.input.max:  # the input register's rule applies
            worst = max(worst, bound(arith.input))
        if op.has_current:
            worst = max(worst, imax + a_max)
        if _multiplies(op.v_decay, arith):
            worst = max(worst, vmax * arith.decay_one)
        if _multiplies(op.i_decay, arith):
            worst = max(worst, imax * arith.decay_one)
        if 2 * worst < EXACT_FLOAT32 and _float_exact(op, arith):
            return torch.float32
        return torch.int32 if worst <= INT32_MAX else torch.int64


def _float_exact(op: Neuron, arith: Arithmetic) -> bool:
    """Whether every operation of the neuron is exact in float32 on integers below 2^23: sums,
    differences, products by 0/1 masks and by small gains, comparisons and the register rules
    (clip; wrap's `%` by a power of two). A decay `>> k` and a multi-spike count (a division) are
    integer operations: such a neuron keeps an integer state."""
    one = arith.decay_one

    def keeps(m: np.ndarray | None) -> bool:
        return m is None or bool((m == one).all())

    forgets = op.i_decay is not None and bool((op.i_decay == 0).all())
    return keeps(op.v_decay) and (not op.has_current or keeps(op.i_decay) or forgets) and op.spikes != "multi"


def plain_integrate_and_fire(op: Neuron, arith: Arithmetic, state: torch.dtype) -> bool:
    """Whether every step is h = clip(v + a), s = h ≥ θ, v = h·(1 − s) on a float32 state,
    nothing else: single spikes reset to zero in the same step, no current, decay, bias or floor,
    a saturating voltage register (the common IF neuron: one loop in torch, or compiled)."""
    return (
        state == torch.float32
        and op.spikes == "single"
        and op.reset == "zero"
        and not op.v_reset.any()
        and op.reset_timing == "same_step"
        and not op.has_current
        and not op.bias.any()
        and bool((op.v_decay == arith.decay_one).all())
        and op.v_min is None
        and arith.voltage.overflow in ("saturate", "saturate_symmetric")
    )


def runs_compiled(op: Neuron, arith: Arithmetic, state: torch.dtype) -> bool:
    """Whether the neuron's chunks take the compiled loop (fused.py) once numba is loaded: a plain
    integrate-and-fire neuron with one threshold for all."""
    return plain_integrate_and_fire(op, arith, state) and op.threshold.ndim == 0 and fused.importable()


def _multiplies(m: np.ndarray | None, arith: Arithmetic) -> bool:
    """Whether a decay multiplier is a real multiply: not absent, not 2^k (keep), not 0 (forget)."""
    return m is not None and not bool((m == arith.decay_one).all()) and not bool((m == 0).all())


def _param(value: np.ndarray, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    t = torch.tensor(np.asarray(value), dtype=dtype, device=device)
    if t.dim() == 1 and len(shape) > 1:
        t = t.reshape(t.shape[0], *([1] * (len(shape) - 1)))
    return t


class IntNeuronState:
    """One quantized Neuron node's state for a batch, and the traces asked of it."""

    def __init__(
        self, op: Neuron, plan: NeuronPlan, shape: tuple[int, ...], batch: int, device: torch.device, record
    ) -> None:
        arith, dt = plan.arithmetic, plan.dtype
        self.op, self.arith, self.dtype, self.spike_dtype = op, arith, dt, plan.spikes
        one = arith.decay_one

        def param(value: np.ndarray) -> Tensor:
            return _param(value, shape, dt, device)

        def decay(value: np.ndarray | None) -> Tensor | None:  # None: the multiplier is 2^k everywhere, an exact no-op
            return None if value is None or bool((value == one).all()) else param(value)

        self.forget_current = op.i_decay is not None and bool((op.i_decay == 0).all())  # dec(i, 0) = 0

        self.threshold = param(op.threshold)
        self.theta_scalar = int(op.threshold) if op.threshold.ndim == 0 else None
        self.gain = None if bool((op.gain == 1).all()) else param(op.gain)
        self.bias = param(op.bias) if op.bias.any() else None
        self.v_decay, self.i_decay = decay(op.v_decay), decay(op.i_decay)
        self.v_reset = param(op.v_reset) if op.v_reset.any() else None
        self.v_min = None if op.v_min is None else param(op.v_min)
        # a register rule is skipped where its input cannot leave the register
        gx = int(np.abs(op.gain).max()) * plan.input_bound
        self.input_register = arith.input if gx > arith.input.max else None
        a_max = min(gx, bound(arith.input))
        self.current_register = None if self.forget_current and a_max <= arith.current.max else arith.current
        full = (batch, *shape)
        self.v = param(op.v_init).expand(full).clone()
        self.i = param(op.i_init).expand(full).clone() if op.has_current else None
        self.traces: dict[str, list[Tensor]] = {name: [] for name in record}
        self.plain = plain_integrate_and_fire(op, arith, dt)
        self.zero_in_place = (
            dt == torch.float32
            and plan.spikes in (torch.float32, torch.uint8)  # h·s promotes byte spikes to float32, exactly
            and op.reset == "zero"
            and self.v_reset is None
        )

    # --- one chunk ---------------------------------------------------------------------------

    def run(self, x: Tensor, late: Tensor | None = None) -> Tensor:
        """Spikes for the chunk x [n, B, *shape] (and the late input), or the membrane v of a
        non-spiking neuron; the state carries over."""
        op = self.op
        if self.gain is not None or self.input_register is not None:
            x = x.to(self.dtype)  # a = R_input(g·x) depends on no state: one operation per chunk
            x = x if self.gain is None else x * self.gain
            x = x if self.input_register is None else in_register(x.clone(), self.input_register)
        late = None if late is None else late.to(self.dtype)
        self._follow_layout(x[0])
        single = op.spikes == "single" and op.reset_timing == "same_step"
        spikes = torch.empty_like(x, dtype=self.spike_dtype)
        keep = torch.empty_like(x[0], dtype=self.dtype)
        in_place = single and not self.traces  # no step's h or v is kept: build h in the membrane's buffer
        with serial_steps(x):
            self._steps(x, late, spikes, keep, single, in_place)
        return spikes

    def _follow_layout(self, step: Tensor) -> None:
        """Keep the state in the memory layout of the input (channels-last from the int8
        convolutions): a step's operations on operands of different layouts cost twice as much."""
        if step.dim() == 4 and not step.is_contiguous() and step.is_contiguous(memory_format=torch.channels_last):
            self.v = self.v.contiguous(memory_format=torch.channels_last)
            self.i = None if self.i is None else self.i.contiguous(memory_format=torch.channels_last)

    def _steps(
        self, x: Tensor, late: Tensor | None, spikes: Tensor, keep: Tensor, single: bool, in_place: bool
    ) -> None:
        """The per-step loop of `run`, writing spikes[t] (or the membrane) for every step of x."""
        op = self.op
        compare = torch.ge if op.fire_op == "ge" else torch.gt
        if in_place and self._plain_integrate_and_fire(x, late):
            self._integrate_and_fire(x, spikes, compare)
            return
        for t in range(x.shape[0]):
            h = self.v if in_place else torch.empty(x.shape[1:], dtype=self.dtype, device=x.device)
            self._charge(x[t].to(self.dtype), None if late is None else late[t], h)  # converted while hot
            if single:  # v = reset(h, h ≥ θ) from the mask of those that did not fire
                compare(h, self.threshold, out=spikes[t])
                if in_place and self.zero_in_place:  # h − h·s = h·(1 − s): exact on float32 integers
                    self.v = h.addcmul_(h, spikes[t], value=-1)
                else:
                    self.v = self._reset_single(h, keep, in_place)
            else:
                s = self._fire(h)
                spikes[t] = s
                self.v = self._reset(h, s) if op.reset_timing == "same_step" else h
            if self.v_min is not None:
                self.v = torch.maximum(self.v, self.v_min)
            if op.spikes == "none":  # a leaky integrator's output is its membrane
                spikes[t] = self.v
            self._trace(h=h, v=self.v, i=self.i)

    def _plain_integrate_and_fire(self, x: Tensor, late: Tensor | None) -> bool:
        """Whether this chunk's steps are `plain_integrate_and_fire`'s, nothing else: no late
        input, the input already in the state's dtype (the caller rules out traces)."""
        return self.plain and x.dtype == self.dtype and late is None

    def _integrate_and_fire(self, x: Tensor, spikes: Tensor, compare) -> None:
        """The loop of `_steps` for `_plain_integrate_and_fire`: one compiled pass over the layer
        a step (fused.py), else four in-place torch operations a step."""
        v, theta, low, high = self.v, self.threshold, self.arith.voltage.min, self.arith.voltage.max
        theta_scalar, on_cpu = self.theta_scalar, x.device.type == "cpu"
        if theta_scalar is not None and on_cpu and fused.available(x.numel()) and fused.same_layout(v, x, spikes):
            fused.integrate_and_fire(v, x, spikes, theta_scalar, low, high, strict=compare is torch.gt)
            return
        for t in range(x.shape[0]):
            v.add_(x[t]).clamp_(low, high)
            compare(v, theta, out=spikes[t])
            v.addcmul_(v, spikes[t], value=-1)

    def _charge(self, a: Tensor, late: Tensor | None, h: Tensor) -> None:
        """h = R_voltage(dec(u, v_decay) + I + bias + z), written into h; a = R_input(g·x[t])."""
        op, arith = self.op, self.arith
        inflow = a
        if self.i is not None:
            previous = self.i
            if self.forget_current:  # i = R_current(0 + a): a itself where it fits the register
                self.i = a if self.current_register is None else in_register(a.clone(), self.current_register)
            else:
                self.i = in_register(self._decay(previous, self.i_decay) + a, arith.current)
            inflow = self.i if op.input_order == "current_first" else previous
        u = self.v
        if op.reset_timing == "next_step_state":
            u = self._reset(u, self._fire(u))
        torch.add(self._decay(u, self.v_decay), inflow, out=h)
        if self.bias is not None:
            h += self.bias
        if late is not None:
            h += late
        in_register(h, arith.voltage)
        if op.reset_timing == "next_step":
            h.copy_(self._reset(h, self._fire(self.v)))

    def _decay(self, state: Tensor, m: Tensor | None) -> Tensor:
        if m is None:
            return state
        return decayed(state, m, self.arith.decay_shift, self.arith.decay_rounding)

    def _fire(self, h: Tensor) -> Tensor:
        """Spike counts as integers: 0/1, or the multiples of θ reached, capped at max_spikes."""
        op = self.op
        if op.spikes == "none":
            return torch.zeros_like(h)
        compare = torch.ge if op.fire_op == "ge" else torch.gt
        fired = compare(h, self.threshold).to(self.dtype)
        if op.spikes == "single":
            return fired
        reach = h if op.fire_op == "ge" else h - 1  # "gt": floor((h − 1)/θ), exact for integers
        count = torch.div(reach, self.threshold, rounding_mode="floor")
        if op.max_spikes is not None:
            count = count.clamp_(max=op.max_spikes)
        return count * fired

    def _reset_single(self, h: Tensor, keep: Tensor, in_place: bool = False) -> Tensor:
        """The same-step reset of a single-spike neuron, from the mask of those that did not fire
        (`in_place`: h may be overwritten)."""
        op = self.op
        below = torch.lt if op.fire_op == "ge" else torch.le
        below(h, self.threshold, out=keep)  # 1 where no spike
        if op.reset == "zero":
            v = h.mul_(keep) if in_place else h * keep
            return v if self.v_reset is None else v + self.v_reset * (1 - keep)
        if op.reset == "subtract":
            return self._subtract(h, 1 - keep)
        return h

    def _reset(self, h: Tensor, s: Tensor) -> Tensor:
        if self.op.reset == "subtract":
            return self._subtract(h, s)
        if self.op.reset == "zero":
            spiked = (s > 0).to(self.dtype)
            v = h * (1 - spiked)
            return v if self.v_reset is None else v + self.v_reset * spiked
        return h

    def _subtract(self, h: Tensor, s: Tensor) -> Tensor:
        """h − θ·s through the voltage register (a next-step or multi reset can leave it)."""
        v = h - s * self.threshold if self.theta_scalar is None else torch.sub(h, s, alpha=self.theta_scalar)
        return in_register(v, self.arith.voltage)

    def _trace(self, **values: Tensor | None) -> None:
        for name, steps in self.traces.items():
            value = values[name]
            assert value is not None  # only a neuron with a current offers "i" (checks.variables)
            steps.append(value)  # no step's tensors are modified after it

    def recorded(self) -> dict[str, Tensor]:
        """The traces asked for, [T, B, *shape], as integers (a float32 state's are below 2^24)."""
        wide = torch.int32 if self.dtype == torch.float32 else self.dtype
        return {name: torch.stack(steps).to(wide) for name, steps in self.traces.items()}
