"""Writing output files: atomically, with errors that name the path, no temporary files left."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .errors import UserError


class OutputError(UserError):
    """An output file could not be written."""


# Below this much free space, a failed write is reported as a full disk.
LOW_SPACE_BYTES = 64 << 20


def temporary_name(path: Path, kind: str = "tmp") -> Path:
    """This process's temporary file for `path`: .<name>.<kind>-<pid>, beside it."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def remove_stale_temporaries(path: Path, kind: str = "tmp") -> None:
    """Remove the temporary files for `path` that a process which is gone left behind (a job
    killed with SIGKILL runs no clean-up; its next run does it here)."""
    for stale in path.parent.glob(f".{path.name}.{kind}-*"):
        pid = stale.name.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            with contextlib.suppress(OSError):
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale)
                else:
                    stale.unlink()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def full_disk_note(folder: Path, error: BaseException) -> str:
    """', no space left on the device ...' when the write failed for want of space (torch and
    other writers do not always say so)."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    no_space = getattr(error, "errno", None) == errno.ENOSPC
    if no_space or (free is not None and free < LOW_SPACE_BYTES):
        shown = f"{free / 2**20:.1f} MiB free" if free is not None else "the free space unknown"
        return f" (no space left on the device: {shown} in {folder}; free some space and rerun)"
    return ""


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it onto `path` once the block succeeds.

    On failure the temporary file is removed and the error names `path`, so that a full disk
    or a read-only folder says which file it was about (torch.save alone says "open file
    failed" and nothing more). Temporary files of earlier, killed attempts are removed first.
    """
    path = Path(path)
    tmp = temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:
        if isinstance(error, RuntimeError) and not is_write_error(error):
            raise
        note = full_disk_note(path.parent, error)
        raise OutputError(f"cannot write {path}: {type(error).__name__}: {error}{note}") from error
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def is_write_error(error: RuntimeError) -> bool:
    """torch.save reports a failed write as a RuntimeError from its zip writer."""
    text = str(error)
    return "inline_container" in text or "file" in text.lower()


def write_text(path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def file_digest(path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's contents, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
