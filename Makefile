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
NBMAKE := build/nbmake
TEST_ENV = KANMIX_COMPILE=0 KANMIX_DATA=$(CURDIR)/data KANMIX_RESULTS=$(CURDIR)/$(TEST_RESULTS)

.PHONY: venv data test book check-book notebook bench clean

# Re-install only when the pins or the package metadata change; the stamp makes reruns instant.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt -e ".[book,dev,cluster]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

venv: $(STAMP)

data: venv
	$(PY) -m kanmix data fetch

# Every chapter is executed once: nbmake runs the converted chapters with their own (smoke)
# defaults and writes them back (--overwrite); the book and browser tests then build the strict
# book from those very notebooks (KANMIX_EXECUTED_CHAPTERS) instead of executing them again.
test: venv data
	rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	$(PY) -m kanmix.book convert --out $(NBMAKE)
	$(TEST_ENV) $(PY) -m pytest -n 2 --nbmake --nbmake-timeout=900 --overwrite $(NBMAKE)
	$(TEST_ENV) KANMIX_EXECUTED_CHAPTERS=$(CURDIR)/$(NBMAKE) $(PY) -m pytest -n 2 tests

book: venv data
	$(PY) -m kanmix.book run --profile $(PROFILE)
	$(PY) -m kanmix.book build

# The browser and book checks of `make test`, held against the book `make book` executed (book/*.ipynb, e.g.
# the cpu profile read from the committed records) instead of the smoke chapters.
check-book: venv
	KANMIX_EXECUTED_CHAPTERS=$(CURDIR)/book KANMIX_BOOK_PROFILE=$(PROFILE) $(PY) -m pytest -n 2 tests/test_browser.py tests/test_book.py

# Re-run one chapter, e.g. `make notebook NB=03 PARAMS="-p epochs 5"`.
notebook: venv data
	$(PY) -m kanmix.book run --profile $(PROFILE) --only $(NB) $(PARAMS)

bench: venv
	$(PY) -m kanmix.bench kan
	$(PY) -m kanmix.bench mixer

clean:
	rm -rf _build build
