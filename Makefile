# `make plan` and `make test` each build venv/ on first use, so a fresh clone needs one command.
STACK ?= dev
FORMAT ?= text
PROJECT ?= main
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: plan test policy lint format bench clean lock sync-weights

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

plan: $(STAMP)  ## offline plan: resources, sizing, policy, cost (STACK=dev FORMAT=text|json; PROJECT=ci STACK=example: the CI roles)
	@$(PY) -m offline.plan --project $(PROJECT) --stack $(STACK) --format $(FORMAT)

policy: $(STAMP)  ## policy pack over the planned stack; non-zero on any mandatory violation
	@$(PY) -m offline.policy_check --stack $(STACK)

sync-weights: $(STAMP)  ## copy the stack's pinned model revision from the Hub into its S3 bucket (needs a deployed stack, pulumi and AWS credentials)
	pulumi stack output --stack $(STACK) --json | $(PY) -m scripts.sync_weights

test: $(STAMP)  ## lint, format check, unit and plan tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)  ## time make plan per stack beside its pulumi-aws import baseline, and the suite; rewrites README's table
	$(PY) -m offline.bench

clean:
	rm -rf $(VENV) .lock-tools .pytest_cache .ruff_cache
