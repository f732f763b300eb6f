"""Frontends: every source a user can hand to `snnc.load`, turned into an IR graph.

Sources: an `nn.Module`; a `.pt`/`.pth` file holding a whole model (loaded safely, see
safe_load.py); `"pkg.module:factory"` plus an optional state dict; a `.snnc` file; a `.nir` file
or `nir.NIRGraph` (nir.py); an ANN `.onnx` file (onnx.py). Models from SpikingJelly, snnTorch,
sinabs and Norse are converted by the converters in the module named after each library,
imported only when the model contains one of that library's classes.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.frontend.layout import Layout, choose_layout
from snnc.ir.graph import Graph
from snnc.ir.types import FLOAT, SPIKE, DType

LIBRARY_FRONTENDS = {
    "spikingjelly": "snnc.frontend.spikingjelly",
    "snntorch": "snnc.frontend.snntorch",
    "sinabs": "snnc.frontend.sinabs",
    "norse": "snnc.frontend.norse",
}
INPUT_DTYPES: dict[str, DType] = {"float": FLOAT, "spike": SPIKE}


def load(
    source: Any,
    input_shape: tuple[int, ...] | None = None,
    *,
    trust_pickle: bool = False,
    weights: str | Path | None = None,
    input_dtype: str = "float",
    dt: float | None = None,
    diagnostics: list[Diagnostic] | None = None,
) -> Graph:
    """The IR graph of `source` (not yet verified: the caller verifies). `dt` is the time step of
    a NIR source; `diagnostics` receives what the NIR reader normalized (info) and its warnings."""
    import torch

    from snnc.frontend.onnx import is_onnx_path
    from snnc.nir.read import is_nir_graph, is_nir_path

    if isinstance(source, Graph):
        return source
    if is_nir_graph(source) or is_nir_path(source) or is_onnx_path(source):
        return _interchange(source, input_shape, input_dtype, dt, diagnostics)
    if dt is not None:
        raise input_error("FE-NIR-DT", f"dt applies to NIR sources only, not to {str(source)[:80]!r}", hint="drop dt")
    if isinstance(source, torch.nn.Module):
        return from_module(source, input_shape, input_dtype=input_dtype)
    text = str(source)
    if ":" in text and not Path(text).exists() and not text.startswith(("/", ".")):
        return from_module(from_factory(text, weights), input_shape, input_dtype=input_dtype)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix == ".snnc":
        from snnc.ir import serialize

        return serialize.load(path)
    if suffix in (".pt", ".pth"):
        from snnc.frontend.safe_load import load_pickled_model

        model = load_pickled_model(path, trust_pickle=trust_pickle)
        if not isinstance(model, torch.nn.Module):
            raise input_error(
                "FE-NOT-A-MODEL",
                f"{path} holds a {type(model).__name__}, not a model (a state dict has no architecture)",
                hint="pass 'pkg.module:factory' that builds the model, with --weights pointing to this file",
            )
        try:
            return from_module(model, input_shape, input_dtype=input_dtype)
        except SnncError:
            raise
        except Exception as e:  # the file's values reach code that assumes a model its library built
            raise input_error(
                "FE-CORRUPT-FILE",
                f"{path}: the model it holds cannot be converted ({type(e).__name__}: {str(e)[:200]}); its "
                "attributes are not what its library's layers hold",
                hint="save the model again from the trained network; if the file is intact, this is a bug in "
                "snnc: rerun with --debug and report it",
            ) from e
    raise input_error(
        "FE-UNSUPPORTED-SOURCE",
        f"cannot load {text!r}: snnc reads nn.Module objects, .pt/.pth model files, "
        "'pkg.module:factory', .nir, .onnx and .snnc files",
        hint="save the model with torch.save(model, 'model.pt'), or give the factory that builds it",
    )


def _interchange(
    source: Any, input_shape: Any, input_dtype: str, dt: float | None, diagnostics: list[Diagnostic] | None
) -> Graph:
    """NIR graphs (.nir files, nir.NIRGraph objects) and ONNX ANN graphs (.onnx files)."""
    if input_dtype not in INPUT_DTYPES:
        raise input_error("FE-INPUT-DTYPE", f"input dtype {input_dtype!r} is not one of {sorted(INPUT_DTYPES)}")
    from snnc.frontend.onnx import is_onnx_path, load_onnx

    if is_onnx_path(source):
        if dt is not None:
            raise input_error("FE-NIR-DT", "dt applies to NIR sources only, not to ONNX graphs", hint="drop dt")
        return load_onnx(source, input_shape, input_dtype=INPUT_DTYPES[input_dtype])
    from snnc.nir.read import load_nir

    return load_nir(source, dt=dt, input_dtype=INPUT_DTYPES[input_dtype], diagnostics=diagnostics)


def from_factory(spec: str, weights: str | Path | None) -> Any:
    """Build a model by calling `pkg.module:factory()`, then load a state dict into it if given."""
    import torch

    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise input_error(
            "FE-FACTORY",
            f"cannot import {spec!r}: {e}",
            hint="give an importable 'package.module:function' that returns the model",
        ) from None
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise input_error("FE-FACTORY", f"{spec} returned a {type(model).__name__}, not an nn.Module")
    if weights is not None:
        from snnc.frontend.safe_load import load_checkpoint

        if not Path(weights).is_file():
            raise input_error("IO-NOT-FOUND", f"{weights}: no such file")
        state = load_checkpoint(Path(weights))  # the restricted reader, as for whole models
        try:
            model.load_state_dict(state)
        except Exception as e:  # not a dict of tensors, missing or unexpected keys, other shapes
            raise input_error(
                "FE-WEIGHTS",
                f"cannot load the state dict {weights} into {spec}: {e}",
                hint="the state dict must come from the same architecture",
            ) from None
    return model


def library_frontends(model: Any) -> list[Any]:
    """The converter modules of the libraries whose classes the model uses (imported lazily)."""
    names = {type(m).__module__.split(".")[0] for m in model.modules()}
    return [importlib.import_module(mod) for lib, mod in LIBRARY_FRONTENDS.items() if lib in names]


def from_module(model: Any, input_shape: tuple[int, ...] | None, *, input_dtype: str = "float") -> Graph:
    """Convert a model by running it once on an example input and converting what ran."""
    import snnc.frontend.torch_nn  # noqa: F401  (registers the torch.nn converters)
    from snnc.frontend.capture import capture
    from snnc.frontend.convert import convert
    from snnc.frontend.guard import bounded_allocations, check_example
    from snnc.frontend.registry import find_module_converter

    if input_dtype not in INPUT_DTYPES:
        raise input_error("FE-INPUT-DTYPE", f"input dtype {input_dtype!r} is not one of {sorted(INPUT_DTYPES)}")
    frontends = library_frontends(model)
    # A frontend may copy the modules that copy.deepcopy cannot copy (`copies`: id -> copy).
    memo = {k: v for f in frontends if hasattr(f, "copies") for k, v in f.copies(model).items()}
    model = copy.deepcopy(model, memo).eval()
    layout: Layout = choose_layout(model, frontends)
    shape = tuple(input_shape) if input_shape is not None else infer_input_shape(model)
    check_example(layout.example_shape(shape))
    try:
        with bounded_allocations():  # the model's layers come from a file: size every result first
            for frontend in frontends:
                frontend.reset(model)
            x = layout.example(shape)
            cap = capture(model, [x], lambda m: find_module_converter(m) is not None or _is_opaque(m))
    except SnncError:
        raise
    except Exception as e:  # the model's own forward failed on the example input
        raise SnncError(
            [
                Diagnostic(
                    "FE-CAPTURE",
                    f"running the model on an example input of shape {list(x.shape)} failed: {type(e).__name__}: {e}",
                    hint=f"check input_shape (per sample, without time and batch); snnc feeds {layout.describe()}",
                )
            ]
        ) from None
    batching = next((f.batching(model) for f in frontends if hasattr(f, "batching")), layout.batching)
    return convert(
        cap, lead=layout.lead, input_dtype=INPUT_DTYPES[input_dtype], name=type(model).__name__, batching=batching
    )


def _is_opaque(module: Any) -> bool:
    """Modules of torch.nn or an SNN library that have no converter are recorded whole (and then
    reported as unsupported) instead of being traced through: their internals, such as state kept
    in attributes, would otherwise be silently turned into constants."""
    from torch import nn

    from snnc.frontend.registry import TRANSPARENT

    cls = type(module)
    if cls in TRANSPARENT or cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        return False
    return cls.__module__.startswith(("torch.nn.", *(f"{lib}." for lib in LIBRARY_FRONTENDS)))


def infer_input_shape(model: Any) -> tuple[int, ...]:
    """The per-sample input shape where the model states it: an `input_shape` attribute of the model
    or of its first layer (sinabs' DVSLayer states it, as sinabs' `utils.py::infer_input_shape`
    reads it), or a first layer that is a Linear (whose in_features is the shape). Otherwise a
    clear request for it."""
    from torch import nn

    holder = model
    while holder is not None:  # the model, its first child, that one's first child, ...
        stated = getattr(holder, "input_shape", None)
        if stated is not None:
            return tuple(int(d) for d in stated)
        holder = next(holder.children(), None)
    first = next((m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))), None)
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    what = f" (its first layer takes {first.in_channels} channels)" if first is not None else ""
    raise input_error(
        "FE-INPUT-SHAPE",
        f"the model does not state its input shape{what}",
        hint="pass input_shape=(C, H, W) per sample, without time and batch (CLI: --input-shape C,H,W)",
    )
