"""The program must not fight its own schedules: with `scaling.schedule`, the scalable target's min/max
belong to the scheduled actions, so a `pulumi refresh` at night followed by `up` keeps them at zero."""

from __future__ import annotations

from offline.harness import shared_run

TARGET = "aws:appautoscaling/target:Target"
ASG = "aws:autoscaling/group:Group"


def test_scheduled_stack_leaves_min_and_max_to_its_schedule() -> None:
    run = shared_run("dev")  # dev: nights at 0/0, mornings at 1/2
    assert sorted(a.name for a in run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")) == [
        "ds-dev-vllm-scaling-mornings",
        "ds-dev-vllm-scaling-nights",
    ]
    target = run.one(TARGET)
    assert sorted(target.ignore_changes) == ["maxCapacity", "minCapacity"]
    # The declared values still seed the target when it is created.
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 2)


def test_unscheduled_stack_keeps_min_and_max_under_the_program() -> None:
    run = shared_run("prod")  # no schedule: config changes to min/maxReplicas must reach AWS
    assert run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction") == []
    assert run.one(TARGET).ignore_changes == []


def test_gpu_group_leaves_only_desired_capacity_to_ecs() -> None:
    # No schedule acts on the Auto Scaling group: replica schedules reach it through ECS managed scaling,
    # which sets desired capacity only, within the declared min/max (the group's min is 0 in dev).
    run = shared_run("dev")
    asg = run.one(ASG)
    assert asg.ignore_changes == ["desiredCapacity"]
    assert asg.inputs["minSize"] == 0
