"""The policy pack over every shipped stack's plan, driven the way the Pulumi engine drives it: the pack
served as a subprocess (`python -m pulumi.policy <engine> .` in policy/) and called over the analyzer gRPC
protocol. Its answers must match the direct `report.check` path that `make plan` / `make policy` use.

`analyze_resources` starts and stops one pack process per call (the engine also starts one per stack),
each bounded by TIMEOUT."""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from offline.harness import shared_run, stack_config, stack_names
from offline.policy_bridge import planned_resources

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import report  # noqa: E402
from deepseek_policies.grpc_client import analyze_resources  # noqa: E402

TIMEOUT = 60.0
BROKEN_OVERRIDES = {"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 0}
BROKEN_EXPECTED_MANDATORY = {"gpu-pool-prod-on-demand-base"}


def _environment(stack: str) -> str:
    return stack_config(stack)["deepseek-cloud:environment"]


@cache
def _planned(stack: str, broken: bool = False) -> tuple[dict, ...]:
    return tuple(planned_resources(shared_run(stack, BROKEN_OVERRIDES if broken else None)))


@cache
def _analyses() -> dict[tuple[str, bool], Future]:
    """Every case's pack analysis, the pack processes running side by side (one per stack, as the engine
    starts them): the plans come first (the mock runtime is one per process), then the packs in threads.
    Each test reads its own future, so one failing analysis fails only its test."""
    cases = [(stack, False) for stack in stack_names()] + [("prod", True)]
    resources = {case: list(_planned(*case)) for case in cases}
    with ThreadPoolExecutor(len(cases)) as pool:
        return {
            (stack, broken): pool.submit(
                analyze_resources,
                resources[(stack, broken)],
                "prod" if broken else _environment(stack),
                stack=stack,
                timeout=TIMEOUT,
            )
            for stack, broken in cases
        }


def _names(violations, level):
    return sorted(v["policy"] for v in violations if v["level"] == level)


@pytest.mark.parametrize("stack", stack_names())
def test_shipped_stack_over_grpc_matches_the_direct_check(stack):
    resources = list(_planned(stack))
    environment = _environment(stack)
    violations = _analyses()[(stack, False)].result()
    assert _names(violations, "mandatory") == [], [v for v in violations if v["level"] == "mandatory"]
    direct = report.check(resources, environment)
    assert direct["mandatory"] == []
    assert _names(violations, "advisory") == _names(direct["advisory"], "advisory")
    assert {v["level"] for v in violations} <= {"advisory"}


def test_prod_without_on_demand_base_fails_over_grpc():
    resources = list(_planned("prod", broken=True))
    violations = _analyses()[("prod", True)].result()
    assert set(_names(violations, "mandatory")) == BROKEN_EXPECTED_MANDATORY, violations
    direct = report.check(resources, "prod")
    assert set(_names(direct["mandatory"], "mandatory")) == BROKEN_EXPECTED_MANDATORY
    assert _names(violations, "advisory") == _names(direct["advisory"], "advisory")
