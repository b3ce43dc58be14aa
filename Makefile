# The two commands: `make run` and `make test`. Everything installs into .venv.
VENV := .venv
PY := $(VENV)/bin/python
BOOT_PYTHON = $(shell scripts/find-python)

.PHONY: run test test-repeat lint format install install-dev browser wrk bench clean

$(PY):
	"$(BOOT_PYTHON)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# `make run` installs the demo extra: the sandbox's local S3 (moto) and the media it writes (PyAV).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[demo]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
# Azurite (the Azure Blob emulator for the storage tests) comes from npm, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install-dev: $(VENV)/.installed-dev node_modules/.installed

browser:
	scripts/install-chromium

wrk:
	scripts/install-wrk

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	PY=$(PY) scripts/run-dev

test: install-dev browser
	$(PY) -m pytest

# The whole suite RUNS times in a row (5 unless set), stopping at the first red run, so a test
# that fails only sometimes shows before CI meets it. Add DATABASE_URL and REDIS_URL for PostgreSQL.
RUNS ?= 5
test-repeat: install-dev browser
	for run in $$(seq 1 $(RUNS)); do \
	  echo "== run $$run of $(RUNS)"; $(PY) -m pytest -q -p no:cacheprovider || exit 1; \
	done

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install-dev wrk
	$(PY) bench/livekit_client.py
	$(PY) bench/home_page.py
	$(PY) bench/webhooks.py
	$(PY) bench/history.py
	$(PY) bench/audio_processing.py
	$(PY) bench/audio.py
	$(PY) bench/transcription.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
