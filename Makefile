# Remix: `make run` to start everything, `make test` to run the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist processes for `make test` (each keeps its own test database, Redis keys and media).
TEST_WORKERS ?= 2
FORWARDED_ALLOW_IPS ?= 127.0.0.1

.PHONY: run test lint format bench stop demo schema clean

# Reinstall only when the requirement files change.
$(INSTALLED): requirements.txt requirements-embedded.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: export DEBUG ?= true
run: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py demo_data
	@echo "API docs:  http://$(HOST):$(PORT)/api/docs/"
	@echo "Admin:     http://$(HOST):$(PORT)/admin/"
	@echo "Readiness: http://$(HOST):$(PORT)/readyz"
	rm -rf var/metrics && mkdir -p var/metrics
	env $$($(BIN)/python -m backend.embedded) HOST=$(HOST) PORT=$(PORT) FORWARDED_ALLOW_IPS="$(FORWARDED_ALLOW_IPS)" \
		$(BIN)/supervisord -c supervisord.conf

test: $(INSTALLED)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(INSTALLED)
	$(BIN)/python -m bench

schema: $(INSTALLED)
	DEBUG=true $(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/schema.yaml

# Stops the embedded PostgreSQL and Redis that `make run` and `make test` leave running.
stop: $(INSTALLED)
	$(BIN)/python -c "from pathlib import Path; from backend import embedded; embedded.stop(Path('var'))"

clean: stop
	rm -rf var $(VENV)
