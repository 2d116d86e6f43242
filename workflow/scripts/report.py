import json
from pathlib import Path

from bnopt.claims import read_claims
from bnopt.figures import FIGURE
from bnopt.finished import verify
from bnopt.logs import log_to
from bnopt.report import build_report

with log_to(snakemake.log[0], "report") as log:
    i = snakemake.input
    for path in i.meta:
        verify({"meta": path})  # as its run wrote it
    metas = [json.loads(Path(path).read_text()) for path in i.meta]
    runs = [meta for meta in metas if meta.get("model") != "dln"]
    dln_runs = [meta for meta in metas if meta.get("model") == "dln"]
    # A figure's name is its target: fig5_loss_landscape, or <experiment>/fig5_loss_landscape.
    names = [Path(p).relative_to("results/figures").with_suffix("").as_posix() for p in i.figures]
    figures = [
        {"name": name, "png": p, "caption": FIGURE[Path(p).stem].caption()}
        for name, p in zip(names, i.figures, strict=True)
    ]
    claims = read_claims(i.claims)
    build_report(snakemake.params.config, runs, figures, claims, snakemake.output[0], dln_runs)
    log.info("report written to %s", Path(snakemake.output[0]).resolve())
