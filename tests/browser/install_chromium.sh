#!/usr/bin/env bash
# Installs Debian's chromium for the browser test, as tests/cluster/slurm_up.sh installs
# SLURM: only when it is missing, as root, `apt-get update` only when the lists lack it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "install_chromium: must run as root to install chromium" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
