"""The `Neuron` op, evaluated literally from its docstring in snnc/ir/ops.py.

Every float operation is written in the docstring's order, because another order (folding `gain`
into the weights, computing `v − θ ≥ 0`, …) changes float32 results, and the simulator is what
the frontends' library mappings and the quantized backends are checked against. Two liberties
are taken, both exact, because the neuron loop runs once per step and dominates a run's time:

- a multiplication by a factor that is exactly 1 and the addition of a bias that is exactly 0
  are skipped (they change no value, bar the sign of a zero): the common IF neuron then costs
  what SpikingJelly's does;
- spikes and reset masks are 0/1 float tensors, and `where(m, a, b)` is computed as
  `b·(1 − m) + a·m`: for finite values one term is exact and the other ±0, so the result is
  the same (bar the sign of a zero), while on CPU making a bool mask and torch.where on it cost
  about eight times more. A comparison written straight into a float32 tensor gives the mask.

The common neuron (single spikes, reset in the same step, h not traced) runs `_scan`: the same
operations in the same order, computed in place in one membrane buffer, so a step allocates
nothing (at a layer's size every fresh tensor costs page faults as well as its arithmetic). The
plainest of them (`compiled_scan_applies`, untraced) run those operations in numba's compiled
loop instead, one pass over the layer a step (fused.py; the same floats, property-tested).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from snnc.ir.ops import FloatOrder, Neuron
from snnc.sim import fused

Tensor = torch.Tensor
CANONICAL = FloatOrder()
NEURON_VARS = ("v", "h", "i")  # what `record` can ask of a neuron: membrane after/before reset, current


SERIAL_MAX = 1 << 22  # elements per step below which a step's operations run on one thread


@contextmanager
def serial_steps(x: Tensor) -> Iterator[None]:
    """The per-step loop of a neuron on one CPU thread where a step is small: each step is a few
    memory-bound operations on [B, *shape] (a few MB at most), too short for torch's intra-op
    threads to pay for the hand-over they make every operation, and on a machine whose cores are
    shared every hand-over may wait for a descheduled thread (benchmarks/bench_all.py measures
    the loop; the synaptic ops between the loops keep every thread)."""
    threads = torch.get_num_threads()
    if threads == 1 or x.device.type != "cpu" or x[0].numel() > SERIAL_MAX:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def compiled_scan_applies(op: Neuron) -> bool:
    """Whether `NeuronState._scan` of `op` is fused.py's compiled loop (when the neuron is not
    traced): single spikes reset in the same step, an affine charge with scalar θ and decay, no
    current, gain, bias, floor or non-zero v_reset."""
    affine = (op.float_order or CANONICAL).charge == "affine" and not op.has_current
    plain = bool((op.gain == 1).all()) and not op.bias.any() and op.v_min is None
    resets = op.reset != "zero" or not op.v_reset.any()
    scalars = op.threshold.size == 1 and (op.v_decay.size == 1 or bool((op.v_decay == 1).all()))
    single = op.spikes == "single" and op.reset_timing == "same_step"
    return affine and plain and resets and scalars and single


def _broadcastable(value: np.ndarray, shape: tuple[int, ...], device: torch.device) -> Tensor:
    """A parameter as a tensor that broadcasts against [B, *shape]: a scalar as is, a per-channel
    (C,) array over the spatial axes, a per-neuron array as is."""
    t = torch.tensor(value, dtype=torch.float32, device=device)
    if t.dim() == 1 and len(shape) > 1:
        t = t.reshape(t.shape[0], *([1] * (len(shape) - 1)))
    return t


def _factor(value: np.ndarray | None, shape: tuple[int, ...], device: torch.device) -> Tensor | None:
    """A multiplicative factor, or None where it is exactly 1 everywhere (a no-op)."""
    if value is None or bool((value == 1).all()):
        return None
    return _broadcastable(value, shape, device)


def _scaled(factor: Tensor | None, x: Tensor) -> Tensor:
    return x if factor is None else factor * x


class NeuronState:
    """One Neuron node's membrane v (and current i) for a batch, and the traces asked of it."""

    def __init__(
        self,
        op: Neuron,
        shape: tuple[int, ...],
        batch: int,
        device: torch.device,
        record: frozenset[str],
        spikes: torch.dtype = torch.float32,
    ) -> None:
        self.op = op
        self.spikes = spikes  # the output's dtype: uint8 for a byte carrier (carriers.py)
        full = (batch, *shape)
        self.threshold = _broadcastable(op.threshold, shape, device)
        self.v_decay = _factor(op.v_decay, shape, device)
        self.gain = _factor(op.gain, shape, device)
        self.bias = _broadcastable(op.bias, shape, device) if op.bias.any() else None
        self.order = op.float_order or CANONICAL
        self.rate = _broadcastable(self.order.rate, shape, device)
        self.v_rest = _broadcastable(self.order.v_rest, shape, device)
        self.i_decay = _factor(op.i_decay, shape, device)
        if op.i_decay is not None and self.order.current != "affine":  # decay_after / euler use it as it is, even 1
            self.i_decay = _broadcastable(op.i_decay, shape, device)
        self.v_reset = _broadcastable(op.v_reset, shape, device) if op.v_reset.any() else None  # None: 0
        self.v_min = None if op.v_min is None else _broadcastable(op.v_min, shape, device)
        self.v = _broadcastable(op.v_init, shape, device).expand(full).clone()  # its own buffer: _scan writes it
        self.i = _broadcastable(op.i_init, shape, device).expand(full) if op.has_current else None
        self.traces: dict[str, list[Tensor]] = {name: [] for name in record}
        self.scans = op.spikes == "single" and op.reset_timing == "same_step" and "h" not in record
        self.plain = None  # (θ, v_decay) for fused.py's compiled scan, where it applies
        if self.scans and compiled_scan_applies(op):
            self.plain = (float(self.threshold), 1.0 if self.v_decay is None else float(self.v_decay))

    def run(self, x: Tensor, late: Tensor | None = None) -> Tensor:
        """Spikes for the time-major chunk x [n, B, *shape] (and the late input, if connected);
        the state carries over to the next chunk."""
        out = torch.empty_like(x, dtype=self.spikes)
        with serial_steps(x):
            if self.scans:
                if not self._compiled_scan(x, late, out):
                    self._scan(x, late, out)
                return out
            for t in range(x.shape[0]):
                self.step(x[t], out[t], None if late is None else late[t])
        return out

    def _compiled_scan(self, x: Tensor, late: Tensor | None, out: Tensor) -> bool:
        """`_scan` by fused.py's compiled loop, one pass over the layer a step instead of four
        torch operations (the same floats, property-tested); False where it does not apply: not a
        plain neuron, traces or a late input, off the CPU, a chunk too small to load numba for."""
        plain = self.plain
        if plain is None or self.traces or late is not None or x.device.type != "cpu" or x.dtype != torch.float32:
            return False
        if not (fused.available(x.numel()) and fused.same_layout(self.v, x, out)):
            return False
        theta, decay = plain
        fused.float_scan(self.v, x, out, theta, decay, self.op.fire_op == "gt", self.op.reset)
        return True

    def _scan(self, x: Tensor, late: Tensor | None, out: Tensor) -> None:
        """`step` for single spikes reset in the same step, in place: h is built in the membrane
        buffer v, fired into out[t] and reset there (property-tested against `step`,
        tests/sim/test_sim_neuron.py)."""
        op, v = self.op, self.v
        scratch = torch.empty_like(v)
        keep = torch.empty_like(v) if op.reset == "zero" else None
        compare = torch.ge if op.fire_op == "ge" else torch.gt
        below = torch.lt if op.fire_op == "ge" else torch.le  # 1 − fire(h) as a 0/1 tensor, NaN included
        inflow = None  # g·x of the whole chunk, where nothing stateful comes between
        if self.i is None and self.order.charge == "affine" and self.gain is not None:
            inflow = self.gain * x
        for t in range(x.shape[0]):
            current = self._input_current(x[t])
            self._charge_in_place(v, current if inflow is None else inflow[t], scratch, inflow is not None)
            if late is not None:
                v.add_(late[t])
            s = out[t]
            compare(v, self.threshold, out=s)
            if keep is not None:  # zero: h·(1 − s) (+ v_reset·s)
                below(v, self.threshold, out=keep)
                v.mul_(keep)
                if self.v_reset is not None:
                    v.addcmul_(self.v_reset, s)
            elif op.reset == "subtract":  # h − s·θ: s·θ is exact for s in {0, 1}, one rounding as in `_reset`
                v.addcmul_(s, self.threshold, value=-1)
            if self.v_min is not None:  # relu(v − m) + m
                v.sub_(self.v_min).relu_().add_(self.v_min)
            if self.traces:
                self._trace(v=v.clone(), i=self.i)

    def _charge_in_place(self, v: Tensor, current: Tensor, scratch: Tensor, scaled: bool) -> None:
        """v ← h, `_charge(v, current)` computed in v (`scaled`: current is already g·I)."""
        charge = self.order.charge
        if charge == "affine":
            if self.v_decay is not None:
                v.mul_(self.v_decay)
            v.add_(current if scaled else _scaled(self.gain, current))
            if self.bias is not None:
                v.add_(self.bias)
        elif charge == "delta":  # u + rated(I − (u − v_rest))
            torch.sub(current, torch.sub(v, self.v_rest, out=scratch), out=scratch)
            v.add_(self._rated_(scratch))
        elif charge == "delta_leak":  # (u − rated(u − v_rest)) + I
            v.sub_(self._rated_(torch.sub(v, self.v_rest, out=scratch))).add_(current)
        else:  # delta_box: u + rated((I + v_rest) − u)
            torch.add(current, self.v_rest, out=scratch).sub_(v)
            v.add_(self._rated_(scratch))

    def _rated_(self, x: Tensor) -> Tensor:
        return x.mul_(self.rate) if self.order.rate_op == "mul" else x.div_(self.rate)

    def step(self, x: Tensor, s: Tensor, late: Tensor | None = None) -> None:
        """One time step: x [B, *shape] → spike counts written to s [B, *shape]."""
        op = self.op
        current = self._input_current(x)
        u = self.v
        if op.reset_timing == "next_step_state":  # reset v[t−1] before the charge
            u = self._reset(u, self.fire(u, torch.empty_like(u)))
        h = self._charge(u, current)
        if late is not None:
            h = h + late
        if op.reset_timing == "next_step":
            h = self._reset(h, self.fire(self.v, torch.empty_like(h)))  # r = fire(v[t−1]), v[−1] = v_init
        self.fire(h, s)
        v = self._reset(h, s) if op.reset_timing == "same_step" else h
        if self.v_min is not None:  # sinabs' order: relu(v − m) + m (sinabs/layers/functional/lif.py)
            v = torch.relu(v - self.v_min) + self.v_min
        self.v = v
        if op.spikes == "none":  # a leaky integrator's output is its membrane
            s.copy_(v)
        self._trace(h=h, v=v, i=self.i)

    def _charge(self, u: Tensor, current: Tensor) -> Tensor:
        """h from the previous membrane u and the input current, in the op's float order."""
        charge = self.order.charge
        if charge == "affine":
            h = _scaled(self.v_decay, u) + _scaled(self.gain, current)
            return h if self.bias is None else h + self.bias
        if charge == "delta":
            return u + self._rated(current - (u - self.v_rest))
        if charge == "delta_leak":
            return (u - self._rated(u - self.v_rest)) + current
        return u + self._rated((current + self.v_rest) - u)  # delta_box

    def _rated(self, x: Tensor) -> Tensor:
        return x * self.rate if self.order.rate_op == "mul" else x / self.rate

    def _input_current(self, x: Tensor) -> Tensor:
        """I[t]: x[t] without a current state; i[t] or i[t−1] (a one-step delay) with one."""
        if self.i is None:
            return x
        previous = self.i
        form = self.order.current
        if form == "affine":
            self.i = _scaled(self.i_decay, previous) + x
        elif form == "decay_after":
            assert self.i_decay is not None  # kept for decay_after and euler even where it is 1 (__init__)
            self.i = self.i_decay * (previous + x)
        else:  # euler
            assert self.i_decay is not None
            self.i = (previous + self.i_decay * previous) + x
        return self.i if self.op.input_order == "current_first" else previous

    def fire(self, h: Tensor, s: Tensor) -> Tensor:
        """s = fire(h), written to s: 0/1, or the multiples of θ reached, capped at max_spikes."""
        op = self.op
        if op.spikes == "none":
            return s.zero_()
        compare = torch.ge if op.fire_op == "ge" else torch.gt
        compare(h, self.threshold, out=s)  # 0/1 as float32
        if op.spikes == "single":
            return s
        quotient = h / self.threshold
        # "gt": h barely above θ can round h/θ to exactly 1; a fired neuron emits at least one spike.
        count = torch.floor(quotient) if op.fire_op == "ge" else torch.clamp(torch.ceil(quotient) - 1, min=1.0)
        if op.max_spikes is not None:
            count = torch.clamp(count, max=float(op.max_spikes))
        return torch.mul(count, s, out=s)  # where(fired, count, 0)

    def _reset(self, h: Tensor, s: Tensor) -> Tensor:
        """Apply the reset that spike count s calls for to h."""
        if self.op.reset == "subtract":
            return h - s * self.threshold
        if self.op.reset == "zero":  # where(s > 0, v_reset, h)
            spiked = s if self.op.spikes == "single" else torch.clamp(s, max=1.0)  # s ≥ 0 are integers
            kept = h * (1 - spiked)
            return kept if self.v_reset is None else kept + self.v_reset * spiked
        return h

    def _trace(self, **values: Tensor | None) -> None:
        for name, steps in self.traces.items():
            value = values[name]
            assert value is not None  # only a neuron with a current offers "i" (checks.variables)
            steps.append(value)

    def recorded(self) -> dict[str, Tensor]:
        """The traces asked for, [T, B, *shape]."""
        return {name: torch.stack(steps) for name, steps in self.traces.items()}
