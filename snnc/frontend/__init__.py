"""Frontends: every source a user can hand to `snnc.load`, turned into an IR graph.

Sources: an `nn.Module`; a `.pt`/`.pth` file holding a whole model (loaded safely, see
safe_load.py); `"pkg.module:factory"` or `"path/to/file.py:factory"` plus an optional state dict
(factory.py); a `.snnc` file; a `.nir` file
or `nir.NIRGraph` (nir.py); an ANN `.onnx` file (onnx.py). Models from SpikingJelly, snnTorch,
sinabs and Norse are converted by the converters in the module named after each library,
imported only when the model contains one of that library's classes.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snnc.diagnostics import Diagnostic, Severity, SnncError, input_error
from snnc.frontend.factory import from_factory, is_factory
from snnc.frontend.layout import EXAMPLE_BATCH, TIMES, Layout, Stepped, choose_layout
from snnc.frontend.probe import capture_time, returns_state
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
    input_time: str | None = None,
    dt: float | None = None,
    producer: str | None = None,
    diagnostics: list[Diagnostic] | None = None,
) -> Graph:
    """The IR graph of `source` (not yet verified: the caller verifies). `input_time` "static" or
    "sequence" for a PyTorch model (from_module); `dt` is the time step of a NIR source and
    `producer` the library whose exporter wrote it (snnc/nir/producers.py); `diagnostics` receives
    info notes (what the NIR reader normalized and restored, how the graph's time layout relates
    to the model's) and warnings."""
    from snnc.frontend.onnx import is_onnx_path
    from snnc.nir.read import is_nir_graph, is_nir_path

    if isinstance(source, Graph):
        return source
    if is_nir_graph(source) or is_nir_path(source):
        return _nir(source, input_dtype, dt, producer, diagnostics)
    if producer is not None:
        raise input_error(
            "FE-NIR-PRODUCER-UNKNOWN",
            f"producer applies to NIR sources only, not to {str(source)[:80]!r}",
            hint="drop producer (--nir-producer)",
        )
    if is_onnx_path(source):
        return _onnx(source, input_shape, input_dtype, dt)
    if dt is not None:
        raise input_error("FE-NIR-DT", f"dt applies to NIR sources only, not to {str(source)[:80]!r}", hint="drop dt")
    model = module_of(source, trust_pickle=trust_pickle, weights=weights, notes=diagnostics)
    if model is not None:
        from_file = isinstance(source, (str, Path)) and not is_factory(str(source))
        with _model_file_errors(source) if from_file else contextlib.nullcontext():
            return from_module(model, input_shape, input_dtype=input_dtype, input_time=input_time, notes=diagnostics)
    text = str(source)
    if Path(text).suffix.lower() == ".snnc":
        from snnc.ir import serialize

        return serialize.load(Path(text))
    raise input_error(
        "FE-UNSUPPORTED-SOURCE",
        f"cannot load {text!r}: snnc reads nn.Module objects, .pt/.pth model files, "
        "'pkg.module:factory', .nir, .onnx and .snnc files",
        hint="save the model with torch.save(model, 'model.pt'), or give the factory that builds it",
    )


@contextlib.contextmanager
def _model_file_errors(path: Any) -> Iterator[None]:
    """A model unpickled from a file holds the file's values, which may reach code that assumes a
    model its library built: any failure then is the file's (exit 2), not a bug in snnc."""
    try:
        yield
    except SnncError:
        raise
    except Exception as e:
        raise input_error(
            "FE-CORRUPT-FILE",
            f"{path}: the model it holds cannot be converted ({type(e).__name__}: {str(e)[:200]}); its "
            "attributes are not what its library's layers hold",
            hint="save the model again from the trained network; if the file is intact, this is a bug in "
            "snnc: rerun with --debug and report it",
        ) from e


def module_of(
    source: Any,
    *,
    trust_pickle: bool = False,
    weights: str | Path | None = None,
    notes: list[Diagnostic] | None = None,
) -> Any:
    """The PyTorch model `source` stands for (an nn.Module, a `.pt`/`.pth` file holding one, or a
    factory `"pkg.module:function"` / `"file.py:function"` with optional `weights`), or None for
    sources that are no torch model (graphs, `.snnc`, NIR and ONNX files). `load` converts it;
    `snnc validate` also runs it as its library does."""
    import torch

    if isinstance(source, torch.nn.Module):
        return source
    if isinstance(source, Graph) or not isinstance(source, (str, Path)):
        return None
    text = str(source)
    if is_factory(text):
        return from_factory(text, weights, notes)
    path = Path(text)
    if path.suffix.lower() not in (".pt", ".pth"):
        return None
    from snnc.frontend.safe_load import load_pickled_model

    model = load_pickled_model(path, trust_pickle=trust_pickle)
    if not isinstance(model, torch.nn.Module):
        raise input_error(
            "FE-NOT-A-MODEL",
            f"{path} holds a {type(model).__name__}, not a model (a state dict has no architecture)",
            hint="pass 'pkg.module:factory' that builds the model, with --weights pointing to this file",
        )
    return model


def _checked_dtype(input_dtype: str) -> DType:
    if input_dtype not in INPUT_DTYPES:
        raise input_error("FE-INPUT-DTYPE", f"input dtype {input_dtype!r} is not one of {sorted(INPUT_DTYPES)}")
    return INPUT_DTYPES[input_dtype]


def _onnx(source: Any, input_shape: Any, input_dtype: str, dt: float | None) -> Graph:
    """An ANN graph from an .onnx file."""
    from snnc.frontend.onnx import load_onnx

    if dt is not None:
        raise input_error("FE-NIR-DT", "dt applies to NIR sources only, not to ONNX graphs", hint="drop dt")
    return load_onnx(source, input_shape, input_dtype=_checked_dtype(input_dtype))


def _nir(
    source: Any, input_dtype: str, dt: float | None, producer: str | None, diagnostics: list[Diagnostic] | None
) -> Graph:
    """A NIR graph (.nir file or nir.NIRGraph)."""
    from snnc.nir.read import load_nir

    dtype = _checked_dtype(input_dtype)
    return load_nir(source, dt=dt, input_dtype=dtype, diagnostics=diagnostics, producer=producer)


def library_frontends(model: Any) -> list[Any]:
    """The converter modules of the libraries whose classes the model uses (imported lazily)."""
    names = {type(m).__module__.split(".")[0] for m in model.modules()}
    return [importlib.import_module(mod) for lib, mod in LIBRARY_FRONTENDS.items() if lib in names]


def from_module(
    model: Any,
    input_shape: tuple[int, ...] | None,
    *,
    input_dtype: str = "float",
    input_time: str | None = None,
    notes: list[Diagnostic] | None = None,
) -> Graph:
    """Convert a model by running it once on an example input and converting what ran.

    `input_time` "sequence" or "static" says whether the model's input is a sequence or one frame
    that the model repeats over time itself (layout.py); None finds out: a model that fails on a
    sequence, or loops over it without ever slicing it, is run again on a static frame. `notes`
    receives info diagnostics on how the graph's time layout relates to the model's."""
    import snnc.frontend.torch_nn  # noqa: F401  (registers the torch.nn converters)
    from snnc.frontend.convert import convert
    from snnc.frontend.guard import bounded_allocations, check_example

    if input_dtype not in INPUT_DTYPES:
        raise input_error("FE-INPUT-DTYPE", f"input dtype {input_dtype!r} is not one of {sorted(INPUT_DTYPES)}")
    if input_time not in (None, *TIMES):
        raise input_error("FE-INPUT-TIME", f"input time {input_time!r} is not one of {list(TIMES)}")
    frontends = library_frontends(model)
    # A frontend may copy the modules that copy.deepcopy cannot copy (`copies`: id -> copy).
    memo = {k: v for f in frontends if hasattr(f, "copies") for k, v in f.copies(model).items()}
    model = copy.deepcopy(model, memo).eval()
    layout: Layout = choose_layout(model, frontends)
    shape = tuple(input_shape) if input_shape is not None else infer_input_shape(model)
    check_example(layout.example_shape(shape))
    with bounded_allocations():  # the model's layers may come from a file: size every result first
        if layout.kind in ("per_step", "loop") and returns_state(model, shape):
            layout = Layout("stepped")
        runner = Stepped(model) if layout.kind == "stepped" else model
        cap, line, layout = capture_time(runner, model, layout, shape, input_time, frontends)
    local: list[Diagnostic] = []
    static = layout.time == "static" or line.steps is not None
    if layout.batch_first_slices:
        local.append(_time_note("the model reads its input batch-first, [B, T, *shape]", "x.transpose(1, 0, ...)"))
    if static and line.steps is not None:
        local.append(_time_note(f"the model repeats a static input over {line.steps} steps itself", None))
    if layout.batch != EXAMPLE_BATCH and layout.kind != "batch_time":
        local.append(
            Diagnostic(
                "FE-TIME-LAYOUT",
                f"the model reshapes to a fixed batch size of {layout.batch} (x.view({layout.batch}, -1)), so snnc "
                "ran it with that batch; the graph takes any batch size",
                hint="write x.view(x.size(0), -1) or x.flatten(1) to run the model itself on other batch sizes",
                severity=Severity.INFO,
            )
        )
    batching = next((f.batching(model) for f in frontends if hasattr(f, "batching")), layout.batching)
    graph = convert(
        cap,
        line,
        input_dtype=INPUT_DTYPES[input_dtype],
        name=type(model).__name__,
        batching=batching,
        input_op={"time": "static", "steps": line.steps} if static else {},
        notes=local,
    )
    if notes is not None:
        notes.extend(local)
    return graph


def _time_note(what: str, fix: str | None) -> Diagnostic:
    if fix is None:
        hint = "the graph's input is static: pass one frame [B, *shape] (held for every step) or [T, B, *shape]"
    else:
        hint = f"snnc's data is time-major [T, B, *shape]: pass {fix}"
    return Diagnostic("FE-TIME-LAYOUT", what, hint=hint, severity=Severity.INFO)


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
