"""Compiled per-step loops: a neuron's whole window in one pass over memory.

In torch, each step of an integrate-and-fire neuron is four operations (charge, saturate, fire,
reset), and each reads and writes the whole layer; on nmnist-cnn those passes were a third of
the integer run. Here the same step is one loop over the neurons, compiled by numba (LLVM,
bundled in its wheel: no compiler is needed on the user's machine; docs/sim-kernels.md §2),
where each neuron's value stays in a register between the four operations: about twice as fast
on the first layer of nmnist-cnn (benchmarks/bench_int_sim.py times the run with and without it).
The float simulator's plain neurons run the same kind of loop (`_float_scan`: torch's float
operations in its order, neuron.py), and one more loop moves input events' channels last for
oneDNN's int8 convolution (int8_conv.py) in a third of torch's time for that copy of bytes.

The arithmetic is the torch loop's, operation for operation, on float32 integers below 2^23
(int_neuron.py decides that they are exact), so both give the same spikes and states; the
property tests hold each against the reference semantics (tests/sim/test_fused.py). Where
numba is missing or fails to compile, `available()` is False and the torch loop runs.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor


ENABLED = True  # tests and benchmarks switch the compiled loops off to compare with the torch loops
LOAD_WORK = 1 << 16  # neuron-steps of a chunk worth importing numba for (see `available`)


def _integrate_and_fire(v, x, s, theta, low, high, strict):  # compiled by numba in _kernels
    """h = clip(v + x[t], low, high); s[t] = h ≥ θ (h > θ if strict); v = h·(1 − s[t]), for each t."""
    for t in range(x.shape[0]):
        xt, st = x[t], s[t]
        for i in range(v.shape[0]):
            h = v[i] + xt[i]
            h = low if h < low else h
            h = high if h > high else h
            fired = h > theta if strict else h >= theta
            st[i] = fired  # 1 or 0 in the spikes' dtype, float32 or uint8
            v[i] = np.float32(0.0) if fired else h


def _float_scan(v, x, s, theta, decay, strict, reset):  # compiled by numba in _kernels
    """NeuronState._scan's operations for a plain neuron, in its order, for each t: h = v·decay +
    x[t] (two roundings, as torch's mul_ then add_: numba does not contract them into an FMA);
    s[t] = h ≥ θ (h > θ if strict); reset 0 "none": v = h, 1 "zero": v = h·(h < θ) (h ≤ θ if
    strict: NaN keeps neither, as torch's mask), 2 "subtract": v = h − s·θ (torch's h + (−s)·θ,
    the same float)."""
    for t in range(x.shape[0]):
        xt, st = x[t], s[t]
        for i in range(v.shape[0]):
            h = v[i] * decay
            h = h + xt[i]
            fired = h > theta if strict else h >= theta
            st[i] = fired
            if reset == 1:
                v[i] = h * np.float32(h <= theta if strict else h < theta)
            elif reset == 2:
                v[i] = h - np.float32(fired) * theta
            else:
                v[i] = h


def _channels_last(x, out):  # compiled by numba in _kernels
    """out[n, s, c] = x[n, c, s]: channels moved last, for bytes (x [N, C, S], out [N, S, C])."""
    for n in range(x.shape[0]):
        xn, on = x[n], out[n]
        for c in range(x.shape[1]):
            row = xn[c]
            for s in range(x.shape[2]):
                on[s, c] = row[s]


@functools.cache
def numba() -> Any:
    """The numba module, or None where it is not installed."""
    try:
        import numba
    except ImportError:
        return None
    return numba


def jit(function: Callable[..., Any], *examples: tuple[Any, ...]) -> Callable[..., Any] | None:
    """`function` compiled by numba (no bounds checks, releasing the GIL) for each argument tuple of
    `examples`, now (about a second each) and cached on disk by numba (beside this package, else
    in the user's cache directory; without a writable one, compiled in every process); None where
    numba is missing or cannot compile it."""
    module = numba()
    if module is None:
        return None
    for cache in (True, False):
        try:
            compiled = module.njit(cache=cache, nogil=True, boundscheck=False)(function)
            for args in examples:
                compiled(*args)
        except Exception:  # numba refuses a cache it cannot write, or fails to compile at all
            continue
        return compiled
    return None


@functools.cache
def _kernels() -> dict[str, Callable[..., Any]] | None:
    """The compiled loops, compiled on first use, or None where numba cannot compile them."""
    v, x, zero = np.zeros(1, np.float32), np.zeros((1, 1), np.float32), np.float32(0)
    spikes = [x, x.astype(np.uint8)]  # compiles both spike dtypes now
    kernels = {
        "integrate_and_fire": jit(_integrate_and_fire, *[(v, x, s, zero, zero, zero, False) for s in spikes]),
        "float_scan": jit(_float_scan, *[(v, x, s, zero, zero, False, 0) for s in spikes]),
        "channels_last": jit(_channels_last, (np.zeros((1, 1, 1), np.uint8),) * 2),
    }
    compiled = {name: kernel for name, kernel in kernels.items() if kernel is not None}
    return compiled if len(compiled) == len(kernels) else None


def installed() -> bool:
    """Whether numba is installed, without loading it."""
    return importlib.util.find_spec("numba") is not None


def importable() -> bool:
    """Whether the compiled loops can be used, without loading numba yet."""
    return ENABLED and installed()


def available(work: int) -> bool:
    """Whether to run a chunk of `work` neuron-steps compiled. The first chunk of LOAD_WORK or more
    loads numba and the loop (0.3–0.7 s, once per process; the torch loop's extra passes cost as
    much within a few runs of such chunks); smaller simulations never pay for it."""
    if not ENABLED or (work < LOAD_WORK and _kernels.cache_info().currsize == 0):
        return False
    return _kernels() is not None


def _flat(t: Tensor, steps: int | None = None) -> np.ndarray:
    """The memory of a dense tensor (any order of its axes) as a 1-D array, or [steps, rest]."""
    n = t.numel()
    shape, strides = ((n,), (1,)) if steps is None else ((steps, n // max(steps, 1)), (n // max(steps, 1), 1))
    return torch.as_strided(t, shape, strides).numpy()


def same_layout(v: Tensor, x: Tensor, spikes: Tensor) -> bool:
    """Whether v is dense and the windows x and spikes [n, *v.shape] lay their steps out one after
    another, each step in v's memory order (element i of v is element i of every step); x in v's
    dtype, the spikes in float32 or uint8."""
    dense = v.is_contiguous() or (v.dim() == 4 and v.is_contiguous(memory_format=torch.channels_last))

    def follows(w: Tensor) -> bool:  # the stride of an axis of length 1 is never used: any will do
        pairs = zip(w.shape, w.stride(), (v.numel(), *v.stride()))
        return w.shape[1:] == v.shape and all(n == 1 or a == b for n, a, b in pairs)

    dtypes = x.dtype == v.dtype and spikes.dtype in (torch.float32, torch.uint8)
    return dense and dtypes and follows(x) and follows(spikes)


RESETS = {"none": 0, "zero": 1, "subtract": 2}  # _float_scan's reset codes


def float_scan(v: Tensor, x: Tensor, spikes: Tensor, theta: float, decay: float, strict: bool, reset: str) -> None:
    """Every step of x [n, *v.shape] through a plain float neuron (NeuronState._scan's), in place
    on v, spikes written (float32 or uint8; `same_layout(v, x, spikes)` must hold)."""
    kernels = _kernels()
    assert kernels is not None and same_layout(v, x, spikes) and x.dtype == torch.float32
    f32 = np.float32
    args = [_flat(v), _flat(x, x.shape[0]), _flat(spikes, x.shape[0])]
    kernels["float_scan"](*args, f32(theta), f32(decay), strict, RESETS[reset])


def channels_last_bytes(x: Tensor) -> Tensor:
    """The contiguous uint8 [N, C, H, W] x copied into channels-last memory (what oneDNN's int8
    convolution reads), three times as fast as torch's copy for bytes (docs/sim-kernels.md §2)."""
    kernels = _kernels()
    assert kernels is not None and x.dtype == torch.uint8 and x.dim() == 4 and x.is_contiguous()
    n, c, h, w = x.shape
    out = torch.empty((n, h, w, c), dtype=torch.uint8)
    kernels["channels_last"](x.numpy().reshape(n, c, h * w), out.numpy().reshape(n, h * w, c))
    return out.permute(0, 3, 1, 2)


def integrate_and_fire(v: Tensor, x: Tensor, spikes: Tensor, theta: int, low: int, high: int, strict: bool) -> None:
    """Every step of x [n, *v.shape] through the plain IF neuron, in place on v, spikes written
    (float32; `same_layout(v, x, spikes)` must hold)."""
    kernels = _kernels()
    assert kernels is not None and same_layout(v, x, spikes)
    f32 = np.float32
    args: list[Any] = [_flat(v), _flat(x, x.shape[0]), _flat(spikes, x.shape[0])]
    kernels["integrate_and_fire"](*args, f32(theta), f32(low), f32(high), strict)
