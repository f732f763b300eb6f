"""A recording stand-in for SynSense's closed-source `samna`, for tests only (docs/targets/speck.md,
"Method"). It provides exactly what sinabs 3.1.3's `sinabs.backend.dynapcnn` touches when it builds a
configuration (`chips/speck2e.py`, `chips/speck2f.py`, `config_builder.py`, `io.py`, `specksim.py`):
`speck2e`/`speck2f` with a `configuration.SpeckConfiguration` whose every attribute assignment is
recorded, and a `validate_configuration` that accepts everything (the real validator is closed, so
it says nothing about what samna would reject). Everything else is an inert placeholder.

It is put on sys.path by tests/backends/speck/conftest.py only; snnc never imports it.
"""

import sys
import types

from samna import configuration as _configuration


def _placeholder_module(name: str) -> types.ModuleType:
    """A module whose every attribute is an inert class (annotations and `samna.x.y()` calls at import)."""
    module = types.ModuleType(name)

    def __getattr__(attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return type(attr, (), {"__init__": lambda self, *a, **k: None})

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[name] = module
    return module


def _chip(name: str) -> types.ModuleType:
    chip = types.ModuleType(f"samna.{name}")
    config = types.ModuleType(f"samna.{name}.configuration")
    config.SpeckConfiguration = _configuration.SpeckConfiguration
    config.CnnLayerConfig = _configuration.CnnLayerConfig
    config.DvsLayerConfig = _configuration.DvsLayerConfig
    chip.configuration = config
    chip.event = _placeholder_module(f"samna.{name}.event")
    chip.validate_configuration = lambda cfg: (True, "")
    sys.modules[chip.__name__] = chip
    sys.modules[config.__name__] = config
    return chip


speck2e = _chip("speck2e")
speck2f = _chip("speck2f")
device = _placeholder_module("samna.device")
graph = _placeholder_module("samna.graph")
specksim = types.ModuleType("samna.specksim")
specksim.nodes = _placeholder_module("samna.specksim.nodes")
specksim.events = _placeholder_module("samna.specksim.events")
sys.modules["samna.specksim"] = specksim
STANDIN = True  # how a test tells this module from the real samna


def __getattr__(attr: str):
    if attr.startswith("__"):
        raise AttributeError(attr)
    return type(attr, (), {"__init__": lambda self, *a, **k: None})
