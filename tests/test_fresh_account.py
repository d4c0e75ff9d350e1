"""First deploy into a fresh account: the service-linked roles the ECS stack needs before its first `up`
are looked up (IAM ListRoles through the provider's getRoles, answered from the mocks' account fixture);
missing ones are one config-style line with the commands that create them, before anything is declared."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import settings

from offline.harness import run_program, shared_run
from offline.mocks import ESTABLISHED, FRESH, AccountFixture
from stacks.errors import ConfigError

SLR = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def problems(account: AccountFixture) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        run_program("dev", account=account)
    return [str(p) for p in caught.value.problems]


def test_account_with_the_roles_plans_and_the_key_names_the_auto_scaling_role() -> None:
    run = shared_run("dev")  # default fixture: an established account
    assert "aws:iam/getRoles:getRoles" in run.calls
    policy = json.loads(run.one("aws:kms/key:Key").inputs["policy"])
    principals = {s["Sid"]: s["Principal"] for s in policy["Statement"]}
    assert principals["AllowAutoScalingServiceLinkedRoleUseOfTheKey"] == {"AWS": SLR}


def test_fresh_account_is_refused_in_one_line_before_anything_is_declared() -> None:
    assert problems(FRESH) == [
        "aws:account: missing service-linked role(s) AWSServiceRoleForAutoScaling, AWSServiceRoleForECS; create "
        "them once per account, then run again: aws iam create-service-linked-role --aws-service-name "
        "autoscaling.amazonaws.com && aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com "
        "(got present: none; allowed: AWSServiceRoleForAutoScaling, AWSServiceRoleForECS)"
    ]
    assert settings.SETTINGS.monitor.registrations == []


def test_account_that_only_ran_ecs_lacks_the_auto_scaling_role() -> None:
    ecs_only = AccountFixture(tuple(r for r in ESTABLISHED.service_linked_roles if r[0] != "autoscaling.amazonaws.com"))
    [line] = problems(ecs_only)
    assert line.startswith("aws:account: missing service-linked role(s) AWSServiceRoleForAutoScaling; ")
    assert line.endswith(
        "run again: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com "
        "(got present: AWSServiceRoleForECS; allowed: AWSServiceRoleForAutoScaling, AWSServiceRoleForECS)"
    )


def test_roles_the_services_create_themselves_are_not_required() -> None:
    # ELB and Application Auto Scaling create their roles in CreateLoadBalancer / RegisterScalableTarget.
    needed = AccountFixture(
        tuple(r for r in ESTABLISHED.service_linked_roles if r[0] in ("autoscaling.amazonaws.com", "ecs.amazonaws.com"))
    )
    run = run_program("dev", account=needed)
    assert run.one("aws:lb/loadBalancer:LoadBalancer")
