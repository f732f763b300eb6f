"""Exact integer convolutions on oneDNN's 8-bit kernels: unsigned 8-bit inputs times signed 8-bit
weights, summed in int32 and returned as float32.

Spikes and small spike counts are unsigned 8-bit integers, and the weights of an 8-bit format are
signed 8-bit integers, so a quantized convolution on events is exactly what oneDNN's int8
convolution computes (`onednn::qconv2d_pointwise`, the kernel PyTorch's x86 quantization lowers
to, registered in aten/src/ATen/native/quantized/cpu/qconv.cpp; docs/sim-kernels.md §1 has the
facts and their sources): Σ x·w in an int32 accumulator, times the scales, plus the bias, in
float32. With scales of 1 and zero points of 0 the result is the integer sum, exact in float32
below 2^24 (the same bound as the float32 kernel's). On AVX-512 VNNI it takes about half of
oneDNN's float32 time on nmnist-cnn's first convolution and a third on its second, the uint8
conversion included (benchmarks/bench_int_sim.py times the run with and without it).

Where it is exact, and why each condition:
- inputs 0 ≤ x ≤ 128 (spikes and counts, by the planner's bounds): on x86 CPUs without VNNI,
  oneDNN multiplies with `vpmaddubsw`, which adds two u8·s8 products in a saturating int16; with
  x ≤ 128 and −128 ≤ w ≤ 127 every such pair lies in [−32768, 32512] and never saturates;
- integer weights in [−128, 127] (an 8-bit format's);
- the sum bound below 2^24, bias included (the int32 accumulator and the float32 bias added to
  it are integers below 2^24, exact in float32);
- every spatial axis of the input and of the output at least 2 long. Where one has length 1,
  the strides no longer tell channels-last from contiguous, and PyTorch 2.13's oneDNN int8 path
  then reads the wrong elements (an output 1 wide from one input channel per group) or crashes
  the process (an input 1 wide): found by tests/sim/test_int8_conv.py; such layers take the
  float32 kernel. A random sweep of 71,000 other configurations (groups, stride, padding,
  dilation, bias, 1 to 8 samples, either input layout) found every sum exact.
Beyond the bounds, a one-time probe per process checks the kernel on the extreme values
(x = 128 with all weights −128, or all 127) against float32 and turns the path off if it is
missing or differs, so a build or CPU where it behaves otherwise only loses speed.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np
import torch
import torch.nn.functional as F

from snnc.ir.ops import Conv2d
from snnc.sim import fused

Tensor = torch.Tensor
ENABLED = True  # tests and benchmarks switch the kernel off to compare with the float32 one
MAX_INPUT = 128  # see the module docstring: no int16 pair saturates on non-VNNI x86
WEIGHT_RANGE = (-128, 127)


def exact_for(op: Conv2d, input_bound: int, nonnegative: bool, shapes: tuple[tuple[int, ...], ...]) -> bool:
    """Whether `op` on inputs 0 ≤ x ≤ input_bound is exact on the int8 kernel, for its input and
    output `shapes` (C, H, W); the sum bound is the caller's to check (below 2^24)."""
    lo, hi = WEIGHT_RANGE
    w = op.weight
    in_range = w.size == 0 or (lo <= int(w.min()) and int(w.max()) <= hi)
    wide = all(n >= 2 for shape in shapes for n in shape[1:])
    return ENABLED and nonnegative and input_bound <= MAX_INPUT and in_range and wide and available()


class Int8Conv2d:
    """One Conv2d's prepacked int8 weights; `__call__` maps integer inputs [N, C, H, W] (uint8, or
    float32 integers) to their exact float32 sums (channels-last). `of` shares one per op."""

    def __init__(self, op: Conv2d) -> None:
        # the op's geometry, not the op: `of`'s cache must not keep its key alive
        self.geometry = (list(op.stride), list(op.padding), list(op.dilation), op.groups)
        self.scales = torch.ones(op.weight.shape[0])
        self.zero_points = torch.zeros(op.weight.shape[0], dtype=torch.int32)
        self.bias = None if op.bias is None else torch.tensor(op.bias, dtype=torch.float32)
        weight = torch.tensor(op.weight.astype(np.int8))
        self.packed = torch.ops.onednn.qconv_prepack(weight, self.scales, 1.0, 0, *self.geometry, None)

    @classmethod
    def of(cls, op: Conv2d) -> Int8Conv2d:
        """The op's kernel, packed once per op (IR ops are immutable) rather than once per run:
        `snnc report` and `validate` simulate batch after batch."""
        if op not in _PACKED:
            _PACKED[op] = cls(op)
        return _PACKED[op]

    def __call__(self, x: Tensor) -> Tensor:
        stride, padding, dilation, groups = self.geometry
        return torch.ops.onednn.qconv2d_pointwise(
            _uint8_channels_last(x),
            1.0,
            0,
            self.packed,
            self.scales,
            self.zero_points,
            self.bias,
            stride,
            padding,
            dilation,
            groups,
            1.0,
            0,
            torch.float32,
            "none",
            [],
            "",
        )


_PACKED: weakref.WeakKeyDictionary[Conv2d, Int8Conv2d] = weakref.WeakKeyDictionary()


def _uint8_channels_last(x: Tensor) -> Tensor:
    """x as uint8 in oneDNN's layout (channels last: no reorder inside the kernel). Bytes (a byte
    carrier, int_ops.byte_nodes) as they are, or moved by the compiled copy where they come
    contiguous (input events; fused.py); from float32 channels last, numpy's vectorized cast of
    the raw memory (a quarter of torch's time for the cast); else torch's cast and reorder in one
    pass."""
    four_d = x.dim() == 4
    channels_last = four_d and x.is_contiguous(memory_format=torch.channels_last)
    if x.dtype == torch.uint8:
        if four_d and x.is_contiguous() and not channels_last and fused.available(x.numel()):
            return fused.channels_last_bytes(x)
        return x.to(memory_format=torch.channels_last)
    if x.is_contiguous() or not channels_last:
        return x.to(torch.uint8, memory_format=torch.channels_last)
    memory = torch.as_strided(x, (x.numel(),), (1,)).numpy()
    return torch.as_strided(torch.from_numpy(memory.astype(np.uint8)), x.shape, x.stride())


@functools.cache
def available() -> bool:
    """Whether this torch build has the kernel and it computes the exact sums on this CPU, at the
    extremes the conditions allow."""
    if not hasattr(torch.ops.onednn, "qconv2d_pointwise") or not torch.backends.mkldnn.is_available():
        return False
    generator = torch.Generator().manual_seed(0)
    weight = torch.randint(-128, 128, (8, 4, 3, 3), generator=generator)
    weight[0], weight[1] = -128, 127  # every product pair at an extreme
    x = torch.randint(0, MAX_INPUT + 1, (2, 4, 9, 9), generator=generator).float()
    x[0] = MAX_INPUT
    bias = torch.arange(-4000, 4000, 1000)
    op = Conv2d(weight=weight.numpy().astype(np.int64), bias=bias.numpy(), stride=(1, 1), padding=(1, 1))
    try:
        got = Int8Conv2d(op)(x)
    except (RuntimeError, NotImplementedError):  # no oneDNN int8 kernel for this CPU or build
        return False
    return torch.equal(got, F.conv2d(x, weight.float(), bias.float(), 1, 1))
