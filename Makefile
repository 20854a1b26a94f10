# The two set-up commands (README): `make demo` and `make test`.
# Each creates .venv/ if missing and installs mvkit with its notebook and dev extras.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mvkit-installed
# torch/torchvision are pinned to the builds this kind of machine has on local disk;
# on another machine set TORCH_PINS="" (or your CUDA build) before `make`.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: demo test install bench clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if [ -n "$(TORCH_PINS)" ]; then $(PY) -m pip install $(TORCH_PINS); fi
	$(PY) -m pip install -e ".[notebooks,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mvkit demo

# Tests and notebooks build their smoke world and features from scratch in a repo-local
# home (not ~/.cache/mvkit), so a fresh clone proves the whole path; reruns reuse it.
TEST_HOME ?= $(CURDIR)/.cache/mvkit-test

test: $(STAMP)
	$(VENV)/bin/ruff check mvkit tests tools
	MVKIT_HOME=$(TEST_HOME) MVKIT_SMOKE=1 $(PY) -m pytest tests $(if $(wildcard notebooks/*.ipynb),--nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg notebooks)

bench: $(STAMP)
	$(PY) -m mvkit bench all

clean-venv:
	rm -rf $(VENV)
