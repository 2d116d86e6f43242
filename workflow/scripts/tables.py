from bnopt.finished import verify
from bnopt.logs import log_to
from bnopt.tables import FAMILIES, read_run, write_tables

with log_to(snakemake.log[0], f"tables/{snakemake.wildcards.experiment}"):
    i = snakemake.input
    runs = []
    for metrics, probes, meta in zip(i.metrics, i.probes, i.meta, strict=True):
        verify({"metrics": metrics, "probes": probes, "meta": meta})  # as its run wrote them
        runs.append(read_run(metrics, probes, meta))
    write_tables(runs, {family: snakemake.output[family] for family in FAMILIES})
