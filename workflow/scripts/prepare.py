from bnopt.data import prepare
from bnopt.logs import log_to

with log_to(snakemake.log[0]) as log:
    summary = prepare(snakemake.input.archive, snakemake.output[0])
    log.info("prepared %s from %s: %s", snakemake.output[0], snakemake.input.archive, summary)
