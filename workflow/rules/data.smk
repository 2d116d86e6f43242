localrules:
    download_cifar10,
    synthetic_data,
    prepare_data,


rule download_cifar10:
    output:
        "resources/cifar-10-binary.tar.gz",
    input:
        code=package("data.py"),
    params:
        url=config["data"]["url"],
    log:
        "logs/data/download_cifar10.log",
    script:
        "../scripts/download.py"


rule synthetic_data:
    output:
        "resources/synthetic-cifar-10-binary.tar.gz",
    input:
        code=package("data.py"),
    params:
        **config["data"]["synthetic"],
    log:
        "logs/data/synthetic_data.log",
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
    script:
        "../scripts/prepare.py"
