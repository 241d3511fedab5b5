# The two set-up commands of README.md: `make demo` and `make test`.
# Each creates .venv (PyTorch 2.13.0 CPU wheel + trialwise + test tools) on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trialwise demo

# -n auto: one worker per core (pytest-xdist); --dist loadfile keeps a file's tests, and the
# session fixtures they share (a digits store, a browser, a PostgreSQL server), on one worker
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -n auto --dist loadfile

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done
