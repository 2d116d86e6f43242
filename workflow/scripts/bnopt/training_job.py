"""A training job: its runs trained in turn, in one process.

A job trains one image run, or (train.seeds_in_one_job) every seed of one image
configuration, or every run of one normalisation of the deep linear network
(bnopt.runs.train_job_runs, dln_job_runs). Each run keeps its own folder, identity and
finished store, so a run whose settings and code are unchanged is restored, not trained again,
whichever job it is in; and its own log: a job of one run logs into the job's log, a job of
several into one file per run (the same path as a job of one), the job's log naming each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from .execution import execution
from .logs import log_to
from .training import train_run

RUN_OUTPUTS = ("metrics", "probes", "meta", "weights")


def train_job(
    label: str,
    job_log: str,
    run_logs: Sequence[str],
    data_path: str | None,
    outputs: Mapping[str, Sequence[str]],
    settings: Sequence[dict],
    config: dict,
    threads: int,
    *,
    code: str,
    data_info: dict | None = None,
) -> None:
    """Train the job's runs (`settings`, in the order of each output list) in turn.

    `run_logs` is empty for a job of one run (it logs into `job_log`), else one per run;
    `threads` is what Snakemake granted the job (e.g. fewer than train.threads under
    --cores 2), `config` the workflow's (bnopt.execution reads its `train` section).
    """
    with log_to(job_log, label) as logger:
        for i, run in enumerate(settings):
            files = {key: outputs[key][i] for key in RUN_OUTPUTS}
            own_log = contextlib.nullcontext()
            if run_logs:
                logger.info("run %s: its log is %s", run["run"], run_logs[i])
                own_log = log_to(run_logs[i], run["run"])
            with own_log:
                train_run(
                    data_path,
                    files,
                    run,
                    execution(config, threads, run),
                    code=code,
                    data_info=data_info,
                )
