# The two commands of the README: `make demo` and `make test`. Both build .venv from scratch
# if it is missing, so they work on a fresh clone with only Python and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)
# The database tests use the servers every session and CI machine runs (see docs/sql-ledger.md);
# set these to point them elsewhere.
export SHUANGYONG_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export SHUANGYONG_TEST_MARIADB_URL ?= mysql+pymysql://root@127.0.0.1:3306/test

.PHONY: demo test lint bench docs clean setup fuzz

$(STAMP): pyproject.toml $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,batch]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# shuangyong-export's PDF (WeasyPrint) needs pango, HarfBuzz's subsetter and a font with Chinese
# glyphs; shuangyong-server's browser tests drive Debian's Chromium (no browser download at test
# time): installed from Debian's packages when missing, with sudo only when not root.
SYSTEM_PACKAGES := fontconfig fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium
setup:
	@if fc-list :lang=zh 2>/dev/null | grep -q . && ldconfig -p | grep -q libpangoft2-1.0 \
	    && ldconfig -p | grep -q libharfbuzz-subset && command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $(SYSTEM_PACKAGES); \
	else echo "install pango, HarfBuzz (subset) and a CJK font for PDF export, and Chromium for the browser tests: $(SYSTEM_PACKAGES)" >&2; fi

test: setup $(STAMP) lint
	$(BIN)/python -m pytest -q

# The gates `make test` passes first: ruff (rules in pyproject.toml's [tool.ruff]) over the whole tree, and
# mypy over src/ and each plugin's src/ ([tool.mypy]); mypy's cache keeps a second run to seconds.
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy

# The fuzzer at a large budget (docs/testing.md): FUZZ_BUDGET inputs, FUZZ_SEED to repeat a run;
# reproducers of what it finds go to .fuzz-crashes/.
FUZZ_BUDGET ?= 100000
fuzz: $(STAMP)
	FUZZ_BUDGET=$(FUZZ_BUDGET) $(BIN)/python -m tests.fuzz

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/side_by_side.py

docs: $(STAMP)
	$(BIN)/sphinx-build -W -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .hypothesis .mypy_cache .ruff_cache
