"""`snnc check MODEL --target sim`: every diagnostic of compiling a model, at once."""

from __future__ import annotations

import argparse
from typing import Any

import snnc
from snnc.commands.common import add_limit_arguments, add_model_arguments, load_model, print_json
from snnc.commands.compile import add_target_arguments, pipeline_options
from snnc.diagnostics import Diagnostic, Kind, Severity, SnncError, errors
from snnc.diagnostics.render import render_junit, render_sarif, render_text

FORMATS = ("text", "json", "sarif", "junit")


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    # Not built on `common`: its --format has two choices, check's four (argparse cannot narrow or
    # widen an inherited option), so check declares the common --debug itself, as snnc/cli.py does.
    parser = verbs.add_parser(
        "check", help="report every diagnostic of compiling a model for a target", description=run.__doc__
    )
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit code 1)")
    add_limit_arguments(parser)
    add_model_arguments(parser)
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model and run the target's whole pipeline, writing nothing; print every diagnostic
    (verifier, quantization, spike-driven, target rules). Exit code 0: no errors (warnings may
    remain, unless --strict), 1: errors (or, with --strict, warnings), 2: the model or an option
    cannot be used. With --format sarif or junit, unusable input is reported in that format too."""
    try:
        graph = load_model(args)
        found = snnc.check(graph, args.target, **pipeline_options(args, graph))
    except SnncError as e:  # verifier errors while loading (kind CHECK), or unusable input
        if e.kind is Kind.INPUT and args.format in ("text", "json"):
            raise  # reported by the CLI as for every verb
        _print(args, list(e.diagnostics))
        return e.exit_code
    _print(args, found)
    return 1 if any(d.severity in _failing(args) for d in found) else 0


def _failing(args: argparse.Namespace) -> tuple[Severity, ...]:
    """What fails the check: errors, and warnings with --strict."""
    return (Severity.ERROR, Severity.WARNING) if args.strict else (Severity.ERROR,)


def _print(args: argparse.Namespace, found: list[Diagnostic]) -> None:
    if args.format == "sarif":
        print(render_sarif(found, uri=args.model, version=snnc.__version__))
    elif args.format == "junit":
        print(render_junit(found, suite=f"{args.model} ({args.target})", failing=_failing(args)))
    elif args.format == "json":
        diagnostics = [d.to_dict() for d in found]
        print_json({"model": args.model, "target": args.target, **_counts(found), "diagnostics": diagnostics})
    else:
        if found:
            print(render_text(found))
        counts = _counts(found)
        strict = " (--strict: warnings fail)" if args.strict else ""
        print(f"{args.model} for {args.target}: {counts['errors']} error(s), {counts['warnings']} warning(s){strict}")


def _counts(found: list[Diagnostic]) -> dict[str, int]:
    return {
        "errors": len(errors(found)),
        "warnings": sum(d.severity is Severity.WARNING for d in found),
        "notes": sum(d.severity is Severity.INFO for d in found),
    }
