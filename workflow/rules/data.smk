localrules:
    download_cifar10,
    synthetic_data,
    prepare_data,


rule download_cifar10:
    input:
        code=package("data.py"),
    output:
        "resources/cifar-10-binary.tar.gz",
    log:
        "logs/data/download_cifar10.log",
    conda:
        "../../environment.yml"
    params:
        url=config["data"]["url"],
    script:
        "../scripts/download.py"


rule synthetic_data:
    input:
        code=package("data.py"),
    output:
        "resources/synthetic-cifar-10-binary.tar.gz",
    log:
        "logs/data/synthetic_data.log",
    conda:
        "../../environment.yml"
    params:
        **dict(sorted(config["data"]["synthetic"].items())),
    script:
        "../scripts/synthetic.py"


rule prepare_data:
    input:
        archive=data_archive(),
        code=package("data.py"),
    output:
        PREPARED,
    log:
        f"logs/data/prepare_{DATASET}.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/prepare.py"
