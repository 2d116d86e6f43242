# An image network's run, or every seed of one configuration in turn (train.seeds_in_one_job).
rule train:
    input:
        data=PREPARED,
        provenance=PROVENANCE,
    output:
        metrics=job_files(TRAIN_JOB_RUNS, "metrics.tsv"),
        probes=job_files(TRAIN_JOB_RUNS, "probes.tsv"),
        meta=job_files(TRAIN_JOB_RUNS, "meta.json"),
        weights=job_files(TRAIN_JOB_RUNS, "model.pt"),
    log:
        **train_job_logs(),
    benchmark:
        "benchmarks/train/{job}.tsv"
    wildcard_constraints:
        job=TRAIN_JOB_PATTERN,
    # Training first: with 2 cores, a figure job started before the last runs leaves one
    # core idle at the end (measured on the demo: 10 s of its 2 min).
    priority: 1
    conda:
        "../../environment.yml"
    threads: config["train"]["threads"]
    resources:
        gpu=train_gpu_tokens,
        runtime=runtime_minutes(config),
        mem_mb=16000,
    params:
        settings=job_settings(TRAIN_JOB_RUNS),
        code=train_code,
    script:
        "../scripts/train.py"


# The deep linear network's runs of one normalisation (of every experiment with model: dln),
# in turn, in one process: each takes about what a process spends importing torch. It makes its
# own data, trains on the CPU on one thread (its tiny matrices run fastest there) and takes no
# GPU. A run whose settings and code are unchanged is restored from its finished store, so a
# change to one run retrains that run.
rule train_dln:
    output:
        metrics=job_files(DLN_JOB_RUNS, "metrics.tsv"),
        probes=job_files(DLN_JOB_RUNS, "probes.tsv"),
        meta=job_files(DLN_JOB_RUNS, "meta.json"),
        weights=job_files(DLN_JOB_RUNS, "model.pt"),
    log:
        job="logs/train/dln_{normalization}.log",
        runs=job_logs(DLN_JOB_RUNS),
    benchmark:
        "benchmarks/train/dln_{normalization}.tsv"
    wildcard_constraints:
        normalization="|".join(NORMALIZATION_NAMES),
    priority: 1
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=0,
        runtime=dln_runtime_minutes(config),
        mem_mb=2000,
    params:
        settings=job_settings(DLN_JOB_RUNS),
        code=code_identity("train_dln.py", "bnopt/dln.py"),
    script:
        "../scripts/train_dln.py"
