"""The policy pack over every shipped stack's plan, driven the way the Pulumi engine drives it: the pack
served as a subprocess (`python -m pulumi.policy <engine> .` in policy/) and called over the analyzer gRPC
protocol. Its answers must match the direct `report.check` path that `make plan` / `make policy` use.

The engine starts one pack process per stack; here one pack process (started by the first test, stopped at
the end of the module) analyzes every stack in turn: before each stack it is sent ConfigureStack with that
stack's name and Configure with that stack's environment, as the engine sends them to a fresh pack. Starting
and stopping a pack per call is tested in test_policy_grpc.py (`analyze_resources`). Each RPC is bounded by
TIMEOUT."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from offline.harness import shared_run, stack_config, stack_names
from offline.policy_bridge import planned_resources

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import report  # noqa: E402
from deepseek_policies.grpc_client import PolicyPackProcess  # noqa: E402

TIMEOUT = 60.0
BROKEN_OVERRIDES = {"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 0}
BROKEN_EXPECTED_MANDATORY = {"gpu-pool-prod-on-demand-base"}


def _environment(stack: str) -> str:
    return stack_config(stack)["deepseek-cloud:environment"]


@cache
def _planned(stack: str, broken: bool = False) -> tuple[dict, ...]:
    return tuple(planned_resources(shared_run(stack, BROKEN_OVERRIDES if broken else None)))


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    process = PolicyPackProcess(POLICY_DIR, stack="dev", start_timeout=TIMEOUT, rpc_timeout=TIMEOUT)
    with process:
        yield process


def _analysis(pack: PolicyPackProcess, stack: str, broken: bool = False) -> list[dict]:
    """The running pack's violations for one stack's plan (each test analyzes its own case)."""
    pack.configure_stack(stack)
    return pack.analyze(list(_planned(stack, broken)), "prod" if broken else _environment(stack))


def _names(violations, level):
    return sorted(v["policy"] for v in violations if v["level"] == level)


@pytest.mark.parametrize("stack", stack_names())
def test_shipped_stack_over_grpc_matches_the_direct_check(pack, stack):
    resources = list(_planned(stack))
    environment = _environment(stack)
    violations = _analysis(pack, stack)
    assert _names(violations, "mandatory") == [], [v for v in violations if v["level"] == "mandatory"]
    direct = report.check(resources, environment)
    assert direct["mandatory"] == []
    assert _names(violations, "advisory") == _names(direct["advisory"], "advisory")
    assert {v["level"] for v in violations} <= {"advisory"}


def test_prod_without_on_demand_base_fails_over_grpc(pack):
    resources = list(_planned("prod", broken=True))
    violations = _analysis(pack, "prod", broken=True)
    assert set(_names(violations, "mandatory")) == BROKEN_EXPECTED_MANDATORY, violations
    direct = report.check(resources, "prod")
    assert set(_names(direct["mandatory"], "mandatory")) == BROKEN_EXPECTED_MANDATORY
    assert _names(violations, "advisory") == _names(direct["advisory"], "advisory")
