from bnopt.claims import evaluate_claims, write_claims
from bnopt.logs import log_to
from bnopt.tables import read_table

with log_to(snakemake.log[0], "claims") as log:
    keys = snakemake.params.tables
    tables = {key: read_table(path) for key, path in zip(keys, snakemake.input.tables, strict=True)}
    claims = evaluate_claims(tables, snakemake.params.kinds)
    write_claims(claims, snakemake.output[0])
    log.info("%d claims judged in %d parts", claims["claim"].nunique(), len(claims))
