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
# The tier router (LiteLLM proxy) lives in its own venv too: requirements-router.txt says why.
ROUTER_VENV := venv-router
ROUTER_STAMP := $(ROUTER_VENV)/.installed-stamp
ARGS ?=

.PHONY: plan tco test test-loadtest test-router router-venv policy readme-controls lint format bench clean lock smoke loadtest loadtest-venv sync-weights

# requirements.lock pins every package (runtime, policy pack, dev tools, and what they pull in) exactly,
# so the recorded AWS data moto ships (AZs, AMI ids, instance facts) changes only when the lock does.
# requirements*.txt and policy/requirements.txt state the ranges; tests/test_lock.py checks the lock covers them.
$(STAMP): requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

lock:  ## re-resolve requirements.lock from requirements*.txt (pip-tools in a throwaway venv; keeps pins that still fit)
	test -x .lock-tools/bin/pip-compile || { python3 -m venv .lock-tools && .lock-tools/bin/pip install --quiet pip-tools==7.6.2; }
	.lock-tools/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock requirements-dev.txt

$(LOADTEST_STAMP): requirements-loadtest.txt
	test -x $(LOADTEST_VENV)/bin/python || python3 -m venv $(LOADTEST_VENV)
	$(LOADTEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOADTEST_VENV)/bin/python -m pip install --quiet -r requirements-loadtest.txt
	touch $(LOADTEST_STAMP)

loadtest-venv: $(LOADTEST_STAMP)

$(ROUTER_STAMP): requirements-router.txt
	test -x $(ROUTER_VENV)/bin/python || python3 -m venv $(ROUTER_VENV)
	$(ROUTER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ROUTER_VENV)/bin/python -m pip install --quiet -r requirements-router.txt
	touch $(ROUTER_STAMP)

router-venv: $(ROUTER_STAMP)

smoke: $(STAMP)  ## after `pulumi up`: models, completion, stream, 401 without key, 404 outside /v1 (STACK=dev ARGS="--url ... --api-key ...")
	@$(PY) -m gate.smoke --stack $(STACK) $(ARGS)

loadtest: $(STAMP) $(LOADTEST_STAMP)  ## AIPerf at the stack's slo: traffic shape; non-zero when an SLO is missed (report in build/loadtest/)
	@$(PY) -m gate.loadtest --stack $(STACK) $(ARGS)

plan: $(STAMP)  ## offline plan: resources, sizing, policy, cost (STACK=dev FORMAT=text|json; PROJECT=ci STACK=example: the CI roles)
	@$(PY) -m offline.plan --project $(PROJECT) --stack $(STACK) --format $(FORMAT)

tco: $(STAMP)  ## $ per 1M output tokens, cloud vs on-prem, charts in build/tco/<stack>/ (STACK=dev FORMAT=text|json)
	@$(PY) -m offline.tco --stack $(STACK) --format $(FORMAT)

policy: $(STAMP)  ## policy pack over the planned stack; non-zero on any mandatory violation; lists the waivers relied on
	@$(PY) -m offline.policy_check --stack $(STACK)

readme-controls: $(STAMP)  ## regenerate README's rule/control tables from policy/deepseek_policies/controls.yaml
	@PYTHONPATH=policy $(PY) -m deepseek_policies.readme README.md

sync-weights: $(STAMP)  ## copy the stack's pinned model revision from the Hub into its S3 bucket (needs a deployed stack, pulumi and AWS credentials)
	pulumi stack output --stack $(STACK) --json | $(PY) -m scripts.sync_weights

test: $(STAMP)  ## lint, format check, unit and plan tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -n 2 --dist loadfile  # both cores, a file per worker; mock runs shared by both (tests/conftest.py)

test-loadtest: $(STAMP) $(LOADTEST_STAMP)  ## the load-test gate against a loopback server with the real AIPerf
	$(PY) -m pytest -q -m aiperf

test-router: $(STAMP) $(ROUTER_STAMP)  ## the real LiteLLM proxy with the hybrid stack's generated router config, tiers on loopback
	$(PY) -m pytest -q -m router

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)  ## time make plan per stack beside its pulumi-aws import baseline, and the suite; rewrites README's table
	$(PY) -m offline.bench

clean:
	rm -rf $(VENV) $(LOADTEST_VENV) $(ROUTER_VENV) .lock-tools .pytest_cache .ruff_cache
