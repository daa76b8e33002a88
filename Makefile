# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv/ if missing.
VENV := .venv
BIN := $(abspath $(VENV))/bin
INSTALLED := $(VENV)/.installed
CORES ?= 2
export PATH := $(BIN):$(PATH)

.PHONY: demo test lint dry-run report benchmark clean

# pyproject.toml pins torch and torchvision exactly, so nnunetv2's chain cannot swap them.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	snakemake --cores $(CORES)

test: $(INSTALLED)
	pytest -v

lint: $(INSTALLED)
	snakemake --lint
	snakefmt --check .
	ruff check .
	ruff format --check .

dry-run: $(INSTALLED)
	snakemake -n

# HTML report of a finished run: tables and figures with captions (report/*.rst). Snakemake
# asks for a core count even though making the report runs no job.
report: $(INSTALLED)
	snakemake --cores 1 --report report.html

benchmark: $(INSTALLED)
	python benchmarks/scoring_speed.py

# The results folder config.yaml names (results_dir), not always ./results.
RESULTS_DIR = $(shell awk -F': *' '/^results_dir:/ {sub(/ *#.*/, "", $$2); gsub(/["\047]/, "", $$2); print $$2}' config.yaml)

clean:
	rm -rf "$(or $(RESULTS_DIR),results)" .snakemake
