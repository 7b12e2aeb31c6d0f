# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out/demo
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: all venv test test-fast lint demo bench clean

all: test

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt requirements-envs.txt setup.py scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q -r requirements-envs.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q test

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" test

lint: $(STAMP)
	$(PY) -m pytest -q test/test_flake8.py test/test_pep257.py test/test_copyright.py

demo: $(STAMP)
	$(VENV)/bin/jepa-ros demo --out $(OUT)

clean:
	rm -rf $(VENV) build *.egg-info out .pytest_cache
