import json
from pathlib import Path

from bnopt.execution import execution
from bnopt.logs import log_to
from bnopt.training import train_run

with log_to(snakemake.log[0], snakemake.wildcards.run):
    settings = dict(snakemake.params.settings)
    outputs = {k: snakemake.output[k] for k in ("metrics", "probes", "meta", "weights")}
    provenance = getattr(snakemake.input, "provenance", None)  # none for the DLN
    # Threads are what Snakemake granted (e.g. fewer than train.threads under --cores 2).
    train_run(
        getattr(snakemake.input, "data", None),
        outputs,
        settings,
        execution(snakemake.config, snakemake.threads, settings),
        code=snakemake.params.code,
        data_info=json.loads(Path(provenance).read_text()) if provenance else None,
    )
