import json
from pathlib import Path

from bnopt.training_job import train_job

# One image run, or every seed of one configuration in turn (train.seeds_in_one_job).
provenance = Path(snakemake.input.provenance)
train_job(
    snakemake.wildcards.job,
    snakemake.log.job,
    snakemake.log.get("runs", []),
    snakemake.input.data,
    snakemake.output,
    snakemake.params.settings,
    snakemake.config,
    snakemake.threads,
    code=snakemake.params.code,
    data_info=json.loads(provenance.read_text()),
)
