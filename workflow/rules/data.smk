localrules:
    download_cifar10,
    synthetic_data,
    prepare_data,


# Depends on the URL alone (the md5 is a constant), so no code edit downloads again: a
# `script:` would rerun whenever its file is newer than the archive (an edit, a pull, a copy).
rule download_cifar10:
    output:
        DOWNLOADED,
    log:
        "logs/data/download_cifar10.log",
    benchmark:
        "benchmarks/data/download_cifar10.tsv"
    # The data first, alone: an offline machine fails here in seconds, before any training.
    priority: 100
    threads: DATA_THREADS
    params:
        url=config["data"]["url"],
    run:
        download_archive(params.url, output[0], log[0])


rule synthetic_data:
    output:
        "resources/synthetic-cifar-10-binary.tar.gz",
    log:
        "logs/data/synthetic_data.log",
    benchmark:
        "benchmarks/data/synthetic_data.tsv"
    priority: 100
    conda:
        "../../environment.yml"
    params:
        **dict(sorted(config["data"]["synthetic"].items())),
        code=code_identity("synthetic.py"),
    script:
        "../scripts/synthetic.py"


rule prepare_data:
    input:
        archive=data_archive(),
    output:
        data=PREPARED,
        provenance=PROVENANCE,
    log:
        f"logs/data/prepare_{DATASET}.log",
    benchmark:
        f"benchmarks/data/prepare_{DATASET}.tsv"
    # Checks the archive (md5, members, records) before any training, alone as well.
    priority: 100
    conda:
        "../../environment.yml"
    threads: DATA_THREADS
    params:
        origin=data_origin(),
        url=config["data"]["url"] if data_origin() == "download" else None,
        # Sorted, so that the key order of the config file never reruns the job.
        synthetic=(
            dict(sorted(config["data"]["synthetic"].items()))
            if DATASET == "synthetic"
            else None
        ),
        code=code_identity("prepare.py"),
    script:
        "../scripts/prepare.py"
