"""Atomic file output: a reader sees the old file or the new one, never a part of one.

Every file snnc writes (graphs, NIR exports, simulation results, HTML reports) goes through
`write_atomically`: the bytes go to a temporary file in the target's directory (same file
system, so the rename is atomic), are fsynced, and replace the target. Missing parent
directories are created, so `-o out/run1/x.npz` works like `mkdir -p`.

What may be replaced: nothing but a regular file. A symlink, FIFO, socket, device node or
directory at the target is refused (the rename would silently turn `-o /dev/null`, a pipe another
program reads, or a link into a regular file).

Temporary files are named `.snnc-tmp-<pid>-<random>` beside the target. They are removed on
every failure, KeyboardInterrupt and SIGTERM included (the command line turns SIGTERM into an
exception, snnc/cli.py); a process killed outright (SIGKILL, power loss) leaves one behind, and
the next write into that directory removes those whose process no longer runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

from snnc.diagnostics import SnncError, input_error

TEMP_PREFIX = ".snnc-tmp-"
_TEMP = re.compile(r"\.snnc-tmp-(\d+)-[0-9a-f]{16}")


def write_atomically(path: str | os.PathLike[str], data: bytes, *, rule: str) -> Path:
    """Write `data` to `path`; refusals and OSErrors become SnncError `rule` (exit code 2)."""
    path = Path(path)
    check_replaceable(path, rule)
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        # O_EXCL: never write through a file someone else created; 0o666 lets the umask decide.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            check_replaceable(path, rule)  # again: the target may have changed while we wrote
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


def check_replaceable(path: Path, rule: str) -> None:
    """Refuse a target that exists and is not a regular file (symlinks are not followed)."""
    try:
        mode = path.lstat().st_mode
    except OSError:  # absent, or a parent that is no directory: writing reports it
        return
    if stat.S_ISREG(mode):
        return
    raise _not_a_file(path, _describe(mode), rule)


def check_directory(path: Path, rule: str) -> None:
    """Refuse an output directory path that exists as something other than a directory (a link
    to a directory is one: the user pointed there)."""
    if path.is_dir() or not (path.exists() or path.is_symlink()):
        return
    raise input_error(
        rule,
        f"cannot write into {str(path)!r}: it is {_describe(path.lstat().st_mode)}, not a directory",
        hint="give a directory (it is created if missing)",
    )


def _describe(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def _not_a_file(path: Path, what: str, rule: str) -> SnncError:
    return input_error(
        rule,
        f"refusing to replace {str(path)!r}: it is {what}, not a regular file",
        hint="write to a new path or to a regular file; snnc never writes through links, pipes or devices",
    )


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove this user's `.snnc-tmp-<pid>-*` regular files in `directory` whose process is gone."""
    removed = []
    own = os.getuid() if hasattr(os, "getuid") else None
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _TEMP.fullmatch(name)
        if match is None or _alive(int(match.group(1))):
            continue
        candidate = directory / name
        with contextlib.suppress(OSError):
            info = candidate.lstat()
            if stat.S_ISREG(info.st_mode) and own in (None, info.st_uid):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or a number no process can have: leave the file
    return True
