"""Loading pickled PyTorch models without running untrusted code.

`torch.save(model)` writes a pickle, and unpickling can call any importable function: a model
file from the internet can delete files or open a shell the moment it is loaded. snnc therefore
loads with `torch.load(weights_only=True)`, torch's restricted unpickler, and allows only the
globals a model file legitimately needs (torch docs, "torch.load ... weights_only"; the list of a
checkpoint's globals comes from `torch.serialization.get_unsafe_globals_in_checkpoint`):

- classes of the SNN libraries snnc imports (module and neuron classes, their parameter and
  reset/spike-function classes) and `torch.nn.Module` / `torch.autograd.Function` subclasses;
- pure surrogate-gradient functions from a few named modules, and `functools.partial` (how
  snnTorch models make their surrogate picklable, docs/environment.md §8);
- `builtins.getattr`, replaced by `_method_of`, which only fetches a method of an object of a
  trusted class: snnTorch neurons store bound methods (`Leaky.state_function = self._base_sub`,
  snntorch/_neurons/leaky.py), which pickle as `getattr(obj, name)`. The fetched method cannot be
  called during unpickling: torch's unpickler only calls allowed globals on REDUCE
  (torch/_weights_only_unpickler.py).

Any other global is refused with a diagnostic that names it, explains the risk and gives the two
ways forward: `trust_pickle=True` (`--trust-pickle`) for a file the user trusts, or rebuilding
the model from code (`pkg.module:factory`) and loading only its state dict.
"""

from __future__ import annotations

import functools
import importlib
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from snnc.diagnostics import Diagnostic, SnncError, input_error

# Libraries whose classes may appear in a model file (their constructors and __setstate__ are
# model code the user installed, not code carried by the file).
TRUSTED_CLASS_PREFIXES = ("spikingjelly.activation_based.", "snntorch.", "sinabs.", "norse.torch.")
# Modules whose top-level functions are pure math (surrogate gradients, activations): a pickle may
# reference them, e.g. inside functools.partial, without being able to do harm by calling them.
PURE_FUNCTION_MODULES = (
    "snntorch.surrogate",
    "spikingjelly.activation_based.surrogate",
    "sinabs.activation.surrogate_gradient_fn",
    "torch.nn.functional",
    # Norse neuron step functions and reset functions (tensor arithmetic only): a Norse module
    # stores its step function (`SNNCell.activation`) and LIFBoxParameters its `reset_method`.
    "norse.torch.functional.lif",
    "norse.torch.functional.lif_box",
    "norse.torch.functional.iaf",
    "norse.torch.functional.leaky_integrator",
    "norse.torch.functional.leaky_integrator_box",
    "norse.torch.functional.reset",
)


def _method_of(obj: Any, name: str) -> Any:
    """`getattr` restricted to methods defined on a trusted library class, fetched from the class
    itself (snnTorch's `SpikingNeuron._surrogate_bypass`, `surrogate.ATan.apply`) or one of its
    objects (a bound `state_function`)."""
    cls = obj if isinstance(obj, type) else type(obj)
    trusted = cls.__module__.startswith(TRUSTED_CLASS_PREFIXES)
    if not trusted or name.startswith("__") or not callable(getattr(cls, name, None)):
        raise pickle.UnpicklingError(f"refused getattr({cls.__module__}.{cls.__qualname__}, {name!r})")
    return getattr(obj, name)


ALWAYS_ALLOWED: dict[str, Any] = {"functools.partial": functools.partial, "builtins.getattr": _method_of}

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
        return _torch_load(path, weights_only=False)
    if not zipfile.is_zipfile(path):
        raise input_error(
            "FE-CORRUPT-FILE",
            f"{path}: not a PyTorch zip checkpoint (corrupt, truncated, or the legacy pre-1.6 format)",
            hint="re-save it with torch.save(model, path) from PyTorch 1.6 or newer",
        )
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as e:  # any parse failure of a damaged archive
        raise input_error("FE-CORRUPT-FILE", f"{path}: cannot read the checkpoint ({e})") from None
    allowed, refused = _classify(names)
    if refused:
        raise SnncError(refused)
    with torch.serialization.safe_globals([(obj, name) for name, obj in allowed.items()]):
        return _torch_load(path, weights_only=True)


def _torch_load(path: Path, *, weights_only: bool) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile, ValueError) as e:
        raise input_error("FE-CORRUPT-FILE", f"{path}: cannot unpickle the model ({_first_line(e)})") from None
    except (ModuleNotFoundError, AttributeError) as e:
        raise input_error(
            "FE-MISSING-CLASS",
            f"{path}: the model refers to code that cannot be imported here ({e})",
            hint="install the library the model was built with, or load a state dict into a model built in code",
        ) from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _classify(names: list[str]) -> tuple[dict[str, Any], list[Diagnostic]]:
    allowed: dict[str, Any] = {}
    refused: list[Diagnostic] = []
    for name in names:
        if name in ALWAYS_ALLOWED:
            allowed[name] = ALWAYS_ALLOWED[name]
            continue
        trusted_module = name.startswith(TRUSTED_CLASS_PREFIXES) or name.startswith("torch.")
        obj = _resolve(name) if trusted_module else None
        if obj is not None and _is_safe(name, obj):
            allowed[name] = obj
        elif trusted_module and obj is None:
            refused.append(
                Diagnostic(
                    "FE-MISSING-CLASS",
                    f"the model file refers to {name}, which cannot be imported here",
                    hint="install the library (and version) the model was saved with; " + TRUST_HINT,
                )
            )
        else:
            refused.append(
                Diagnostic(
                    "FE-UNSAFE-PICKLE",
                    f"the model file refers to {name}, which is not on snnc's allowlist; unpickling it "
                    "could run arbitrary code, so the file was not loaded",
                    hint=TRUST_HINT,
                    measured=name,
                )
            )
    return allowed, refused


def _is_safe(name: str, obj: Any) -> bool:
    if isinstance(obj, type):
        if name.startswith(TRUSTED_CLASS_PREFIXES):
            return True
        return issubclass(obj, (torch.nn.Module, torch.autograd.Function))
    module = getattr(obj, "__module__", "") or ""
    return callable(obj) and name.rsplit(".", 1)[0] in PURE_FUNCTION_MODULES and module in PURE_FUNCTION_MODULES


def _resolve(name: str) -> Any:
    """Import `pkg.module.Qual.name` (module part found by trying the longest importable prefix)."""
    zoo = ".".join(name.split(".")[:4])
    if zoo in ("spikingjelly.activation_based.model.sew_resnet", "spikingjelly.activation_based.model.spiking_resnet",
               "spikingjelly.activation_based.model.spiking_vgg"):  # fmt: skip
        # they import torchvision, which snnc does without (frontend/spikingjelly.py: import_zoo)
        from snnc.frontend.spikingjelly import import_zoo

        import_zoo(zoo)
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None
