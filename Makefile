# One command to set up and run, one to test. Everything runs from .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TABLE  ?=

.PHONY: install pin-trajectories reproduce-table surrogates tables tree-fusion-tables mro-tables rmnas-tables hfmnas-tables tables-verify test test-isa test-all bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Regenerate paper tables: all, or one with TABLE=<id> (ids: `mmnas-bench tables list`).
reproduce-table: $(STAMP)
	$(BIN)/mmnas-bench tables build all --if-missing
	$(BIN)/mmnas-bench tables reproduce $(TABLE)
	$(BIN)/mmnas-bench tables status

## Rebuild every score table and feature store from ../shared/data (or MMNAS_SHARED_DATA); update the MANIFESTs.
tables: $(STAMP)
	$(BIN)/mmnas-bench tables build all
	$(BIN)/mmnas-bench features build all
	$(BIN)/mmnas-bench sequence build all
	$(BIN)/mmnas-bench tables verify
	$(BIN)/mmnas-bench features verify
	$(BIN)/mmnas-bench sequence verify

## Trained tree-fusion tables (real training, minutes each on 2 cores; resumable).
tree-fusion-tables: $(STAMP)
	$(BIN)/mmnas-bench tables build tree-fusion-landuse21 tree-fusion-scene15 tree-fusion-aloi \
		tree-fusion-aloi-lowdata tree-fusion-mfeat tree-fusion-mfeat-lowdata
	$(BIN)/mmnas-bench tables verify

## Full-space surrogates: refit each from its shipped table (a refit that differs is refused), then
## recompute their reports and the paper claims, and the README blocks made from them.
surrogates: $(STAMP)
	$(BIN)/mmnas-bench surrogate build
	$(BIN)/mmnas-bench surrogate report --write --no-progress
	$(BIN)/mmnas-bench surrogate claims --write --no-progress
	$(BIN)/python -m bench.core.surrogate_readme

## Trained MRO tables (real training; resumable). The shipped ones first, then the rest.
mro-tables: $(STAMP)
	$(BIN)/mmnas-bench tables build mro-pom mro-mosi mro-syn3-p2 mro-syn3-p4 mro-syn3-none mro-syn3-p2-planted mro-syn4-p3-planted mro-syn4-p3
	$(BIN)/mmnas-bench tables verify

## Trained RMNAS tables (the tied slice x 3 seeds, each scored at 11 missing rates; resumable)
rmnas-tables: $(STAMP)
	$(BIN)/mmnas-bench tables build rmnas-pom rmnas-mosi rmnas-mosi@r0.5
	$(BIN)/mmnas-bench tables verify

## Trained HF-MNAS tables (the 465-architecture core slice x 3 seeds; resumable)
hfmnas-tables: $(STAMP)
	$(BIN)/mmnas-bench tables build hfmnas-landuse21 hfmnas-pom-ml17
	$(BIN)/mmnas-bench tables verify

tables-verify: $(STAMP)
	$(BIN)/mmnas-bench tables verify
	$(BIN)/mmnas-bench features verify
	$(BIN)/mmnas-bench sequence verify

## Default test run (< 10 minutes, no slow suites).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## Table hits equal fresh training whatever kernel ISA the shell asks torch for (the pin in
## bench/numerics.py decides): left to torch, AVX2, and AVX-512 where the CPU has it.
test-isa: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_tree_fusion_tables.py tests/test_numerics.py -k "table_hit or pin"
	ATEN_CPU_CAPABILITY=avx2 $(BIN)/python -m pytest -q tests/test_tree_fusion_tables.py tests/test_rmnas.py tests/test_hfmnas.py tests/test_hfmnas_multilabel.py -k table_hit
	if grep -qw avx512f /proc/cpuinfo; then ATEN_CPU_CAPABILITY=avx512 $(BIN)/python -m pytest -q tests/test_tree_fusion_tables.py tests/test_rmnas.py tests/test_hfmnas.py tests/test_hfmnas_multilabel.py -k table_hit; fi

## Every suite, slow ones included (installs the extras their tests need: Ray, Optuna, ConfigSpace).
test-all: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,ray,optuna,configspace]"
	$(BIN)/python -m pytest -v -m "" --durations=20   # -v: each test is named as it finishes (some take many minutes)

## Re-pin the search trajectories tests/test_trajectory_pins.py checks (after an intended behaviour change).
pin-trajectories: $(STAMP)
	$(BIN)/python -m bench.trajectory_pins --write

## Speed benchmarks (pytest-benchmark), each beside its plain-numpy floor; the numerics pin's cost;
## batched training against one-by-one for the families with stacked seeds.
bench: $(STAMP)
	$(BIN)/python -m pytest -q -s -o addopts="" benchmarks --benchmark-only --benchmark-columns=min,median,mean,max,rounds --benchmark-group-by=group
	$(BIN)/python benchmarks/numerics_pin.py
	$(BIN)/python benchmarks/batched_training.py hfmnas --batch 3 32
	$(BIN)/python benchmarks/batched_training.py rmnas --epochs 3 --batch 3 16 --profile
	$(BIN)/python benchmarks/batched_training.py mro --epochs 5 --batch 3 16 --profile
