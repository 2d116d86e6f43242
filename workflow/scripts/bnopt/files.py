"""Writing output files: atomically, with errors that name the path, no temporary files left."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import UserError


class OutputError(UserError):
    """An output file could not be written."""


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it onto `path` once the block succeeds.

    On failure the temporary file is removed and the error names `path`, so that a full disk
    or a read-only folder says which file it was about (torch.save alone says "open file
    failed" and nothing more).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:
        if isinstance(error, RuntimeError) and not is_write_error(error):
            raise
        raise OutputError(f"cannot write {path}: {type(error).__name__}: {error}") from error
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
