"""Logging of a Snakemake job into its `log:` file."""

from __future__ import annotations

import contextlib
import logging
import sys


@contextlib.contextmanager
def log_to(path):
    """Send log records (and a failure's traceback) to the job's log file and to stderr."""
    handlers = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    try:
        yield logging.getLogger("bnopt")
    except Exception:
        logging.getLogger("bnopt").exception("job failed")
        raise
    finally:
        for handler in handlers:
            handler.flush()
