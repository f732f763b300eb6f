"""Building a model from the code that defines it: `pkg.module:factory` or `path/to/file.py:factory`,
with an optional state dict, the route for models that cannot be pickled (snnTorch's surrogate
closures, Norse's parameter NamedTuples: docs/environment.md §8).

Importing the module runs its code: that is the point (the user named the code that builds their
model), so it is never done for a model *file*, only for a factory the user names. As `python -m`
does, the current directory is importable while the module is imported; a `.py` path is imported
under a private module name with its own directory importable (for its sibling imports).

The state dict is read by snnc's restricted unpickler (safe_load.py `load_checkpoint`: no code,
sizes checked), as whole model files are. A key the
model holds as an empty buffer but the file holds with values is run-time state saved after a
forward pass (sinabs' `v_mem`/`i_syn`, shaped by the batch: layers/stateful_layer.py registers
them empty): it is left out, as a fresh model starts without state anyway. Any other difference
is an error naming each key and why.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snnc.diagnostics import Diagnostic, Severity, input_error

_HINT = "give an importable 'package.module:function' or 'path/to/file.py:function' that returns the model"


def is_factory(text: str) -> bool:
    """'pkg.module:factory' or 'path/to/file.py:factory' (not an existing file, nor a Windows drive)."""
    head, sep, attr = text.rpartition(":")
    if not sep or not head or not attr.isidentifier() or Path(text).exists():
        return False
    return head.endswith(".py") or all(part.isidentifier() for part in head.split("."))


def from_factory(spec: str, weights: str | os.PathLike | None, notes: list[Diagnostic] | None = None) -> Any:
    """Build a model by calling the factory, then load a state dict into it if given."""
    import torch

    head, _, attr = spec.rpartition(":")
    module = _import_file(head) if head.endswith(".py") else _import_module(head)
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise input_error("FE-FACTORY", f"{head} has no function {attr!r}", hint=_HINT)
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise input_error("FE-FACTORY", f"{spec} returned a {type(model).__name__}, not an nn.Module")
    if weights is not None:
        load_weights(model, weights, spec, notes)
    return model


@contextlib.contextmanager
def _importable(directory: str) -> Iterator[None]:
    """`directory` first on sys.path for the duration (as `python -m` puts the current directory)."""
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    try:
        yield
    finally:
        if added and directory in sys.path:
            sys.path.remove(directory)


def _import_module(name: str) -> Any:
    with _importable(os.getcwd()):
        try:
            return importlib.import_module(name)
        except ImportError as e:
            raise input_error("FE-FACTORY", f"cannot import {name!r}: {e}", hint=_HINT) from None


def _import_file(path: str) -> Any:
    file = Path(path).resolve()
    if not file.is_file():
        raise input_error("FE-FACTORY", f"{path}: no such file", hint=_HINT)
    name = f"_snnc_factory_{abs(hash(str(file)))}"
    loader_spec = importlib.util.spec_from_file_location(name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise input_error("FE-FACTORY", f"{path} cannot be imported as Python source", hint=_HINT)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up by their module
    with _importable(str(file.parent)):
        try:
            loader_spec.loader.exec_module(module)
        except ImportError as e:
            sys.modules.pop(name, None)
            raise input_error("FE-FACTORY", f"importing {path} failed: {e}", hint=_HINT) from None
    return module


def load_weights(model: Any, weights: str | os.PathLike, spec: str, notes: list[Diagnostic] | None) -> None:
    """Load the state dict at `weights` into `model`: tensors only, run-time state left out,
    every other mismatch named key by key."""
    import torch

    from snnc.frontend.safe_load import load_checkpoint

    if not Path(weights).is_file():
        raise input_error("IO-NOT-FOUND", f"{weights}: no such file")
    state = load_checkpoint(Path(weights))  # FE-CORRUPT-FILE, FE-UNSAFE-PICKLE, FE-TOO-LARGE as for models
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise input_error(
            "FE-WEIGHTS",
            f"{weights} holds a {type(state).__name__}, not a state dict of tensors",
            hint="save it with torch.save(model.state_dict(), path)",
        )
    expected = model.state_dict()
    runtime = [k for k, v in state.items() if k in expected and expected[k].numel() == 0 and v.numel() > 0]
    if runtime and notes is not None:
        notes.append(
            Diagnostic(
                "FE-WEIGHTS-STATE",
                f"the state dict holds run-time state saved after a forward pass ({', '.join(runtime[:6])}"
                f"{', ...' if len(runtime) > 6 else ''}); it is left out, the model starts from a fresh state",
                severity=Severity.INFO,
            )
        )
    state = {k: expected[k] if k in runtime else v for k, v in state.items()}  # the model's own empty state
    problems = _mismatches(expected, state)
    if problems:
        raise input_error(
            "FE-WEIGHTS",
            f"the state dict {weights} does not fit the model {spec} builds: "
            + "; ".join(problems[:8])
            + (f"; and {len(problems) - 8} more" if len(problems) > 8 else ""),
            hint="the state dict must come from the same architecture and constructor arguments",
        )
    model.load_state_dict(state)


def _mismatches(expected: dict[str, Any], state: dict[str, Any]) -> list[str]:
    """Each key the model lacks, the file lacks, or that differs in shape, with why."""
    found = [f"key {k!r} is not in the file" for k in expected if k not in state]
    found += [f"key {k!r} is not a parameter or buffer of the model" for k in state if k not in expected]
    found += [
        f"key {k!r} has shape {list(state[k].shape)} in the file but {list(v.shape)} in the model"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    return found
