from bnopt.data import BINARY_MD5, download
from bnopt.logs import log_to

with log_to(snakemake.log[0]) as log:
    path = download(snakemake.params.url, snakemake.output[0], BINARY_MD5)
    log.info("downloaded %s (md5 %s)", path, BINARY_MD5)
