"""Recording configuration objects of the samna stand-in (tests only; see samna/__init__.py).

Each object starts from a few defaults (the structure sinabs reads: 9 CNN layers with 2
destinations each, a DVS layer with 2 destinations) and logs every attribute assignment in order.
Assigning a dict to a structured field builds a new structure from it, as samna's pybind structs
do with the nested dict sinabs gives `dimensions`. `plain(obj)` turns an object into plain data.
"""

from __future__ import annotations

from typing import Any


class Record:
    """An object that records every attribute assignment; `log` lists them in order."""

    def __init__(self, **defaults: Any) -> None:
        object.__setattr__(self, "log", [])
        object.__setattr__(self, "values", dict(defaults))

    def __setattr__(self, name: str, value: Any) -> None:
        self.log.append((name, value))
        current = self.values.get(name)
        if isinstance(current, Record) and isinstance(value, dict):
            value = _structured(value)
        self.values[name] = value

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(name)

    def written(self) -> set[str]:
        return {name for name, _ in self.log}


def _structured(data: dict) -> Record:
    record = Record()
    for key, value in data.items():
        setattr(record, key, _structured(value) if isinstance(value, dict) else value)
    return record


def _destination() -> Record:
    return Record(layer=0, enable=False, pooling=1)


def CnnLayerConfig() -> Record:
    return Record(destinations=[_destination(), _destination()], dimensions=Record(), monitor_enable=False)


def DvsLayerConfig() -> Record:
    return Record(
        destinations=[Record(layer=0, enable=False), Record(layer=0, enable=False)],
        pooling=Record(x=1, y=1),
        cut=Record(x=127, y=127),
        origin=Record(x=0, y=0),
        mirror=Record(x=False, y=False),
        monitor_enable=False,
    )


class SpeckConfiguration(Record):
    """samna.speck2f.configuration.SpeckConfiguration as far as sinabs uses it."""

    DVSLayerConfig = staticmethod(DvsLayerConfig)

    def __init__(self) -> None:
        super().__init__(
            cnn_layers=[CnnLayerConfig() for _ in range(9)],
            dvs_layer=DvsLayerConfig(),
            readout=Record(),
            dvs_filter=Record(),
            factory_config=Record(),
        )


def plain(value: Any) -> Any:
    """`value` as plain Python data: records as dicts of their values, tensors as lists or scalars."""
    if isinstance(value, Record):
        return {k: plain(v) for k, v in value.values.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # torch tensors and numpy values (sinabs writes leak_enable as a 0-d tensor)
        return plain(value.tolist())
    return value
