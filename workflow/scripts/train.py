from bnopt.logs import log_to
from bnopt.training import train_run

with log_to(snakemake.log[0]):
    outputs = {k: snakemake.output[k] for k in ("metrics", "probes", "meta", "weights")}
    train_run(snakemake.input.data, outputs, dict(snakemake.params.settings))
