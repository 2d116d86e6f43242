from bnopt.data import prepare
from bnopt.logs import log_to

with log_to(snakemake.log[0], "prepare data") as log:
    p, i, o = snakemake.params, snakemake.input, snakemake.output
    summary = prepare(i.archive, o.data, o.provenance, p.origin, p.url, p.synthetic)
    log.info("prepared %s from %s: %s", o.data, i.archive, summary)
