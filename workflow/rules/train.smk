rule train:
    input:
        data=PREPARED,
        provenance=PROVENANCE,
        code=package(
            "data.py",
            "errors.py",
            "execution.py",
            "files.py",
            "finished.py",
            "models.py",
            "probes.py",
            "training.py",
        ),
    output:
        metrics="results/runs/{run}/metrics.tsv",
        probes="results/runs/{run}/probes.tsv",
        meta="results/runs/{run}/meta.json",
        weights="results/runs/{run}/model.pt",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    conda:
        "../../environment.yml"
    threads: config["train"]["threads"]
    resources:
        gpu=GPU_TOKENS,
        runtime=train_runtime_minutes,
        mem_mb=8000,
    params:
        settings=lambda wildcards: run_settings(config, wildcards.run),
    script:
        "../scripts/train.py"
