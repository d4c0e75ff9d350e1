"""Every shipped stack run as `pulumi preview` would (ids, ARNs and generated names unknown): the plan,
the policy pack, the alarm-coverage check and the AWS API-model validators (tests/test_ecs_validation.py,
`-preview` cases) still work on unknowns, and say "known after deploy" rather than inventing a value."""

from __future__ import annotations

import json

import pytest

from offline import plan
from offline.harness import platform_stacks, run_program, shared_run, stack_config
from offline.policy_bridge import check_planned_resources
from stacks.observability import coverage_gaps

SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown string (pulumi.runtime.rpc.UNKNOWN)


def _policy_names(result: dict) -> dict[str, list[str]]:
    return {level: sorted(v["policy"] for v in result[level]) for level in ("mandatory", "advisory")}


# The ECS stacks: their checks below are ECS-specific (tests/test_eks_program.py runs eks-dev under the mock
# runtime in preview mode).
ECS_STACKS = platform_stacks("ecs")


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_plan_of_a_preview_shows_unknowns_as_known_after_deploy(stack, capsys):
    run = shared_run(stack, preview=True)
    assert len(run.registrations) == len(shared_run(stack).registrations)
    doc = plan.plan_document(run)
    text = json.dumps(doc, default=str)
    assert SENTINEL not in text and "Unknown object" not in text
    subnet = next(r for r in doc["resources"] if r["type"] == "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] == plan.KNOWN_AFTER_DEPLOY
    assert doc["outputs"]["endpointUrl"] == plan.KNOWN_AFTER_DEPLOY
    assert doc["outputs"]["vpcId"] == plan.KNOWN_AFTER_DEPLOY
    assert doc["outputs"]["logGroupName"] == f"/deepseek/{stack}/vllm"  # set by the program: known
    assert doc["sizing"] == shared_run(stack).outputs["sizing"]
    plan.render(doc)
    out = capsys.readouterr().out
    assert "known after deploy" in out and SENTINEL not in out and "Unknown object" not in out


# Rules that read a task's containerDefinitions. In a preview that JSON is unknown (it embeds role and
# secret ARNs AWS assigns) and the pack skips them, as it skips every unknown (tests/test_policy_grpc.py
# test_unknown_values_in_preview_neither_fail_nor_abort); `pulumi up` analyzes each resource again with
# its resolved inputs, where they run.
CONTAINER_RULES = frozenset(
    {"ecs-no-privileged-containers", "ecs-read-only-root-filesystem", "ecs-no-secrets-in-environment"}
    | {"ecs-container-logging"}
)


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_policy_pack_on_a_preview_differs_only_by_the_deferred_container_rules(stack):
    environment = stack_config(stack)["deepseek-cloud:environment"]
    preview_run = shared_run(stack, preview=True)
    preview = check_planned_resources(preview_run, environment)
    up = check_planned_resources(shared_run(stack), environment)
    assert preview["mandatory"] == up["mandatory"] == []
    assert not any(v["message"].startswith("can't run policy") for v in preview["advisory"])
    lost = {v["policy"] for v in up["advisory"]} - {v["policy"] for v in preview["advisory"]}
    assert lost <= CONTAINER_RULES
    (task,) = [
        r
        for r in plan.plan_document(preview_run)["resources"]
        if r["type"].startswith("aws:ecs/taskD") and r["parent"].endswith("-vllm")  # the server, not the sync
    ]
    assert task["inputs"]["containerDefinitions"] == plan.KNOWN_AFTER_DEPLOY


def test_policy_pack_still_fails_a_bad_prod_pool_in_preview():
    run = run_program("prod", overrides={"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 0}, preview=True)
    names = {v["policy"] for v in check_planned_resources(run, "prod")["mandatory"]}
    assert "gpu-pool-prod-on-demand-base" in names


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_alarm_coverage_on_a_preview_follows_the_unknown_values_to_their_resource(stack):
    run = shared_run(stack, preview=True)
    target_groups = run.of_type("aws:lb/targetGroup:TargetGroup")  # a tiered stack: one per tier + the router's
    assert target_groups and all(tg.outputs["arnSuffix"] == SENTINEL for tg in target_groups)  # AWS assigns it
    assert coverage_gaps(run.registrations) == []
    # Without the alarms, the same preview has every gap: the check is not vacuous on unknowns.
    no_alarms = [r for r in run.registrations if r.type != "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert sorted(coverage_gaps(no_alarms)) == sorted(
        [
            *(
                f"target group {tg.name} (arnSuffix unknown): no alarm's TargetGroup is computed from it"
                for tg in target_groups
            ),
            *(
                f"GPU pool {asg.name} (name unknown): no alarm's AutoScalingGroupName is computed from it"
                for asg in run.of_type("aws:autoscaling/group:Group")
            ),
        ]
    )
    extra = [t.name for t in shared_run(stack).program_globals["context"].tiers]
    router = ["rtr"] if extra else []
    assert [tg.name for tg in target_groups] == [f"ds-{stack}-{n}-tg" for n in ["vllm", *extra, *router]]
