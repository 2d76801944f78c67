"""Atomic file output: write to a temporary name in the target folder, then rename.

A crash or an exception never leaves a half-written file under the final name. New files
get the permissions the user's umask allows (0644 under umask 022, as any program's
output), an overwritten file keeps its mode; with ``durable=True`` the file and its
folder are flushed to disk (``fsync``) before the call returns, so that the file survives
a power loss once it is visible. A path that cannot be written (a folder where a file is
expected, a file where a folder is expected, no permission, a read-only or virtual file
system) raises :class:`~osteoimaging.errors.InputError` naming it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from osteoimaging.errors import InputError

#: Virtual file systems nothing is ever written to.
_VIRTUAL_ROOTS = ("/proc", "/sys")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_path(path: str | Path, *, folder: bool = False) -> Path:
    """Fail early (before any computation) when ``path`` cannot become an output.

    A file output must not be an existing folder; a folder output must not be an existing
    file; every existing ancestor must be a folder, and the nearest one writable.
    """
    path = Path(path)
    absolute = Path(os.path.abspath(path))
    if any(absolute == Path(root) or Path(root) in absolute.parents for root in _VIRTUAL_ROOTS):
        raise InputError("cannot write into a virtual file system (/proc, /sys)", path)
    if path.exists():
        if folder and not path.is_dir():
            raise InputError("exists and is a file; an output folder is expected", path)
        if not folder and path.is_dir():
            raise InputError("is a folder; an output file name is expected", path)
    ancestor = absolute if folder and path.is_dir() else absolute.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{ancestor} is a file, not a folder", path)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"no permission to write in {ancestor}", path)
    return path


def make_dirs(folder: str | Path, *, for_path: str | Path | None = None) -> Path:
    """``mkdir -p`` (permissions from the umask); InputError naming the path on failure."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = f"cannot create the folder {folder} ({_reason(exc)})"
        if isinstance(exc, FileExistsError | NotADirectoryError):
            what = f"cannot create the folder {folder}: a file is in the way"
        raise InputError(what, for_path or folder) from exc
    return folder


def _create_temp(folder: Path, prefix: str, suffix: str, for_path: Path) -> Path:
    """A new empty file with a unique name, created with mode 0666 & ~umask."""
    for _ in range(100):
        tmp = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot write here ({_reason(exc)})", for_path) from exc
        os.close(fd)
        return tmp
    raise InputError("cannot create a temporary file next to it", for_path)


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A new empty folder with a unique name in ``parent`` (mode 0777 & ~umask)."""
    parent = Path(parent)
    for _ in range(100):
        tmp = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot create a folder here ({_reason(exc)})", parent) from exc
        return tmp
    raise InputError("cannot create a temporary folder", parent)


def fsync_file(path: str | Path) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (names created or renamed in it) to disk; no-op on Windows."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def fsync_tree(folder: str | Path) -> None:
    """Flush every file and folder under ``folder`` (and ``folder`` itself) to disk."""
    folder = Path(folder)
    for root, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(root)


@contextlib.contextmanager
def atomic_path(
    path: str | Path, suffix: str | None = None, *, durable: bool = False
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    ``suffix`` keeps the extension that writers use to pick a format (default: the
    full suffix of ``path``, e.g. ``.nii.gz``). The file gets the mode an existing
    ``path`` has, else 0666 & ~umask. ``durable`` flushes file and folder to disk.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; an output file name is expected", path)
    make_dirs(path.parent, for_path=path)
    if suffix is None:
        suffix = "".join(path.suffixes)
    tmp_path = _create_temp(path.parent, f".{path.name}.", f".part{suffix}", path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = stat.S_IMODE(tmp_path.stat().st_mode)  # what the umask allowed
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)  # the writer may have recreated the file
        if durable:
            fsync_file(tmp_path)
        try:
            os.replace(tmp_path, path)
        except OSError as exc:
            raise InputError(f"cannot write here ({_reason(exc)})", path) from exc
        if durable:
            fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    """Atomically write a text file (UTF-8)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, durable: bool = False) -> Path:
    """Atomically write a binary file."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | Path, obj: Any, *, durable: bool = False) -> Path:
    """Atomically write JSON (indented, NaN written as null)."""
    text = json.dumps(_nan_to_none(obj), indent=2, sort_keys=False) + "\n"
    return write_text(path, text, durable=durable)


def _nan_to_none(obj: Any) -> Any:
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _nan_to_none(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
