"""What every flow starts from: the model as a verified graph."""

from __future__ import annotations

from typing import Any

from snnc.ir.graph import Graph
from snnc.ir.verify import verify_or_raise


def graph_of(source: Any) -> Graph:
    """`source` as a verified graph: a Graph (verified here), or anything `snnc.load` reads with
    its defaults. A graph that fails the verifier raises SnncError of kind CHECK."""
    if not isinstance(source, Graph):
        from snnc import frontend  # torch is imported here, only when a model file must be read

        source = frontend.load(source)
    verify_or_raise(source)
    return source
