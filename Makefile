# One-command setup: every target creates .venv from requirements-dev.txt when it is missing
# (requirements.txt, with the workflow's own package bnopt installed editable by its `-e .`
# line, and the development tools).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | md5sum | cut -c1-12)

.PHONY: venv test demo run lint bench wheels test-device test-cluster test-browser clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# One pytest worker per core; the slow end-to-end tests start first (tests/conftest.py).
test: venv
	$(BIN)/pytest -n $(CORES) --dist worksteal

demo: venv
	$(BIN)/snakemake --cores $(CORES) --configfile config/demo.yaml
	@echo "Report: $(CURDIR)/results/report.html"

run: venv
	$(BIN)/snakemake --cores 4 --resources gpu=1

lint: venv
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	$(BIN)/python -m bnopt.bench

# Snakemake and its needs as wheels for the GPU machine's Python 3.12 (tests/device/wheels.py).
wheels: venv
	$(BIN)/python tests/device/wheels.py --python-version 3.12 .whl

# The GPU measurement script rehearsed on the CPU, Snakemake installed from wheels.
test-device: venv
	$(BIN)/pytest -m device tests/device

test-cluster: venv
	bash tests/cluster/run_cluster_test.sh

# The report in headless Chromium (Debian's package, installed here when missing).
test-browser: venv
	bash tests/browser/install_chromium.sh
	$(BIN)/pytest tests/browser

clean:
	rm -rf results resources logs benchmarks .snakemake
