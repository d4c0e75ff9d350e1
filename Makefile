# `make plan` and `make test` each build venv/ on first use, so a fresh clone needs one command.
STACK ?= dev
FORMAT ?= text
PROJECT ?= main
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The load generator (AIPerf) lives in its own venv: requirements-loadtest.txt says why.
LOADTEST_VENV := venv-loadtest
LOADTEST_STAMP := $(LOADTEST_VENV)/.installed-stamp
ARGS ?=

.PHONY: plan test policy lint format bench clean smoke loadtest loadtest-venv

$(STAMP): requirements.txt requirements-dev.txt policy/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(LOADTEST_STAMP): requirements-loadtest.txt
	test -x $(LOADTEST_VENV)/bin/python || python3 -m venv $(LOADTEST_VENV)
	$(LOADTEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOADTEST_VENV)/bin/python -m pip install --quiet -r requirements-loadtest.txt
	touch $(LOADTEST_STAMP)

loadtest-venv: $(LOADTEST_STAMP)

smoke: $(STAMP)  ## after `pulumi up`: models, completion, stream, 401 without key, 404 outside /v1 (STACK=dev ARGS="--url ... --api-key ...")
	@$(PY) -m gate.smoke --stack $(STACK) $(ARGS)

loadtest: $(STAMP) $(LOADTEST_STAMP)  ## AIPerf at the stack's slo: traffic shape; non-zero when an SLO is missed (report in build/loadtest/)
	@$(PY) -m gate.loadtest --stack $(STACK) $(ARGS)

plan: $(STAMP)  ## offline plan: resources, sizing, policy, cost (STACK=dev FORMAT=text|json; PROJECT=ci STACK=example: the CI roles)
	@$(PY) -m offline.plan --project $(PROJECT) --stack $(STACK) --format $(FORMAT)

policy: $(STAMP)  ## policy pack over the planned stack; non-zero on any mandatory violation
	@$(PY) -m offline.policy_check --stack $(STACK)

test: $(STAMP) $(LOADTEST_STAMP)  ## lint, format check, unit and plan tests (the load-test tests run AIPerf on loopback)
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
	rm -rf $(VENV) $(LOADTEST_VENV) .pytest_cache .ruff_cache
