localrules:
    report,


rule report:
    input:
        figures=expand("results/figures/{figure}.png", figure=FIGURES),
        metrics="results/tables/training/metrics.tsv",
        ics="results/tables/ics/ics.tsv",
        landscape="results/tables/landscape/landscape.tsv",
        predictiveness="results/tables/landscape/predictiveness.tsv",
        beta="results/tables/landscape/beta.tsv",
        meta=run_outputs("meta.json", all_runs(config)),
        code=package("tables.py", "claims.py", "report.py"),
    output:
        "results/report.html",
    log:
        "logs/report.log",
    conda:
        "../../environment.yml"
    params:
        config=config,
    script:
        "../scripts/report.py"
