import json
from pathlib import Path

from bnopt.execution import execution
from bnopt.logs import log_to
from bnopt.training import train_run

with log_to(snakemake.log[0], snakemake.wildcards.run):
    outputs = {k: snakemake.output[k] for k in ("metrics", "probes", "meta", "weights")}
    # Threads are what Snakemake granted (e.g. fewer than train.threads under --cores 2).
    train_run(
        snakemake.input.data,
        outputs,
        dict(snakemake.params.settings),
        execution(snakemake.config, snakemake.threads),
        code_files=snakemake.input.code,
        data_info=json.loads(Path(snakemake.input.provenance).read_text()),
    )
