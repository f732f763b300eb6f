"""The samna stand-in (standin/samna) for the Speck tests that run sinabs' own `DynapcnnNetwork`:
sinabs.backend.dynapcnn imports samna, which is closed source and never installed (ENVIRONMENT.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

STANDIN = Path(__file__).parent / "standin"


def install_standin() -> None:
    """Put the recording samna first on sys.path and import sinabs' backend through it."""
    real = sys.modules.get("samna")
    if real is not None and not getattr(real, "STANDIN", False):
        raise RuntimeError("a real samna is imported: the stand-in would shadow it")
    if str(STANDIN) not in sys.path:
        sys.path.insert(0, str(STANDIN))
    import sinabs.backend.dynapcnn  # noqa: F401


@pytest.fixture(scope="session")
def dynapcnn():
    """sinabs.backend.dynapcnn, imported through the samna stand-in."""
    pytest.importorskip("sinabs", reason="sinabs is the reference for the Speck backend")
    install_standin()
    import sinabs.backend.dynapcnn as module

    return module
