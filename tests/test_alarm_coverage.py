"""Every serving target group and GPU pool a stack declares is watched by at least one alarm.

The check is `stacks.observability.coverage_gaps`, a pure function of registrations: unit-tested on
hand-built registrations, shown to fail on a program that declares serving resources but no alarms,
then run over every shipped stack.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from offline.harness import platform_stacks, run_program, shared_run, stack_config
from offline.mocks import Registration
from stacks.observability import AUTOSCALING_GROUP, METRIC_ALARM, TARGET_GROUP, coverage_gaps

TG_SUFFIX = "targetgroup/ds-dev-tg/0123456789abcdef"


def reg(type_token: str, name: str, inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None):
    return Registration(
        urn=f"urn:pulumi:test::deepseek-cloud::{type_token}::{name}",
        type=type_token,
        name=name,
        parent="",
        custom=True,
        inputs=inputs or {},
        outputs=outputs or {},
        provider="",
        protect=False,
        retain_on_delete=False,
        ignore_changes=[],
        depends_on=[],
    )


def serving_resources() -> list[Registration]:
    return [
        reg(TARGET_GROUP, "ds-dev-tg", outputs={"arnSuffix": TG_SUFFIX}),
        reg(AUTOSCALING_GROUP, "ds-dev-gpu", outputs={"name": "ds-dev-gpu-1a2b3c4"}),
    ]


# -- the pure function -----------------------------------------------------------------------------


def test_alarms_with_matching_dimensions_cover_target_group_and_pool():
    alarms = [
        reg(METRIC_ALARM, "p99", inputs={"dimensions": {"LoadBalancer": "app/x/1", "TargetGroup": TG_SUFFIX}}),
        reg(METRIC_ALARM, "gpu", inputs={"dimensions": {"AutoScalingGroupName": "ds-dev-gpu-1a2b3c4"}}),
    ]
    assert coverage_gaps(serving_resources() + alarms) == []


def test_metric_math_dimensions_count_too():
    math = reg(
        METRIC_ALARM,
        "5xx",
        inputs={
            "metricQueries": [
                {"id": "rate", "expression": "100 * e / r", "returnData": True},
                {"id": "e", "metric": {"dimensions": {"TargetGroup": TG_SUFFIX}}},
                {"id": "r", "metric": {"dimensions": {"AutoScalingGroupName": "ds-dev-gpu-1a2b3c4"}}},
            ]
        },
    )
    assert coverage_gaps([*serving_resources(), math]) == []


def test_unwatched_and_mismatched_resources_are_reported():
    assert len(coverage_gaps(serving_resources())) == 2
    wrong = [
        reg(METRIC_ALARM, "p99", inputs={"dimensions": {"TargetGroup": "targetgroup/other/1"}}),
        reg(METRIC_ALARM, "gpu", inputs={"dimensions": {"AutoScalingGroupName": "another-pool"}}),
    ]
    gaps = coverage_gaps(serving_resources() + wrong)
    assert [g.split(" (")[0] for g in gaps] == ["target group ds-dev-tg", "GPU pool ds-dev-gpu"]
    # a resource whose identity is unknown cannot be proven watched
    unnamed = [reg(AUTOSCALING_GROUP, "pool", outputs={})]
    assert coverage_gaps(unnamed) == ["GPU pool pool (name unknown): no alarm has AutoScalingGroupName = it"]


# -- a program with serving resources, with and without the observability builder -------------------

PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_aws as aws

    from stacks.config import load_stack
    from stacks.observability import build_observability
    from stacks.serving import ServingEndpoint
    from stacks.tagging import register_default_tags

    ctx = load_stack()
    register_default_tags(ctx.tags)
    tg = aws.lb.TargetGroup("ds-tg", port=8000, protocol="HTTP", target_type="instance")
    pool = aws.autoscaling.Group("ds-gpu", min_size=ctx.config.gpu_pool.min_size, max_size=ctx.config.gpu_pool.max_size)
    key = aws.kms.Key("ds-key")
    endpoint = ServingEndpoint(
        platform="ecs",
        load_balancer_arn_suffix=pulumi.Output.from_input("app/ds-alb/0123456789abcdef"),
        target_group_arn_suffix=tg.arn_suffix,
        target_group_name="ds-tg",
        asg_name=pool.name,
        asg_arn=pool.arn,
        gpu_pool_min_size=ctx.config.gpu_pool.min_size,
        min_replicas=ctx.config.scaling.min_replicas,
        cluster_name=pulumi.Output.from_input("ds-cluster"),
        service_name=pulumi.Output.from_input("ds-vllm"),
        kms_key_arn=key.arn,
    )
    if WATCH:
        for name, value in build_observability(ctx, endpoint).items():
            pulumi.export(name, value)
    """
)


def _program(tmp_path: Path, watch: bool) -> Path:
    main = tmp_path / f"main_{'watched' if watch else 'bare'}.py"
    main.write_text(f"WATCH = {watch}\n{PROGRAM}")
    return main


def test_a_program_without_alarms_has_gaps_and_build_observability_closes_them(tmp_path):
    bare = run_program("dev", main=_program(tmp_path, watch=False))
    gaps = sorted(coverage_gaps(bare.registrations))
    assert len(gaps) == 2 and gaps[0].startswith("GPU pool ds-gpu") and gaps[1].startswith("target group ds-tg")

    watched = run_program("dev", main=_program(tmp_path, watch=True))
    assert coverage_gaps(watched.registrations) == []
    assert watched.outputs["dashboardName"] == "ds-dev-inference"
    assert watched.outputs["alarmTopicArn"].startswith("arn:aws:sns:us-east-1:")
    assert "ds-dev-alarms-service-degraded" in watched.outputs["alarmNames"]


def test_build_observability_takes_thresholds_and_floors_from_config(tmp_path):
    run = run_program(
        "dev",
        main=_program(tmp_path, watch=True),
        overrides={
            "deepseek-cloud:alarms.p99LatencySeconds": 12.5,
            "deepseek-cloud:alarms.emails": ["oncall@example.com"],
            "deepseek-cloud:scaling.schedule": [
                {"name": "night", "cron": "cron(0 20 ? * MON-FRI *)", "minReplicas": 0, "maxReplicas": 0}
            ],
        },
    )
    alarms = {r.name: r.inputs for r in run.of_type(METRIC_ALARM)}
    assert alarms["ds-dev-alarms-p99-latency"]["threshold"] == 12.5
    # dev scales to zero at night: having no healthy host then must not page
    assert "ds-dev-alarms-no-healthy-hosts" not in alarms
    # dev's pool minimum is 0: no pool-minimum alarm either
    assert "ds-dev-alarms-gpu-pool-below-min" not in alarms
    (subscription,) = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == "oncall@example.com"
    key_arn = run.one("aws:kms/key:Key").outputs["arn"]
    assert run.one("aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key_arn
    # the stack transform tags what takes tags; nothing here sets project/environment by hand
    assert alarms["ds-dev-alarms-5xx-rate"]["tags"]["environment"] == "dev"


# -- every shipped stack ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", platform_stacks("ecs"))
def test_every_shipped_stack_watches_its_target_groups_and_gpu_pools(stack):
    run = shared_run(stack)
    # An ECS stack serves through one target group and one GPU pool; none declared is a failure, not
    # a vacuous "no gaps". A tiered stack adds a target group and a pool per extra tier, and the router's group.
    extra = len((stack_config(stack).get("deepseek-cloud:tiers") or {}).get("extra") or [])
    assert len(run.of_type(TARGET_GROUP)) == 1 + extra + (1 if extra else 0)
    assert len(run.of_type(AUTOSCALING_GROUP)) == 1 + extra
    assert coverage_gaps(run.registrations) == []
