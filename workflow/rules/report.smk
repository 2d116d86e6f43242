localrules:
    report,


rule report:
    input:
        figures=expand("results/figures/{figure}.png", figure=FIGURES),
        captions=sorted(
            {os.path.relpath(spec.caption_path) for spec, _ in FIGURES.values()}
        ),
        claim_tables=expand("results/tables/{table}.tsv", table=CLAIM_TABLES),
        meta=run_outputs("meta.json", all_runs(config)),
        code=package("figures.py", "tables.py", "report.py", *CLAIM_MODULES),
    output:
        "results/report.html",
    log:
        "logs/report.log",
    conda:
        "../../environment.yml"
    params:
        config=config,
        claim_tables=CLAIM_TABLES,
        kinds=KINDS,
    script:
        "../scripts/report.py"
