# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv/ if missing.
VENV := .venv
BIN := $(abspath $(VENV))/bin
INSTALLED := $(VENV)/.installed
CORES ?= 2
export PATH := $(BIN):$(PATH)

.PHONY: demo test lint dry-run report benchmark claim claim-page clean

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

# The results folder a config file names (results_dir), not always ./results.
results_dir = $(shell awk -F': *' '/^results_dir:/ {sub(/ *#.*/, "", $$2); gsub(/["\047]/, "", $$2); print $$2}' $(1))
RESULTS_DIR = $(call results_dir,config.yaml)
CLAIM_PAGE = python -m xtinyunet.reporting.claim_document docs/claim/data docs/claim.md
CLAIM_DIR = $(or $(call results_dir,claim.yaml),$(RESULTS_DIR),results)

# The claim benchmark (claim.yaml on top of config.yaml): its tables published into docs/claim/data/,
# the page and figures made from them.
claim: $(INSTALLED)
	snakemake --cores $(CORES) claim --configfile claim.yaml
	mkdir -p docs/claim/data && cp "$(CLAIM_DIR)"/claim/data/* docs/claim/data/
	$(CLAIM_PAGE)

# docs/claim.md and its figures again from the committed tables, without training anything.
claim-page: $(INSTALLED)
	$(CLAIM_PAGE)

clean:
	rm -rf "$(or $(RESULTS_DIR),results)" .snakemake
