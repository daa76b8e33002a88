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

# HTML report of a finished run: tables and figures with captions (report/*.rst).
report: $(INSTALLED)
	snakemake --report report.html

benchmark: $(INSTALLED)
	python benchmarks/scoring_speed.py

clean:
	rm -rf results .snakemake
