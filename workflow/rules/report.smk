localrules:
    report,


rule report:
    input:
        figures=expand("results/figures/{figure}.png", figure=FIGURE),
        captions=[os.path.relpath(spec.caption_path) for spec in FIGURE.values()],
        metrics="results/tables/training/metrics.tsv",
        ics="results/tables/ics/ics.tsv",
        landscape="results/tables/landscape/landscape.tsv",
        predictiveness="results/tables/landscape/predictiveness.tsv",
        beta="results/tables/landscape/beta.tsv",
        extra_tables=expand("results/tables/{table}.tsv", table=EXTRA_CLAIM_TABLES),
        dln_tables=expand("results/tables/dln/{family}.tsv", family=["ics", "beta"]),
        meta=run_outputs("meta.json", all_runs(config)),
        dln_meta=expand("results/dln/runs/{run}/meta.json", run=dln_runs(config)),
        code=package(
            "figures.py", "tables.py", "claims.py", "report.py", "dln_claims.py"
        ),
    output:
        "results/report.html",
    log:
        "logs/report.log",
    conda:
        "../../environment.yml"
    params:
        config=config,
        extra_tables=EXTRA_CLAIM_TABLES,
    script:
        "../scripts/report.py"
