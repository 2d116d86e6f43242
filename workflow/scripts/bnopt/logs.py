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


_open_logs = 0  # log_to blocks open in this process: start-up is logged by the outermost


@contextlib.contextmanager
def log_to(path, label: str):
    """Send log records (and a failure's traceback) to the job's log file and to stderr.

    Every line starts with `[label]` (the run or figure of the job), so that jobs running
    side by side can be told apart on the console. A UserError (bad data, device or disk)
    ends the job with its message alone: it names what is wrong, a traceback adds nothing.
    Blocks nest (a job of several runs logs each into its own file): an inner block's
    records go to its file alone, and the outer file takes records again when it ends.
    """
    global _open_logs
    root = logging.getLogger()
    previous = root.handlers[:], root.level
    formatter = logging.Formatter(f"[{label}] %(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    for handler in handlers:
        handler.setFormatter(formatter)
    root.handlers = handlers
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logger = logging.getLogger("bnopt")
    if not _open_logs:
        # What the process spent before its work (Python, imports, Snakemake's preamble):
        # the fixed cost of a job, which python -m bnopt.timing sums over a DAG.
        logger.info("%s %.2f CPU-s", STARTUP, time.process_time())
        # SIGTERM (Snakemake stopping its jobs, a cluster's time limit) ends the job as an
        # exception does, so that clean-up runs: no temporary file is left behind.
        signal.signal(signal.SIGTERM, terminated)
    _open_logs += 1
    try:
        yield logger
    except UserError as error:
        logger.error("%s", error)
        raise SystemExit(1) from None
    except Exception:
        logger.exception("job failed")
        raise
    finally:
        _open_logs -= 1
        for handler in handlers:
            handler.flush()
        handlers[0].close()
        root.handlers[:] = previous[0]
        root.setLevel(previous[1])
