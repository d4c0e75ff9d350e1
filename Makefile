# `make plan` and `make test` each build venv/ on first use, so a fresh clone needs one command.
STACK ?= dev
FORMAT ?= text
PROJECT ?= main
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: plan tco test policy lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt policy/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

plan: $(STAMP)  ## offline plan: resources, sizing, policy, cost (STACK=dev FORMAT=text|json; PROJECT=ci STACK=example: the CI roles)
	@$(PY) -m offline.plan --project $(PROJECT) --stack $(STACK) --format $(FORMAT)

tco: $(STAMP)  ## $ per 1M output tokens, cloud vs on-prem, charts in build/tco/<stack>/ (STACK=dev FORMAT=text|json)
	@$(PY) -m offline.tco --stack $(STACK) --format $(FORMAT)

policy: $(STAMP)  ## policy pack over the planned stack; non-zero on any mandatory violation
	@$(PY) -m offline.policy_check --stack $(STACK)

test: $(STAMP)  ## lint, format check, unit and plan tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)  ## wall time of make plan per stack and of the test suite (hyperfine)
	@command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)"; exit 1; }
	hyperfine --warmup 1 --runs 5 $(foreach s,$(shell ls Pulumi.*.yaml | sed 's/Pulumi\.\(.*\)\.yaml/\1/'),'$(PY) -m offline.plan --stack $(s)')
	hyperfine --runs 2 '$(PY) -m pytest -q -x'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
