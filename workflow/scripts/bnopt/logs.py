"""Logging of a Snakemake job into its `log:` file."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time

from .errors import UserError

STARTUP = "process start-up before the job's work:"


def terminated(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def log_to(path, label: str):
    """Send log records (and a failure's traceback) to the job's log file and to stderr.

    Every line starts with `[label]` (the run or figure of the job), so that jobs running
    side by side can be told apart on the console. A UserError (bad data, device or disk)
    ends the job with its message alone: it names what is wrong, a traceback adds nothing.
    """
    handlers = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO,
        format=f"[{label}] %(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    logger = logging.getLogger("bnopt")
    # What the process spent before its work (Python, imports, Snakemake's preamble): the
    # fixed cost of a job, which python -m bnopt.timing sums over a DAG.
    logger.info("%s %.2f CPU-s", STARTUP, time.process_time())
    # SIGTERM (Snakemake stopping its jobs, a cluster's time limit) ends the job as an
    # exception does, so that clean-up runs: no temporary file is left behind.
    signal.signal(signal.SIGTERM, terminated)
    try:
        yield logger
    except UserError as error:
        logger.error("%s", error)
        raise SystemExit(1) from None
    except Exception:
        logger.exception("job failed")
        raise
    finally:
        for handler in handlers:
            handler.flush()
