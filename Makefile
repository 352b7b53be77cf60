# The two entry points are `make book` and `make test`; everything else is a step they share.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kanmix-installed
PROFILE ?= cpu
NB ?=
PARAMS ?=
# Unit tests and executed test notebooks write their records here, never into the committed results/.
# Tests run the KAN kernels eagerly (KANMIX_COMPILE=0): for tiny layers compile time would dominate;
# test_kan checks that the compiled kernels agree with the eager ones.
TEST_RESULTS := build/test-results

.PHONY: venv data test book notebook bench clean

# Re-install only when the pins or the package metadata change; the stamp makes reruns instant.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt -e ".[book,dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

venv: $(STAMP)

data: venv
	$(PY) -m kanmix data fetch

test: venv data
	rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	$(PY) -m kanmix.book convert --out build/nbmake
	KANMIX_COMPILE=0 KANMIX_DATA=$(CURDIR)/data KANMIX_RESULTS=$(CURDIR)/$(TEST_RESULTS) $(PY) -m pytest -n 2 --nbmake --nbmake-timeout=900 tests build/nbmake

book: venv data
	$(PY) -m kanmix.book run --profile $(PROFILE)
	$(PY) -m kanmix.book build

# Re-run one chapter, e.g. `make notebook NB=03 PARAMS="-p epochs 5"`.
notebook: venv data
	$(PY) -m kanmix.book run --profile $(PROFILE) --only $(NB) $(PARAMS)

bench: venv
	$(PY) -m kanmix.bench kan
	$(PY) -m kanmix.bench mixer

clean:
	rm -rf _build build
