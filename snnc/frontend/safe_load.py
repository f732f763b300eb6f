"""Loading pickled PyTorch models without running code the file chooses.

`torch.save(model)` writes a pickle, and Python's unpickler calls whatever a pickle names: a
model file from a model zoo, a colleague or a CI artifact could delete files or open a shell the
moment it is loaded. snnc reads `.pt` files with its own restricted unpickler
(snnc/frontend/unpickler.py) over a checked archive reader (snnc/frontend/checkpoint.py):

- names resolve only to exact allowlisted objects (snnc/frontend/allowlist.py): the SNN
  libraries' and torch.nn's layer classes, the libraries' pure functions, and the few torch and
  Python objects a checkpoint needs; never through a chain of attributes or modules;
- classes are rebuilt as pickle protocol 2 rebuilds them (`__new__`, then the state), never
  called with arguments from the file; only listed functions are called, after their arguments
  are checked;
- tensor storages are checked against the archive and the memory limit (snnc/limits.py) before
  they are read, and tensor views against their storages.

A file that names anything else is refused with diagnostics naming every refused global and the
two ways forward: `trust_pickle=True` (`--trust-pickle`) for a file the user trusts, which loads
it with `torch.load(weights_only=False)` and runs its code, or rebuilding the model from code
(`pkg.module:factory`) and loading only its state dict, which this same reader loads.
"""

from __future__ import annotations

import functools
import pickle
import zipfile
from pathlib import Path
from typing import Any

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.frontend import allowlist
from snnc.frontend.checkpoint import READ_ERRORS, Checkpoint
from snnc.frontend.unpickler import FIXED, Malformed, Refused, RestrictedUnpickler, canonical, scan_globals
from snnc.frontend.unpickler import _method_of as _method_of  # re-exported: tests and docs refer to it here
from snnc.limits import current

TRUST_HINT = (
    "if you trust this file, load it with trust_pickle=True (CLI: --trust-pickle); otherwise "
    "rebuild the model in code and load only its weights: 'pkg.module:factory' with "
    "--weights state_dict.pt"
)


def load_pickled_model(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """The object stored by `torch.save` at `path`, loaded without running foreign code."""
    path = Path(path)
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"{path}: no such file", hint="check the path")
    if trust_pickle:
        return _torch_load(path)
    return load_checkpoint(path)


def load_checkpoint(path: Path) -> Any:
    """A model or a state dict from a torch.save archive, through the restricted unpickler."""
    try:
        if not zipfile.is_zipfile(path):  # (which raises BadZipFile itself on some damaged archives)
            raise input_error(
                "FE-CORRUPT-FILE",
                f"{path}: not a PyTorch zip checkpoint (corrupt, truncated, or the legacy pre-1.6 format)",
                hint="re-save it with torch.save(model, path) from PyTorch 1.6 or newer",
            )
        with Checkpoint(path, current().memory) as archive:
            data = archive.pickle()
            refused = _refused_globals(data, archive.fixed)
            if refused:
                raise SnncError(refused)
            loaded = RestrictedUnpickler(data, archive.persistent_load, archive.calls, archive.fixed).load()
            check_module_tree(loaded)
            return loaded
    except Refused as e:
        raise SnncError([_diagnostic(e)]) from None
    except (Malformed, *READ_ERRORS) as e:
        raise input_error("FE-CORRUPT-FILE", f"{path}: cannot read the checkpoint ({_first_line(e)})") from None


def check_module_tree(obj: Any) -> None:
    """The nn.Modules of a loaded model hold what torch's own code relies on: dicts of parameters,
    buffers and submodules of those types, a `training` flag, and no hooks (torch.save writes the
    hook dicts of a trained model empty; a hook would be a callable the file chose). Raises
    Malformed or Refused otherwise, so that a damaged file fails here, not inside a converter."""
    from torch import Tensor, nn

    kinds = {"_parameters": nn.Parameter, "_buffers": Tensor, "_modules": nn.Module}
    seen: set[int] = set()
    stack = [("the model", obj)] if isinstance(obj, nn.Module) else []
    while stack:
        where, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        state = vars(module)
        for name, kind in kinds.items():
            entries = state.get(name)
            if not isinstance(entries, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, kind)) for k, v in entries.items()
            ):
                raise Malformed(f"{where} ({type(module).__name__}) has no valid {name}")
        if not isinstance(state.get("training"), bool):
            raise Malformed(f"{where} ({type(module).__name__}) has no valid training flag")
        for name in _hook_dicts():
            value = state.get(name, {})  # nn.Module.__setstate__ adds the ones older files lack
            if not isinstance(value, dict):
                raise Malformed(f"{where} ({type(module).__name__}) has no valid {name}")
            if value:
                raise Refused(f"hooks on {where} ({type(module).__name__}.{name}): callables chosen by the file")
        stack.extend(
            (f"{where}.{k}" if where != "the model" else k, m) for k, m in state["_modules"].items() if m is not None
        )


@functools.cache
def _hook_dicts() -> tuple[str, ...]:
    """The hook registries torch.nn.Module keeps (torch/nn/modules/module.py `Module.__init__`)."""
    from torch import nn

    return tuple(sorted(k for k, v in vars(nn.Module()).items() if "hook" in k and isinstance(v, dict)))


def _refused_globals(data: bytes, fixed: dict[str, Any]) -> list[Diagnostic]:
    """A diagnostic for every global the pickle names that is not allowed, found before running
    it, so that the user sees all of them at once."""
    found: dict[str, Diagnostic] = {}
    for module, name in scan_globals(data):
        module, name = canonical(module, name)
        full = f"{module}.{name}"
        if full in found or full in FIXED or full in fixed:
            continue
        try:
            allowlist.resolve(module, name)
        except allowlist.NotAllowed as e:
            found[full] = _diagnostic(Refused(e.reason, full, missing=e.missing))
    return list(found.values())


def _diagnostic(e: Refused) -> Diagnostic:
    if e.rule == "FE-MISSING-CLASS":
        return Diagnostic(
            e.rule,
            f"the model file refers to {e.name}, which cannot be imported here ({e})",
            hint="install the library (and version) the model was saved with; " + TRUST_HINT,
        )
    if e.rule == "FE-UNSAFE-PICKLE" and e.name is not None:
        return Diagnostic(
            e.rule,
            f"the model file refers to {e.name}, which is not on snnc's allowlist ({e}); unpickling it "
            "could run arbitrary code, so the file was not loaded",
            hint=TRUST_HINT,
            measured=e.name,
        )
    if e.rule == "FE-UNSAFE-PICKLE":
        return Diagnostic(
            e.rule,
            f"the model file asks for {e}; unpickling it could run arbitrary code, so the file was not loaded",
            hint=TRUST_HINT,
        )
    hint = current().memory_hint() if e.rule == "FE-TOO-LARGE" else "re-save the model from a trained network"
    return Diagnostic(e.rule, str(e), hint=hint, measured=e.measured, limit=e.limit)


def _torch_load(path: Path) -> Any:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile, ValueError) as e:
        raise input_error("FE-CORRUPT-FILE", f"{path}: cannot unpickle the model ({_first_line(e)})") from None
    except (ModuleNotFoundError, AttributeError) as e:
        raise input_error(
            "FE-MISSING-CLASS",
            f"{path}: the model refers to code that cannot be imported here ({e})",
            hint="install the library the model was built with, or load a state dict into a model built in code",
        ) from None


def _first_line(e: BaseException) -> str:
    """The error's first line, at most 200 characters (zipfile quotes binary headers in some)."""
    line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."
