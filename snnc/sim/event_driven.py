"""Event-driven synaptic ops: each input event adds its weights to the outputs it reaches.

This is a chip's synaptic operation (a spike is routed to its fan-out and each target adds the
weight: the SOPs snnc's cost model counts, docs/cost/energy.md), so its work grows with
the number of events, where a dense convolution's grows with the outputs whatever the input.
On sparse events it is the faster way to the same integers: for every event (n, c, y, x) of
value q and every kernel tap (ky, kx) that lands on an output (oy, ox) — oy·sy = y + py − ky·dy
and ox·sx = x + px − kx·dx — out[n, oy, ox, group's channels] += q·w[group's channels, c, ky, kx].
The outputs are channels-last, so each tap adds one contiguous run of the group's output channels,
and with stride and dilation 1 along x (and one group) the taps of a kernel row land on adjacent
outputs: one contiguous run of KW·O values per row, which LLVM vectorizes.

Exactness: the sums are integers whose partial sums in any order stay within the planner's bound
Σ|w|·max|x| + |b| < 2^24 (the same bound as the dense float32 and int8 kernels'; int_ops.py),
where float32 addition is exact, so the order of the events does not change a bit.

Which is cheaper is decided per layer and per window from the measured input density, by a cost
model with constants measured on these 2-core machines (benchmarks/bench_event_conv.py fits and
prints them, and how often the model picks the faster kernel; docs/sim-kernels.md §3). A Linear
gathers its active inputs' weight rows instead (`EventLinear`, torch's sparse product) below a
density measured by benchmarks/bench_int_sim.py.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from snnc.ir.ops import Conv1d, Conv2d, Linear
from snnc.ir.types import DType
from snnc.sim import fused

Tensor = torch.Tensor
ENABLED = True  # tests and benchmarks switch the event-driven paths off (or force them: FORCE) to compare
FORCE = False  # tests: take the event-driven path whatever the density
LOAD_DENSE = 0.5e-3  # seconds of a dense window worth loading numba and the scatter for (see `worth`)
SPARSE_DENSITY = 0.02  # below it a Linear gathers the active inputs' weights (benchmarks/bench_int_sim.py)
SPARSE_MIN_WEIGHTS = 1 << 16  # smaller Linear layers are cheaper dense whatever the density

# Cost model, seconds of one core (benchmarks/bench_event_conv.py fits and prints them). A dense
# convolution costs per output value a fixed part (writing it, oneDNN's post-processing) and a
# part per multiply-accumulate, shared by torch's threads; the event-driven one, on one thread,
# costs per event a fixed part (finding it, its coordinates), a part per contiguous run of
# outputs it adds to (a kernel row, or a tap where rows are not contiguous) and a part per value
# added, plus a part per input byte for finding the events.
DENSE_PER_OUTPUT = {"int8": 0.9e-9, "float32": 1.6e-9}
DENSE_PER_MAC = {"int8": 6e-12, "float32": 19e-12}
EVENT_FIXED = 65e-9
EVENT_PER_RUN = 6e-9
EVENT_PER_ADD = 0.015e-9
SCAN_PER_BYTE = 0.15e-9  # looking for the events, 8 bytes at a time
ZERO_PER_OUTPUT = 0.3e-9  # the zeroed outputs the events are added to


def _scatter(flat, dims, weight, out, stride, padding, dilation, layout):  # compiled in _kernel
    """out[n] += every event of sample n's kernel slice, for every sample n. flat: the
    memory of events [N, C, H, W] = dims (uint8 or float32), in channels-last order if layout[0]
    else contiguous; weight [C, KH, KW, OG] float32 with kx reversed (weight[c, ky, KW−1−kx] =
    w[the group's O channels, c within its group, ky, kx]); out [N, OH, OW, O] float32. layout[1]:
    stride and dilation 1 along x and one group, so a kernel row's taps are one run of outputs."""
    channels_last, row_runs = layout
    _, c_, h_, w_ = dims
    kh, kw, og = weight.shape[1], weight.shape[2], weight.shape[3]
    oh, ow, o_ = out.shape[1], out.shape[2], out.shape[3]
    cg = c_ // (o_ // og)
    sy, sx = stride
    py, px = padding
    dy, dx = dilation
    taps = weight.reshape(-1)
    outs = out.reshape(-1)
    per_word = 8 // flat.itemsize
    full_words = flat.size // per_word
    words = flat[: full_words * per_word].view(np.uint64)
    for word in range((flat.size + per_word - 1) // per_word):
        if word < full_words and words[word] == 0:  # no event in these 8 bytes
            continue
        for k in range(word * per_word, min(flat.size, word * per_word + per_word)):
            if flat[k] == 0:
                continue
            value = np.float32(flat[k])
            if channels_last:
                c, r = k % c_, k // c_
                x, r = r % w_, r // w_
            else:
                x, r = k % w_, k // w_
            y, r = r % h_, r // h_
            if not channels_last:
                c, r = r % c_, r // c_
            n = r
            for ky in range(kh):
                t = y + py - ky * dy
                oy = t // sy
                if t % sy != 0 or oy < 0 or oy >= oh:
                    continue
                row = (n * oh + oy) * ow
                for j in range(1 if row_runs else kw):
                    if row_runs:  # reversed tap j lands on ox = lo + j: taps a..b−1 are inside
                        lo = x + px - (kw - 1)
                        a, b = max(0, -lo), min(kw, ow - lo)
                        if a >= b:
                            continue
                        dst, src, length = (row + lo + a) * o_, ((c * kh + ky) * kw + a) * og, (b - a) * og
                    else:
                        u = x + px - (kw - 1 - j) * dx
                        ox = u // sx
                        if u % sx != 0 or ox < 0 or ox >= ow:
                            continue
                        dst, src, length = (row + ox) * o_ + (c // cg) * og, ((c * kh + ky) * kw + j) * og, og
                    into, add = outs[dst : dst + length], taps[src : src + length]  # from 0: LLVM vectorizes
                    if value == 1:
                        for i in range(length):
                            into[i] += add[i]
                    else:
                        for i in range(length):
                            into[i] += value * add[i]


@functools.cache
def _kernel() -> Callable[..., None] | None:
    """The compiled scatter for both event dtypes, or None where numba cannot compile it."""
    out = np.zeros((1, 1, 1, 1), np.float32)
    geometry = ((1, 1), (0, 0), (1, 1), (False, True))
    examples = [(np.zeros(1, dtype), (1, 1, 1, 1), out, out, *geometry) for dtype in (np.uint8, np.float32)]
    return fused.jit(_scatter, *examples)


@dataclass(frozen=True)
class Geometry:
    """A Conv2d's, or a Conv1d's as a Conv2d of height 1."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    @staticmethod
    def of(op: Conv1d | Conv2d) -> Geometry:
        if isinstance(op, Conv2d):
            return Geometry(_pair(op.stride), _pair(op.padding), _pair(op.dilation), op.groups)
        return Geometry(_pair((1, op.stride[0])), _pair((0, op.padding[0])), _pair((1, op.dilation[0])), op.groups)

    def output(self, size: tuple[int, int], kernel: tuple[int, int]) -> tuple[int, int]:
        """The output's (height, width) for an input's, as torch's conv2d."""
        oh, ow = (
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(size, kernel, self.stride, self.padding, self.dilation)
        )
        return oh, ow


def _pair(values: tuple[int, ...]) -> tuple[int, int]:
    """Two Python ints: the types the kernel was compiled for (another would compile anew)."""
    a, b = values
    return int(a), int(b)


class EventConv:
    """One Conv1d/Conv2d's weights laid out for scattering, and the cost model that decides, per
    window, whether scattering its events beats the dense kernel. `of` shares one per op."""

    def __init__(self, op: Conv1d | Conv2d) -> None:
        self.geometry = Geometry.of(op)
        w = op.weight if isinstance(op, Conv2d) else op.weight[:, :, None, :]
        o, cg, kh, kw = w.shape
        groups = self.geometry.groups
        by_input = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 3, 4, 1)  # [G, Cg, KH, KW, OG]
        self.weight = np.ascontiguousarray(by_input.reshape(groups * cg, kh, kw, o // groups)[:, :, ::-1], np.float32)
        self.bias = None if op.bias is None else torch.tensor(op.bias, dtype=torch.float32)
        self.one_d = isinstance(op, Conv1d)

    @classmethod
    def of(cls, op: Conv1d | Conv2d) -> EventConv:
        """The op's layout, made once per op (IR ops are immutable) rather than once per run."""
        if op not in _PREPARED:
            _PREPARED[op] = cls(op)
        return _PREPARED[op]

    def worth(self, x: Tensor, events: int, dense: str) -> bool:
        """Whether scattering the `events` events of x [N, C, H, W] ([N, C, L]) on one core beats
        the `dense` kernel ("int8" or "float32") on the cores torch uses, by the cost model above.
        Loading numba and the kernel (once per process: 0.3–0.7 s, compiled code cached on disk)
        waits for a window whose dense convolution takes LOAD_DENSE: small simulations never pay."""
        if FORCE:
            return _kernel() is not None
        _, kh, kw, og = self.weight.shape
        g = self.geometry
        oh, ow = g.output(self._size(x), (kh, kw))
        outputs = x.shape[0] * oh * ow * og * g.groups
        per_output = DENSE_PER_OUTPUT[dense] + x.shape[1] // g.groups * kh * kw * DENSE_PER_MAC[dense]
        dense_s = outputs * per_output / torch.get_num_threads()
        runs, adds = self.work_per_event()
        scatter_s = events * (EVENT_FIXED + runs * EVENT_PER_RUN + adds * EVENT_PER_ADD)
        scatter_s += x.numel() * x.element_size() * SCAN_PER_BYTE + outputs * ZERO_PER_OUTPUT
        loaded = _kernel.cache_info().currsize > 0
        return scatter_s < dense_s and (loaded or dense_s > LOAD_DENSE) and _kernel() is not None

    def work_per_event(self) -> tuple[float, float]:
        """The contiguous runs of outputs an event adds to and the values it adds, on average over
        the positions (a stride s leaves 1/s of the taps on an output)."""
        _, kh, kw, og = self.weight.shape
        g = self.geometry
        rows, taps = kh / g.stride[0], kw / g.stride[1]
        return (rows if self._row_runs() else rows * taps), rows * taps * og

    def _row_runs(self) -> bool:
        g = self.geometry
        return g.stride[1] == 1 and g.dilation[1] == 1 and g.groups == 1

    def __call__(self, x: Tensor, dense: str) -> Tensor:
        """The exact sums for events x [N, C, H, W] (uint8 or float32 integers; [N, C, L] for a
        Conv1d): float32 [N, O, OH, OW] in the memory layout the `dense` kernel gives (channels
        last from oneDNN's int8 kernel and for channels-last inputs, else contiguous), so that
        the neuron's state keeps one layout whichever path a window takes (int_neuron.py)."""
        kernel = _kernel()
        assert kernel is not None and x.dtype in (torch.uint8, torch.float32) and x.device.type == "cpu"
        x4 = x[:, :, None, :] if self.one_d else x
        channels_last = not x4.is_contiguous() and x4.is_contiguous(memory_format=torch.channels_last)
        memory = x4.permute(0, 2, 3, 1) if channels_last else x4.contiguous()
        n, c, h, w = x4.shape
        _, kh, kw, og = self.weight.shape
        g = self.geometry
        oh, ow = g.output((h, w), (kh, kw))
        shape = (n, oh, ow, og * g.groups)
        # torch's allocator, not numpy's: it reuses freed memory, where numpy's large blocks are
        # fresh pages each time, whose first touches (by the neuron, after) cost more than zeroing
        out = torch.zeros(shape) if self.bias is None else self.bias.expand(shape).clone()
        layout = (channels_last, self._row_runs())
        events = memory.numpy().reshape(-1)
        kernel(events, (n, c, h, w), self.weight, out.numpy(), g.stride, g.padding, g.dilation, layout)
        y = out.permute(0, 3, 1, 2)
        if self.one_d:
            return y[:, :, 0, :].contiguous()
        return y if dense == "int8" or channels_last else y.contiguous()

    def _size(self, x: Tensor) -> tuple[int, int]:
        return (1, x.shape[2]) if self.one_d else (x.shape[2], x.shape[3])


_PREPARED: weakref.WeakKeyDictionary[Conv1d | Conv2d, EventConv] = weakref.WeakKeyDictionary()


class EventLinear:
    """A Linear's transposed weights: below SPARSE_DENSITY the active inputs' weight rows are
    gathered and summed (torch's sparse-dense product) instead of the dense product."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.rows = weight.t().contiguous()
        self.bias = bias

    def worth(self, x: Tensor, events: int, dense: str) -> bool:
        return FORCE or events < SPARSE_DENSITY * x.numel()

    def __call__(self, x: Tensor, dense: str) -> Tensor:
        y = torch.sparse.mm(x.to(self.rows.dtype).to_sparse(), self.rows)
        return y if self.bias is None else y + self.bias


def count(x: Tensor) -> int:
    """The events (non-zero values) in x: numpy's count for bytes in dense memory (a quarter of
    torch's time), torch's otherwise (numpy's is slower for float32)."""
    dense = x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))
    if x.dtype == torch.uint8 and x.device.type == "cpu" and dense:
        return int(np.count_nonzero(torch.as_strided(x, (x.numel(),), (1,)).numpy()))
    return int(torch.count_nonzero(x))


def applies(op: Linear | Conv1d | Conv2d, kernel: str, source: DType, carrier: torch.dtype, cpu: bool) -> bool:
    """Whether `op` may take an event-driven path: on events (spikes, counts) carried as bytes or
    float32, with sums exact in float32 (`kernel` "int8" or "float32"), on the CPU; a Linear only
    where it is wide enough to gain (SPARSE_MIN_WEIGHTS), a convolution where numba can load."""
    eligible = ENABLED and cpu and source.is_event and kernel in ("int8", "float32")
    if isinstance(op, Linear):
        return eligible and op.weight.size >= SPARSE_MIN_WEIGHTS
    return eligible and carrier in (torch.uint8, torch.float32) and fused.installed()  # not fused.ENABLED's
