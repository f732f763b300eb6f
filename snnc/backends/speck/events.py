"""The event-driven model of Speck: a configuration (read.py) run one event at a time, as the chip
computes (docs/targets/speck.md §4), next to the time-stepped model (the integer simulator on the
lowered graph, equal to sinabs' discretized network).

What happens to an event, and the assumptions where SynSense documents nothing:

- An input event (c, y, x) of time step t goes to the DVS layer when it is configured (its
  pooling remaps the address to (c, ⌊y/py⌋, ⌊x/px⌋); addresses outside its region of interest,
  origin to cut, are dropped; the rest are mirrored and transposed within the region as sinabs'
  FlipDims orders it, mirror.y, mirror.x, then mirror_diagonal (dvs.py) [assumption: the chip
  mirrors the region, not the whole pooled map, as sinabs' forward does]), else straight to the
  cores that take the input. Events of one step enter in raster order (channel,
  row, column), an element's k events one after the other. [assumption: order within a step]
- An event at core k updates every neuron (f, yo, xo) whose receptive field holds it:
  v += W[f, c, ky, kx] (stride, padding as configured) ([DS §3.2.4.4]); v saturates to the 16-bit
  state [−32768, 32767] [assumption: overflow saturates]. Then each updated neuron with
  v ≥ threshold_high fires **once** and resets (v −= threshold_high, or v = 0 with
  return_to_zero); the surplus stays until the next event reaches it ([DS §3.2.4.6.2]; speck.md
  §4). Then v = max(v, threshold_low) [assumption: the clamp after firing, as sinabs orders it].
- A spike (f, yo, xo) goes to each enabled destination at the pooled address (f, ⌊yo/p⌋, ⌊xo/p⌋)
  (pooling is an address remap, [DS §3.2.4.4]); an address beyond the destination's input (the
  remainder rows of an uneven pooling) is dropped [assumption]. Several sources of one core
  interleave (merge). Events are processed first in, first out across the chip, and all events a
  step causes are processed within that step (the chip's latency, µs, is far below a step)
  [assumption: a global FIFO stands for the asynchronous pipeline].
- Leak: on a core with leak_enable, one slow-clock tick at the start of every step adds bias[f] to
  every neuron of channel f, each reaching threshold_high fires once, then the clamp
  [assumption: one tick per step; a tick can fire, speck.md "Biggest uncertainties" 3].
- The monitored cores' spikes are the output, at their un-pooled addresses (as the monitor shows
  them, sinabs chips/dynapcnn.py::monitor_layers), binned into the step in which they happened.

So it differs from the time-stepped model where a neuron gets more than one threshold's worth of
input in one step (the chip fires once per event, the step model floor(v/θ) times), where the
order of events in a step matters (zero reset, the clamp), and in when the leak is added.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.backends.speck.read import ChipConfig, Core, to_graph
from snnc.sim.checks import check_inputs
from snnc.sim.result import Activity, SimResult

STATE = (-(2**15), 2**15 - 1)


@dataclass(frozen=True)
class EventRun:
    """A run of the event model: the simulation result (outputs and activity by the time-stepped
    graph's node names, read.to_graph) and each core's synaptic operations per step and sample."""

    result: SimResult
    sops: dict[int, np.ndarray]  # core → [T, B] int64


def simulate(config: ChipConfig, x: Any) -> EventRun:
    """Run `config` on event counts `x` [T, B, *input shape] (validated as the simulator does)."""
    chip = to_graph(config)
    data = check_inputs(chip.graph, x)["input"].astype(np.int64)
    steps, batch = data.shape[:2]
    chip_run = _Chip(config, steps, batch)
    for b in range(batch):
        chip_run.sample(b, data[:, b])
    outputs = {name: chip_run.spikes[k] for k, name in chip.outputs.items()}
    activity = {"input": _activity(data)} | {name: _activity(chip_run.spikes[k]) for k, name in chip.neurons.items()}
    return EventRun(SimResult(outputs, activity, {}), chip_run.sops)


def _activity(values: np.ndarray) -> Activity:
    flat = values.reshape(*values.shape[:2], -1)
    return Activity(
        events=flat.sum(axis=2),
        nonzero=(flat != 0).sum(axis=2),
        event_map=values.sum(axis=(0, 1)),
        numel=flat.shape[2],
    )


class _Chip:
    def __init__(self, config: ChipConfig, steps: int, batch: int) -> None:
        self.config = config
        self.cores = {c.index: c for c in config.cores}
        self.spikes = {k: np.zeros((steps, batch, *c.out_shape), np.int64) for k, c in self.cores.items()}
        self.sops = {k: np.zeros((steps, batch), np.int64) for k in self.cores}
        self.fields: dict[tuple[int, int, int], tuple] = {}

    def sample(self, b: int, data: np.ndarray) -> None:
        v = {k: c.initial.astype(np.int64) for k, c in self.cores.items()}
        for t in range(data.shape[0]):
            queue: deque[tuple[int, int, int, int]] = deque()
            for core in self.config.cores:
                if core.leak:
                    view = v[core.index]
                    np.clip(view + core.biases[:, None, None], *STATE, out=view)
                    self._fire(core, view, 0, 0, queue, t, b)
            for c, y, x in _raster(data[t]):
                self._enter(c, y, x, queue)
            while queue:
                k, c, y, x = queue.popleft()
                self._event(self.cores[k], v[k], c, y, x, queue, t, b)

    def _enter(self, c: int, y: int, x: int, queue: deque) -> None:
        dvs = self.config.dvs
        if dvs is not None:
            py, px = dvs.pooling
            at = dvs.view.address(y // py, x // px)
            if at is None:
                return
            y, x = at
        for core in self.config.entries:
            if y < core.in_shape[1] and x < core.in_shape[2]:
                queue.append((core.index, c, y, x))

    def _field(self, core: Core, y: int, x: int) -> tuple:
        """The output rows and columns an input (y, x) reaches, and the kernel taps it uses there."""
        key = (core.index, y, x)
        if key not in self.fields:
            k = core.weights.shape[2]
            ranges = []
            for pos, pad, stride, size in zip((y, x), core.padding, core.stride, core.out_shape[1:]):
                lo = max(0, -(-(pos + pad - k + 1) // stride))
                hi = min(size - 1, (pos + pad) // stride)
                outs = np.arange(lo, hi + 1)
                ranges.append((lo, hi + 1, pos + pad - outs * stride))
            self.fields[key] = tuple(ranges)
        return self.fields[key]

    def _event(self, core: Core, v: np.ndarray, c: int, y: int, x: int, queue: deque, t: int, b: int) -> None:
        (y0, y1, ky), (x0, x1, kx) = self._field(core, y, x)
        if y1 <= y0 or x1 <= x0:
            return
        view = v[:, y0:y1, x0:x1]
        np.clip(view + core.weights[:, c][:, ky[:, None], kx[None, :]], *STATE, out=view)
        self.sops[core.index][t, b] += view.size
        self._fire(core, view, y0, x0, queue, t, b)

    def _fire(self, core: Core, view: np.ndarray, y0: int, x0: int, queue: deque, t: int, b: int) -> None:
        fired = view >= core.threshold_high
        if fired.any():
            if core.zero_reset:
                view[fired] = 0
            else:
                view[fired] -= core.threshold_high
            fs, ys, xs = np.nonzero(fired)
            ys, xs = ys + y0, xs + x0
            np.add.at(self.spikes[core.index][t, b], (fs, ys, xs), 1)
            for f, yy, xx in zip(fs.tolist(), ys.tolist(), xs.tolist()):
                for target, pool in core.destinations:
                    size = self.cores[target].in_shape
                    if yy // pool < size[1] and xx // pool < size[2]:
                        queue.append((target, f, yy // pool, xx // pool))
        np.maximum(view, core.threshold_low, out=view)


def _raster(counts: np.ndarray):
    """The events of one step, (c, y, x) in raster order, an element's k events in a row."""
    for c, y, x in zip(*np.nonzero(counts)):
        for _ in range(int(counts[c, y, x])):
            yield int(c), int(y), int(x)
