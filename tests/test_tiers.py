"""deepseek-cloud:tiers checks (stacks/tiers.py tier_problems): one concrete line per bad value, before any
resource is declared. Each case starts from Pulumi.hybrid.yaml (a valid tiered stack) and breaks one value."""

from __future__ import annotations

import pytest

from tests.test_config import only_line, problems_for

NS = "deepseek-cloud"


def hybrid_problems(overrides: dict) -> list[str]:
    return problems_for(overrides, stack="hybrid")


def test_hybrid_stack_itself_is_valid():
    from offline.harness import shared_run

    run = shared_run("hybrid")
    assert len(run.registrations) > 10


@pytest.mark.parametrize(
    ("overrides", "path", "line"),
    [
        (
            {f"{NS}:tiers.extra.0.model": "deepseek-r1-distill-qwen-1.5"},
            "tiers.extra[0].model",
            "unknown model (got deepseek-r1-distill-qwen-1.5; allowed: ",
        ),
        (
            {f"{NS}:tiers.extra.0.capacity.instanceTypes": ["g6e.xlarge"]},
            "tiers.extra[0].capacity.instanceTypes[0]",
            "a cpu tier runs on CPU-only types (got g6e.xlarge; allowed: c7i/m7i (Intel AMX))",
        ),
        (
            {f"{NS}:tiers.rules.2.tier": "cpuu"},
            "tiers.rules[2].tier",
            "unknown tier (got cpuu; allowed: large, cpu); did you mean 'cpu'?",
        ),
        (
            {f"{NS}:tiers.fallbacks.cpu": []},
            "tiers.fallbacks.cpu",
            "no fallback: requests would fail when it is down (got []; allowed: a tier)",
        ),
        (
            {f"{NS}:tiers.defaultTrafficShare": 0.5},
            "tiers",
            "trafficShare values must add up to 1 (got 1.1; allowed: shares summing to 1)",
        ),
    ],
)
def test_bad_tier_value_is_one_line(overrides, path, line):
    lines = hybrid_problems(overrides)
    assert only_line(lines, f"{NS}:{path}").startswith(f"{NS}:{path}: {line}")


def test_unknown_tier_model_suggests_the_catalog_name():
    lines = hybrid_problems({f"{NS}:tiers.extra.0.model": "deepseek-r1-distill-qwen-1.5"})
    line = only_line(lines, f"{NS}:tiers.extra[0].model")
    assert line.endswith("; did you mean 'deepseek-r1-distill-qwen-1.5b'?")


def test_cpu_tier_model_must_fit_host_memory():
    overrides = {
        f"{NS}:tiers.extra.0.model": "deepseek-r1-distill-qwen-32b",
        f"{NS}:tiers.extra.0.capacity.instanceTypes": ["c7i.4xlarge"],
    }
    line = only_line(hybrid_problems(overrides), f"{NS}:tiers.extra[0].capacity.instanceTypes[0]")
    assert line == (
        f"{NS}:tiers.extra[0].capacity.instanceTypes[0]: deepseek-r1-distill-qwen-32b does not fit: needs 73.0 GiB "
        "(weights 61.0 + KV 8 + runtime), 27.8 usable (got c7i.4xlarge; allowed: a larger type)"
    )
