"""The `snnc` command: parses arguments, calls the public API, renders the result.

Conventions (ARCHITECTURE §5): results go to stdout, logs to stderr; every verb takes
`--format text|json`; exit code 0 means ok, 1 the model fails a check, 2 bad usage or unreadable
input, 70 a bug in snnc. Errors are rendered diagnostics, never a traceback unless `--debug`.
Each verb lives in its own module under snnc/commands/ (`add_parser`, `run`), listed in VERBS.

The command starts instantly: only the verb being run is imported and given its full parser
(verbs import torch, numpy or a chip SDK as they need them), so `snnc --version` and
`snnc --help`, which list the verbs from VERBS, import none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import snnc

EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in snnc, not in the user's model or input
VERBS = {  # verb → the one line `snnc --help` shows (each module's parser says the same: tests/test_cli.py)
    "inspect": "load and verify a model; print its IR graph",
    "simulate": "run a model in the reference simulator",
    "report": "measure synaptic operations, MACs and energy per layer on data",
    "compile": "lower a model for a target and write it",
    "check": "report every diagnostic of compiling a model for a target",
    "validate": "compare the source model, the IR, the compiled graph and the target layer by layer",
    "export": "write a model as NIR (with snnc's exact semantics)",
    "convert": "convert a ReLU ANN into an SNN of IF neurons",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(_verb(argv)).parse_args(argv)
    if not args.debug:
        # SpikingJelly's import makes torch log "Triton not available" once per kernel (CPU-only
        # machines have no Triton): noise on a user's terminal, kept for --debug.
        logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
    with _sigterm_as_exit():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from snnc.commands.common import limits_from  # with the verb's modules: `snnc --help` imports neither

    try:
        with limits_from(args):
            return args.run(args)
    except snnc.SnncError as e:
        from snnc.commands.common import print_errors

        if args.debug:
            traceback.print_exc()
        print_errors(e.diagnostics, e.exit_code, args.format)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout's reader left (`snnc inspect big.snnc | head`): not a bug
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush stays quiet
        return 141  # 128 + SIGPIPE, what a shell reports for a program killed by a closed pipe
    except Exception as e:
        if args.debug:
            traceback.print_exc()
        where = "".join(f"; {note}" for note in getattr(e, "__notes__", ()))
        print(
            f"snnc: internal error ({type(e).__name__}: {e}{where}); this is a bug in snnc, please report it "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a CI timeout, `kill`) raises SystemExit, so that cleanup code runs: a half-written
    output's temporary file is removed (snnc/atomic.py). The previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _verb(argv: Sequence[str]) -> str | None:
    """The verb the command line runs: its first word that is not an option (None: no verb)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command's parser, with the full parser of `verb` (if it is one) and a one-line entry
    for every other verb."""
    parser = argparse.ArgumentParser(
        prog="snnc",
        description="Compile trained spiking neural networks for neuromorphic hardware and simulate them.",
        epilog="Exit codes: 0 ok, 1 the model fails a check, 2 bad usage or unreadable input, 70 internal error. "
        "Diagnostics carry stable rule ids, documented beside the code that reports them (snnc/*/rules.py).",
    )
    parser.add_argument("--version", action="version", version=f"snnc {snnc.__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback when a command fails")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name, summary in VERBS.items():
        if name == verb:  # a fresh parent per verb: a verb's conflict_handler="resolve" edits the parent's actions
            importlib.import_module(f"snnc.commands.{name}").add_parser(verbs, _common())
        else:
            verbs.add_parser(name, help=summary, add_help=False)
    return parser


def _common() -> argparse.ArgumentParser:
    """The options every verb takes. Verbs accept --debug too; SUPPRESS keeps the global value
    when it is not repeated there."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    from snnc.commands.common import add_limit_arguments  # only for the verb being run (see the docstring)

    add_limit_arguments(common)
    return common
