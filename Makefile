# The cookbook's tasks. Every target that needs Python sets up the environments first (idempotent, fast when done).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
NB ?= 01
P ?=
NOTEBOOKS := $(sort $(wildcard Part_*/*.ipynb)) $(sort $(wildcard Appendix/*.ipynb))
NB_TIMEOUT ?= 900

.PHONY: help setup setup-needed run test unit notebooks gpu-suite lint smoke-world frame clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create every environment (.venv, .venvs/*) from nothing; idempotent
	python3 scripts/setup_envs.py

setup-needed:
	python3 scripts/setup_envs.py --needed

run: setup-needed  ## run one notebook, e.g. `make run NB=01 P="DATASET=my.jsonl MAX_STEPS=60"`; executed copy in outputs/<mode>/<notebook>/
	$(PY) scripts/run_notebook.py $(NB) $(P)

test: setup-needed  ## all tests: unit + hygiene + every notebook in smoke mode (what CI runs)
	COOKBOOK_MODE=smoke $(PY) -m pytest tests --nbmake $(NOTEBOOKS) --nbmake-timeout=$(NB_TIMEOUT) --durations=0

unit: setup-needed  ## unit and hygiene tests only (no notebooks)
	$(PY) -m pytest tests

notebooks: setup-needed  ## every notebook in smoke mode
	COOKBOOK_MODE=smoke $(PY) -m pytest --nbmake $(NOTEBOOKS) --nbmake-timeout=$(NB_TIMEOUT) --durations=0

gpu-suite:  ## on a CUDA machine: every notebook in smoke mode on the GPU, as scripts (see tests/gpu/README.md)
	COOKBOOK_MODE=smoke bash tests/gpu/run_suite.sh

lint: setup-needed  ## ruff over the helper, scripts and tests
	$(PY) -m ruff check scripts tests

frame:  ## rewrite every notebook's frame (badge, install cell, kernel, parameters tag) from notebooks.toml
	python3 scripts/frame.py

smoke-world:  ## regenerate data/ (deterministic)
	$(PY) scripts/make_smoke_world.py

clean:  ## remove outputs (environments and the tiny-model cache stay)
	rm -rf outputs
