"""Make lava-nc 0.10.0 and lava-dl 0.6.0's NetX import on Python 3.11 without torchvision.

Both packages declare Python <3.11 (docs/targets/loihi.md, "Status"); on 3.11 four of their
modules fail or pull what snnc never installs (docs/environment.md §4, docs/targets/netx.md §6).
`install()` adds an import hook that patches exactly those modules' source text in memory as
they are imported; site-packages stays untouched, and a pattern that is no longer found (another
Lava version) fails loudly with ImportError naming it, rather than running unpatched code:

1. `lava.magma.compiler.var_model`: `x: ByteEncoder = ByteEncoder()` is a mutable dataclass
   default, which Python 3.11 rejects (ValueError at import) → `field(default_factory=...)`.
2. `lava.magma.runtime.message_infrastructure.multiprocessing`: `mp.set_start_method('fork')`
   raises if anything fixed the start method first → `force=True`.
3. `lava.lib.dl.netx.hdf5`: imports slayer at module level for RF neurons only, and slayer pulls
   matplotlib → ... → torchvision (netx.md §6) → imported when an RF neuron is built.
4. `lava.lib.dl.netx.sequential_modules` imports torch for its torch bridge, which the NetX →
   Lava path never calls; Lava's compiler imports every module of a Process's package
   (`magma/compiler/compiler_graphs.py: ProcGroupDiGraphs._find_proc_models`), so it must import
   in a torch-free interpreter → a stand-in namespace where torch is missing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence

Patch = tuple[str, str]

_RF_IMPORT = "from lava.lib.dl.slayer.neuron.rf import neuron_params as get_rf_params\n"
_RF_LAZY = (
    "def get_rf_params(*args, **kwargs):  # patched by snnc: slayer only for RF neurons\n"
    "    from lava.lib.dl.slayer.neuron.rf import neuron_params\n"
    "    return neuron_params(*args, **kwargs)\n"
)
_TORCH_OPTIONAL = (
    "try:  # patched by snnc: the torch bridge is optional\n"
    "    import torch\n"
    "except ImportError:\n"
    "    import types as _types\n"
    "    torch = _types.SimpleNamespace(tensor=object, Tensor=object, is_tensor=lambda x: False)\n"
)

PATCHES: dict[str, Sequence[Patch]] = {
    "lava.magma.compiler.var_model": (
        ("ByteEncoder = ByteEncoder()", "ByteEncoder = __import__('dataclasses').field(default_factory=ByteEncoder)"),
    ),
    "lava.magma.runtime.message_infrastructure.multiprocessing": (
        ("mp.set_start_method('fork')", "mp.set_start_method('fork', force=True)"),
    ),
    "lava.lib.dl.netx.hdf5": ((_RF_IMPORT, _RF_LAZY),),
    "lava.lib.dl.netx.sequential_modules": (("import torch\n", _TORCH_OPTIONAL),),
}
"""Module → (text to find, its replacement); every occurrence is replaced, at least one must exist."""


def patched_source(module: str, source: str) -> str:
    """`source` of `module` with its patches applied; ImportError if a pattern is missing."""
    for old, new in PATCHES[module]:
        if old not in source:
            raise ImportError(
                f"snnc's Lava shim cannot patch {module}: {old.strip()!r} not found "
                "(snnc supports lava-nc 0.10.0 and lava-dl 0.6.0)",
                name=module,
            )
        source = source.replace(old, new)
    return source


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    """Compiles the patched source; never reads or writes the bytecode cache."""

    def get_code(self, fullname: str):
        source = self.get_data(self.path).decode("utf-8")
        return compile(patched_source(fullname, source), self.path, "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchingLoader(fullname, spec.origin)
        return spec


def installed() -> bool:
    return any(isinstance(f, _Finder) for f in sys.meta_path)


def install() -> None:
    """Install the hook (idempotent). ImportError if a module it patches was imported before it."""
    if installed():
        return
    early = sorted(m for m in PATCHES if m in sys.modules)
    if early:
        raise ImportError(f"{', '.join(early)} imported before snnc's Lava shim; import snnc's Loihi backend first")
    sys.meta_path.insert(0, _Finder())
