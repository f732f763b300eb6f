"""How much memory and work one input may make snnc spend, checked before anything is allocated.

Model, graph and data files declare sizes: tensor shapes, delay lengths, paddings, array headers.
A file of a few kilobytes can declare terabytes, so every reader and the verifier compare what a
file would make snnc allocate or compute with these limits first, and refuse past them with a
diagnostic that gives the number, the limit and how to raise it:

- `memory`: bytes one load, simulation or compile may hold for the input's sake (a model's
  tensors, a graph's state, delay buffers, padded inputs and per-step values, a data file's arrays).
  Default 8 GiB.
- `work`: elementary operations one simulation run may perform (multiply-accumulates, neuron
  updates and element operations, summed over every step and sample; snnc/ir/resources.py counts
  them). Default 10^13, about an hour of one CPU core.

Raise them with the environment variables `SNNC_MAX_MEMORY` (bytes, or with a unit: `16GiB`,
`500MB`) and `SNNC_MAX_WORK` (a number, `1e14`), the command line's `--max-memory` and
`--max-work`, or in Python with `snnc.limits.configure(memory=..., work=...)` (process-wide) or
`with snnc.limits.override(memory=...):` (one block). Explicit settings win over the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

DEFAULT_MEMORY = 8 << 30
DEFAULT_WORK = 10**13
MEMORY_ENV = "SNNC_MAX_MEMORY"
WORK_ENV = "SNNC_MAX_WORK"

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)\s*(?:([kmgt])(i?))?b?\s*", re.IGNORECASE)
_COUNT = re.compile(r"\s*[0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    memory: int  # bytes
    work: int  # elementary operations per simulation run

    def memory_hint(self) -> str:
        return f"if you trust the input, raise the limit: {MEMORY_ENV}=<bytes, e.g. 64GiB> or --max-memory"

    def work_hint(self) -> str:
        return f"if you trust the input, raise the limit: {WORK_ENV}=<operations, e.g. 1e15> or --max-work"


_configured: Limits | None = None


def parse_size(text: str) -> int:
    """Bytes from '8589934592', '1.5e9', '8GiB' (KiB, MiB, GiB, TiB: powers of 1024) or '8GB', '8G'
    (powers of 1000)."""
    match = _SIZE.fullmatch(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a size such as 8GiB, 500MB or 1e9")
    number, unit, binary = match.groups()
    power = "kmgt".index(unit.lower()) + 1 if unit else 0
    value = int(float(number) * (1024 if binary else 1000) ** power)
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive size")
    return value


def parse_count(text: str) -> int:
    """A positive count written as an integer or in scientific notation ('1e14')."""
    value = int(float(text)) if _COUNT.fullmatch(str(text)) else 0
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive number such as 1e14")
    return value


def current() -> Limits:
    """The limits in force: explicit settings, else the environment, else the defaults. A malformed
    environment value is a user error (SnncError), reported where a limit is first needed."""
    if _configured is not None:
        return _configured
    return Limits(_from_env(MEMORY_ENV, parse_size, DEFAULT_MEMORY), _from_env(WORK_ENV, parse_count, DEFAULT_WORK))


def _from_env(name: str, parse: Callable[[str], int], default: int) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        return parse(text)
    except ValueError as e:
        from snnc.diagnostics import input_error

        raise input_error("CLI-LIMIT", f"environment variable {name}: {e}", hint=f"unset {name} or fix it") from None


def configure(*, memory: int | str | None = None, work: int | str | None = None) -> Limits:
    """Set the limits for the rest of the process (None keeps a limit as it is); returns them."""
    global _configured
    limits = current()
    if memory is not None:
        limits = replace(limits, memory=parse_size(str(memory)) if isinstance(memory, str) else int(memory))
    if work is not None:
        limits = replace(limits, work=parse_count(work) if isinstance(work, str) else int(work))
    if limits.memory <= 0 or limits.work <= 0:
        raise ValueError("limits must be positive")
    _configured = limits
    return limits


@contextmanager
def override(*, memory: int | str | None = None, work: int | str | None = None) -> Iterator[Limits]:
    """The limits changed inside a `with` block, restored after it."""
    global _configured
    saved = _configured
    try:
        yield configure(memory=memory, work=work)
    finally:
        _configured = saved


@contextmanager
def address_space_cap(extra: int) -> Iterator[None]:
    """Cap the process's address space at what it maps now plus `extra` bytes for the duration of
    a block in which a C library parses a file (HDF5 for NIR): such libraries allocate what a
    damaged length field says before they find it inconsistent (an HDF5 variable-length string
    whose 32-bit length was flipped allocates 2 GiB and takes 20 s), and only the address-space
    limit stops that. The limit is only ever lowered, and restored after the block; where Linux's
    /proc and RLIMIT_AS are missing, nothing is capped."""
    try:
        import resource

        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        yield
        return
    cap = mapped + extra
    infinite = resource.RLIM_INFINITY
    if (soft != infinite and soft <= cap) or (hard != infinite and hard < cap):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def format_bytes(n: float) -> str:
    """1536 → '1.5 KiB': sizes for people in diagnostics."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def format_count(n: float) -> str:
    return f"{n:.3g}" if n >= 1e6 else f"{int(n):,}"
