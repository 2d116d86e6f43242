rule train:
    input:
        unpack(train_inputs),
    output:
        metrics="results/runs/{run}/metrics.tsv",
        probes="results/runs/{run}/probes.tsv",
        meta="results/runs/{run}/meta.json",
        weights="results/runs/{run}/model.pt",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    # Training first: with 2 cores, a figure job started before the last runs leaves one
    # core idle at the end (measured on the demo: 10 s of its 2 min).
    priority: 1
    conda:
        "../../environment.yml"
    threads: train_threads
    resources:
        gpu=train_gpu_tokens,
        runtime=lambda wildcards: runtime_minutes(config, wildcards.run),
        mem_mb=lambda wildcards: 2000 if is_dln(wildcards.run) else 16000,
    params:
        settings=lambda wildcards: run_settings(config, wildcards.run),
        code=train_code,
    script:
        "../scripts/train.py"
