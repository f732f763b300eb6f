"""The Lava import shim: patches applied in memory, loud on a missing pattern, refused late."""

from __future__ import annotations

import sys

import pytest

from snnc.backends.loihi import shim


def test_each_patch_rewrites_its_pattern():
    source = "class C:\n    x: ByteEncoder = ByteEncoder()\n    y: ByteEncoder = ByteEncoder()\n"
    patched = shim.patched_source("lava.magma.compiler.var_model", source)
    assert patched.count("default_factory=ByteEncoder") == 2 and "= ByteEncoder()" not in patched
    torch_free = shim.patched_source("lava.lib.dl.netx.sequential_modules", "import numpy as np\nimport torch\n")
    namespace: dict = {}
    exec(compile(torch_free, "m", "exec"), namespace)  # imports torch if present, else the stand-in
    assert hasattr(namespace["torch"], "is_tensor")


def test_a_missing_pattern_fails_loudly():
    with pytest.raises(ImportError, match=r"cannot patch lava\.lib\.dl\.netx\.hdf5"):
        shim.patched_source("lava.lib.dl.netx.hdf5", "import numpy\n")


def test_it_refuses_to_install_after_lava_was_imported(monkeypatch):
    monkeypatch.setattr(shim, "installed", lambda: False)
    monkeypatch.setitem(sys.modules, "lava.magma.compiler.var_model", object())
    with pytest.raises(ImportError, match="imported before snnc's Lava shim"):
        shim.install()


def test_the_installed_patches_match_lava_s_sources():
    """Every pattern is found in the installed lava-nc 0.10.0 and lava-dl 0.6.0 (read, not run)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("lava")  # a top-level spec: nothing of lava is executed
    assert spec is not None, "lava is not installed (make install installs lava-nc and lava-dl)"
    root = Path(spec.submodule_search_locations[0]).parent
    for module in shim.PATCHES:
        source = (root / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        shim.patched_source(module, source)
