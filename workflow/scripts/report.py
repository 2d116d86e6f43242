import json
from pathlib import Path

import pandas as pd

from bnopt.claims import evaluate_claims
from bnopt.dln_claims import dln_claims
from bnopt.figures import FIGURE
from bnopt.logs import log_to
from bnopt.report import build_report
from bnopt.tables import read_table

with log_to(snakemake.log[0], "report") as log:
    i = snakemake.input
    families = ("metrics", "ics", "landscape", "predictiveness", "beta")
    tables = {family: read_table(i[family]) for family in families}
    keys = snakemake.params.extra_tables
    tables |= {key: read_table(path) for key, path in zip(keys, i.extra_tables, strict=True)}
    dln_tables = {Path(p).stem: read_table(p) for p in i.dln_tables}
    runs = [json.loads(Path(path).read_text()) for path in i.meta]
    dln_runs = [json.loads(Path(path).read_text()) for path in i.dln_meta]
    figures = [
        {"name": Path(p).stem, "png": p, "caption": FIGURE[Path(p).stem].caption()}
        for p in i.figures
    ]
    claims = pd.concat(
        [evaluate_claims(tables), pd.DataFrame(dln_claims(dln_tables))], ignore_index=True
    )
    build_report(snakemake.params.config, runs, figures, claims, snakemake.output[0], dln_runs)
    log.info("report written to %s", Path(snakemake.output[0]).resolve())
