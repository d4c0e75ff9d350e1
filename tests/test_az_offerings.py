"""Subnets go only to AZs that offer every pool instance type (DescribeInstanceTypeOfferings, read through
the provider's getInstanceTypeOfferings, answered offline from moto's recorded offerings)."""

from __future__ import annotations

import pytest

from offline import recorded
from offline.harness import run_program, shared_run
from stacks.errors import ConfigError

SUBNET = "aws:ec2/subnet:Subnet"


def problems(overrides: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        run_program("dev", overrides=overrides)
    return [str(p) for p in caught.value.problems]


def subnet_azs(run) -> list[str]:
    return sorted({s.inputs["availabilityZone"] for s in run.of_type(SUBNET)})


def test_recorded_offerings_behind_the_cases_below() -> None:
    assert recorded.instance_type_azs("us-east-1", "p5en.48xlarge") == ("us-east-1a", "us-east-1c")
    assert recorded.instance_type_azs("eu-north-1", "g6e.xlarge") == ("eu-north-1a", "eu-north-1b")
    assert recorded.instance_type_azs("eu-north-1", "g5.2xlarge") == ("eu-north-1b", "eu-north-1c")
    assert recorded.instance_type_azs("sa-east-1", "g6e.xlarge") == ()


def test_subnets_skip_an_az_that_lacks_the_pool_type() -> None:
    # Before: the first two AZs of us-east-1 (a, b); p5en.48xlarge is not offered in us-east-1b.
    run = run_program("dev", overrides={"deepseek-cloud:gpuPool.instanceTypes": ["p5en.48xlarge"]})
    assert subnet_azs(run) == ["us-east-1a", "us-east-1c"]
    assert "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings" in run.calls


def test_shipped_stacks_keep_their_azs() -> None:
    assert subnet_azs(shared_run("prod")) == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_az_count_above_the_azs_offering_the_type_names_type_region_and_azs() -> None:
    lines = problems({"deepseek-cloud:gpuPool.instanceTypes": ["p5en.48xlarge"], "deepseek-cloud:network.azCount": 3})
    assert lines == [
        "deepseek-cloud:network.azCount: us-east-1 offers every gpuPool.instanceTypes type in only 2 availability "
        "zone(s) (p5en.48xlarge in us-east-1a, us-east-1c) (got 3; allowed: 2)"
    ]


def test_two_types_whose_azs_barely_overlap() -> None:
    # The dev pool moved to eu-north-1: each type is in two AZs, both only in eu-north-1b.
    lines = problems({"aws:region": "eu-north-1"})
    assert lines == [
        "deepseek-cloud:network.azCount: eu-north-1 offers every gpuPool.instanceTypes type in only 1 "
        "availability zone(s) (g6e.xlarge in eu-north-1a, eu-north-1b; g5.2xlarge in eu-north-1b, eu-north-1c) "
        "(got 2; allowed: none: choose types offered in two common AZs)"
    ]


def test_type_offered_nowhere_in_the_region() -> None:
    lines = problems({"aws:region": "sa-east-1"})
    assert lines == [
        "deepseek-cloud:gpuPool.instanceTypes[0]: not offered in any availability zone of sa-east-1 "
        "(got g6e.xlarge; allowed: a GPU type sa-east-1 offers, or another aws:region)"
    ]
