from bnopt.logs import log_to
from bnopt.tables import FAMILIES, read_run, write_tables

with log_to(snakemake.log[0], f"tables/{snakemake.wildcards.experiment}"):
    i = snakemake.input
    runs = [read_run(*paths) for paths in zip(i.metrics, i.probes, i.meta, strict=True)]
    write_tables(runs, {family: snakemake.output[family] for family in FAMILIES})
