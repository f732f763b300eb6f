"""SynSense Speck: the target (target.py), its configuration file (lower.py writes it, read.py reads
it back), the event-driven chip model (events.py) and, where samna is installed, the conversion to
samna's configuration object (samna.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def is_config_path(path: Any) -> bool:
    return isinstance(path, (str, Path)) and str(path).lower().endswith(".speck.json")


def to_samna(config: dict[str, Any]) -> Any:
    """samna's `SpeckConfiguration` for a configuration (lower.py), where samna is installed."""
    from snnc.backends.speck.samna import to_samna as convert

    return convert(config)
