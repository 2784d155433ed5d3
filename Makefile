# Two commands do all the set-up: `make demo` and `make test`. Both bootstrap .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-long bench bench-smoke clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/owner-tui demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The reliability loops at full length: 200 kill -9 per scenario, 3 min of concurrent writers,
# 1,000 fuzz cases per property (the CI setting of the same tests runs in `make test`).
test-long: $(STAMP)
	OWNER_TUI_LONG=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_crash_safety.py \
		tests/test_concurrency.py tests/test_hostile_mail.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) build dist *.egg-info
