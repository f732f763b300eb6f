"""What a compilation target is (ARCHITECTURE §3), and the option handling every target shares.

A target is a class in its own package `snnc/backends/<name>/`, registered by one line in
`snnc/backends/__init__.py`. It declares:

    name, summary       its registry name and a one-line description (shown by `--help`)
    Options             a frozen dataclass: every option the API (`snnc.compile(..., **options)`)
                        and the CLI (`--option-name VALUE`, generated from the fields) accept; each
                        field's type is its validation, its metadata["help"] its documentation
    pipeline(o, calib)  the passes that lower a float graph for it
    rules               one small check per hardware rule, each `(graph, options) -> diagnostics`,
                        limits read from the target's spec; `check(graph, options, calib)` runs
                        them all, never stopping at the first violation (and rules on activity
                        measured on the calibration data)
    lower(g, dir, o)    writes its artefacts (atomically), returns them by name
    simulate(g, x, ...) runs a lowered graph as the target computes it
    execution_model     for `snnc validate`: the target's own way of running a compiled graph
                        beside snnc's integer simulation (an ExecutionModel), if it has one;
                        `simulated_exactly` says instead that the integer simulation is the target
    energy_model()      its chip energy model for `snnc report --model target`, if it has one

Options are validated here, once, from the dataclass: an unknown name, a value of the wrong type
or outside a Literal's choices is TARGET-OPTION (an input error) naming the accepted options, so
no target writes its own parsing and the CLI and API cannot disagree.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.ir.graph import Graph

if TYPE_CHECKING:
    from snnc.cost.energy import Model
    from snnc.passes.base import Pass
    from snnc.sim.result import SimResult

Artefacts = dict[str, Path]
"""What `lower` wrote: artefact name → path."""

RuleCheck = Callable[[Graph, Any], Iterable[Diagnostic]]
"""One hardware rule: the lowered graph and the target's options in, its violations out."""


@dataclass(frozen=True)
class NoOptions:
    """The options of a target that takes none."""


@dataclass(frozen=True)
class ExecutionModel:
    """A target's own execution model: how the chip (or its vendor's software) runs a compiled
    graph, as opposed to snnc's integer simulation of that graph. `snnc validate` runs it as its
    "target" stage and compares it with the integer simulation, layer by layer.

    title         what the stage is called in reports, e.g. "Speck event-driven model"
    how           the keyword arguments of `Target.simulate` that select it, e.g. {"mode": "events"}
    event_driven  it processes events one at a time, so the order of events within a step can
                  change what fires (validate then considers "event-ordering" as a cause)
    records       which variables `simulate(..., record=...)` can trace per node ("out", "v", "h");
                  with "out" validate compares every neuron, else each node's events per step,
                  which such a model reports in `SimResult.activity` without being asked

    Contract of its `simulate`: a SimResult whose outputs, traces and activity are keyed by the
    names of the compiled graph's nodes (or by the user's module paths, `Node.source`), values in
    the compiled graph's integer units.
    """

    title: str
    how: Mapping[str, Any]
    event_driven: bool = False
    records: tuple[str, ...] = ()


class Target:
    """Base class of every target: the shared behaviour, overridden where a target differs."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions
    rules: ClassVar[Sequence[RuleCheck]] = ()
    execution_model: ClassVar[ExecutionModel | None] = None
    simulated_exactly: ClassVar[bool] = False  # the integer simulation is how the target executes

    def options(self, given: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """This target's Options from keyword values (Python values, or text as the CLI gives)."""
        return make_options(self.name, self.Options, {**(given or {}), **kwargs})

    def pipeline(self, options: Any, calib: Any = None) -> list[Pass]:
        raise NotImplementedError

    def check(self, graph: Graph, options: Any, calib: Any = None) -> list[Diagnostic]:
        """Every violation of every rule on the lowered `graph`, all at once; `calib`, the
        compilation's calibration data if any, serves rules that judge measured activity."""
        return [d for rule in self.rules for d in rule(graph, options)]

    def lower(self, graph: Graph, out_dir: Path, options: Any) -> Artefacts:
        raise NotImplementedError

    def simulate(self, graph: Graph, x: Any, *, record: Iterable[str] = (), **how: Any) -> SimResult:
        """Run the lowered graph as the target computes it; by default the reference simulator,
        whose integer semantics are the target's once the graph is quantized for it."""
        from snnc.sim import run

        if how:
            raise input_error(
                "TARGET-OPTION",
                f"the {self.name} target simulates one way; it takes no {', '.join(sorted(how))}",
                hint="drop the option",
            )
        return run(graph, x, record=record)

    def energy_model(self, **settings: Any) -> Model:
        raise input_error(
            "COST-TARGET",
            f"the {self.name} target has no energy model of its own",
            hint="use --model literature or --model memory, or a chip target (speck, loihi)",
        )

    @classmethod
    def has_energy_model(cls) -> bool:
        return cls.energy_model is not Target.energy_model


# --- options ------------------------------------------------------------------------------------


def option_fields(options_class: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(options_class)


def option_help(f: dataclasses.Field) -> str:
    return f.metadata.get("help", "")


def make_options(target: str, options_class: type, given: Mapping[str, Any]) -> Any:
    """`options_class(**given)`, every value checked and converted against its field's type."""
    fields = {f.name: f for f in option_fields(options_class)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        accepted = ", ".join(fields) or "none"
        raise input_error(
            "TARGET-OPTION",
            f"the {target} target has no option(s) {', '.join(unknown)}; its options are: {accepted}",
            hint="drop the unknown option(s), or pick the target they belong to",
        )
    hints = typing.get_type_hints(options_class)
    values = {}
    for name, value in given.items():
        if value is None:
            continue
        try:
            values[name] = convert(hints[name], value)
        except (TypeError, ValueError) as e:
            raise input_error(
                "TARGET-OPTION",
                f"{target} option {name}={value!r}: {e}",
                hint=option_help(fields[name]) or f"give {name} as {describe(hints[name])}",
                measured=_plain(value),
            ) from None
    try:
        return options_class(**values)
    except (TypeError, ValueError) as e:  # the dataclass's own __post_init__ judged the combination
        raise SnncError([Diagnostic("TARGET-OPTION", f"{target} options: {e}", hint="fix the option values")]) from None


def convert(annotation: Any, value: Any) -> Any:
    """`value` as an instance of `annotation`: the Python value, or text as the CLI gives it.
    Supported: bool, int, float, str, Literal[...], X | None, tuple[T, ...], tuple[T1, T2],
    dict[str, T] (text: `key=value,key=value`)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None and len(inner) < len(args):
            return None
        errors = []
        for a in inner:
            try:
                return convert(a, value)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and not isinstance(choice, str) and value == str(choice)):
                return choice
        raise ValueError(f"expected one of {', '.join(map(str, args))}")
    if origin is tuple:
        items = _split(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(args[0], v) for v in items)
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} values, got {len(items)}")
        return tuple(convert(a, v) for a, v in zip(args, items))
    if origin in (dict, Mapping) or annotation is dict:
        key_type, value_type = args or (str, str)
        pairs = _pairs(value)
        return {convert(key_type, k): convert(value_type, v) for k, v in pairs}
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ValueError("expected true or false")
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected an integer")
        return int(value)
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError("expected text")
        return value
    raise TypeError(f"options of type {annotation} are not supported")  # a bug in the target's Options


def describe(annotation: Any) -> str:
    """How a value of `annotation` is written on the command line (for --help and hints)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args if a is not type(None))
    if origin is Literal:
        return "|".join(map(str, args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"{describe(args[0]).upper()},..."
        return ",".join(describe(a).upper() for a in args)
    if origin in (dict, Mapping):
        return "KEY=VALUE,..."
    return {bool: "true|false", int: "N", float: "X", str: "TEXT"}.get(annotation, str(annotation))


def _split(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError("expected a list of values")


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        return list(value.items())
    pairs = []
    for item in _split(value):
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not KEY=VALUE")
        pairs.append((key.strip(), val.strip()))
    return pairs


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else str(value)
