"""`to_samna(config)`: the configuration file's object as samna's `SpeckConfiguration`, where samna
(SynSense's closed-source SDK) is installed; snnc never requires it (ARCHITECTURE §1: samna is
imported only here, lazily).

The file uses samna's own field names (docs/targets/speck.md §9), so the conversion is a plain
field-by-field copy, assigning values as sinabs does (`chips/dynapcnn.py::
write_dynapcnn_layer_config`: `dimensions` and the DVS layer's `cut`, `origin`, `pooling`, `mirror`
as nested dicts, each destination slot field by field). snnc's own `source`, `placement` and the
DVS layer's `input_shape` are not samna fields and stay behind. The configuration is validated
first (read.py), so a hand-edited file fails with SPECK-CONFIG, and a field this samna does not
know with SPECK-SAMNA, never midway with a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

from snnc.backends.speck.read import parse_config
from snnc.diagnostics import input_error

SNNC_FIELDS = ("source", "input_shape")  # a section's own keys (a core's input_shape is in its dimensions)
SECTIONS = ("dvs_layer", "readout", "dvs_filter", "factory_config")


def to_samna(config: dict[str, Any]) -> Any:
    parse_config(config)
    try:
        samna = importlib.import_module("samna")
    except ImportError:
        raise input_error(
            "SPECK-SAMNA",
            "samna is not installed; snnc writes Speck configurations without it, but converting one to "
            "samna's object needs it",
            hint="install SynSense's samna to program a chip, or pass the .speck.json to your own tools",
        ) from None
    chip = getattr(samna, config["chip"])
    target = chip.configuration.SpeckConfiguration()
    for k, layer in enumerate(config["cnn_layers"]):
        _copy(target.cnn_layers[k], layer, f"cnn_layers[{k}]")
    for section in SECTIONS:
        _copy(getattr(target, section), config[section], section)
    return target


def _copy(obj: Any, fields: dict[str, Any], path: str) -> None:
    for key, value in fields.items():
        if key in SNNC_FIELDS:
            continue
        try:
            if key == "destinations":
                for j, slot in enumerate(value):
                    for name, item in slot.items():
                        setattr(obj.destinations[j], name, item)
            else:
                setattr(obj, key, value)
        except (AttributeError, TypeError, ValueError, IndexError) as e:
            raise input_error(
                "SPECK-SAMNA",
                f"samna's configuration does not take {path}.{key}: {e}",
                hint="the installed samna may be of another version than the one sinabs 3.1.3 targets",
            ) from None
