DLN_RUNS = dln_runs(config)


localrules:
    dln_tables,


rule dln_train:
    input:
        code=package(
            "dln.py",
            "errors.py",
            "execution.py",
            "files.py",
            "finished.py",
            "models.py",
            "probes.py",
            "training.py",
        ),
    output:
        metrics="results/dln/runs/{run}/metrics.tsv",
        probes="results/dln/runs/{run}/probes.tsv",
        meta="results/dln/runs/{run}/meta.json",
    log:
        "logs/dln/{run}.log",
    benchmark:
        "benchmarks/dln/{run}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        runtime=lambda wildcards: dln_runtime_minutes(config),
        mem_mb=2000,
    params:
        settings=lambda wildcards: dln_settings(config, wildcards.run),
    script:
        "../scripts/dln.py"


rule dln_tables:
    input:
        metrics=expand("results/dln/runs/{run}/metrics.tsv", run=DLN_RUNS),
        probes=expand("results/dln/runs/{run}/probes.tsv", run=DLN_RUNS),
        meta=expand("results/dln/runs/{run}/meta.json", run=DLN_RUNS),
        code=package("tables.py"),
    output:
        metrics="results/tables/dln/metrics.tsv",
        ics="results/tables/dln/ics.tsv",
        landscape="results/tables/dln/landscape.tsv",
        predictiveness="results/tables/dln/predictiveness.tsv",
        beta="results/tables/dln/beta.tsv",
    log:
        "logs/tables/dln.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/dln_tables.py"
