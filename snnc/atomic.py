"""Atomic file output: a reader sees the old file or the new one, never a part of one.

Every file snnc writes (graphs, NIR exports, simulation results, HTML reports) goes through
`write_atomically`: the bytes go to a temporary file in the target's directory (same file
system, so the rename is atomic), are fsynced, and replace the target; on any failure, including
KeyboardInterrupt, the temporary file is removed and an existing target is left untouched.
Missing parent directories are created, so `-o out/run1/x.npz` works like `mkdir -p`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from snnc.diagnostics import input_error


def write_atomically(path: str | os.PathLike[str], data: bytes, *, rule: str) -> Path:
    """Write `data` to `path`; an OSError becomes SnncError `rule` (exit code 2) naming the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never write through a file someone else created; 0o666 lets the umask decide.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):  # keep the original error, not a cleanup failure
                tmp.unlink()
            raise
    except OSError as e:
        raise input_error(
            rule,
            f"cannot write {str(path)!r}: {e.strerror or e}",
            hint="choose a writable path on a file system with free space",
        ) from None
    return path
