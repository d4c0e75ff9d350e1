"""ReplicaAutoscaling: the ECS service's replica count follows its request rate (Application Auto
Scaling target tracking on ALBRequestCountPerTarget), with optional scheduled capacity changes
(e.g. dev at zero replicas at night).

ECS managed scaling then adds or removes GPU instances for the replicas; this component only decides
how many replicas there should be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared.validation import ArgsProblems

# ALBRequestCountPerTarget is a 1-minute Sum of requests per target: the target is requests/minute.
SECONDS_PER_METRIC_PERIOD = 60
CRON = re.compile(r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")


@dataclass(frozen=True)
class ScheduledCapacity:
    name: str
    cron: str  # Application Auto Scaling cron: cron(minutes hours day-of-month month day-of-week year)
    min_replicas: int
    max_replicas: int
    timezone: str = "UTC"


@dataclass(frozen=True)
class ReplicaAutoscalingArgs:
    cluster_name: pulumi.Input[str] = ""
    service_name: pulumi.Input[str] = ""
    load_balancer_arn_suffix: pulumi.Input[str] = ""  # app/<name>/<id>
    target_group_arn_suffix: pulumi.Input[str] = ""  # targetgroup/<name>/<id>
    min_replicas: int = 1
    max_replicas: int = 1
    target_requests_per_second: float = 1.0  # per replica
    scale_out_cooldown_seconds: int = 60  # short: a GPU replica takes minutes to come up already
    scale_in_cooldown_seconds: int = 600  # long: dropping a replica throws away a warm model
    schedule: tuple[ScheduledCapacity, ...] = ()


def schedule_owned_fields(schedule: tuple[ScheduledCapacity, ...]) -> list[str]:
    """The target's fields the scheduled actions own. Each action rewrites min/max at its time; after a
    `pulumi refresh` the state holds the scheduled values, and an `up` that re-applied the declared ones
    would undo the schedule (at night: start a replica, hence a GPU). So with a schedule the declared
    min/max are the values at creation only; changing them later takes the schedule (see docs/ecs.md)."""
    return ["minCapacity", "maxCapacity"] if schedule else []


def requests_per_minute_target(requests_per_second: float) -> float:
    return requests_per_second * SECONDS_PER_METRIC_PERIOD


class ReplicaAutoscaling(pulumi.ComponentResource):
    resource_id: pulumi.Output[str]
    policy_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicaAutoscalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:ReplicaAutoscaling", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        resource_id = pulumi.Output.concat("service/", args.cluster_name, "/", args.service_name)
        target = aws.appautoscaling.Target(
            f"{name}-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=args.min_replicas,
            max_capacity=args.max_replicas,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=schedule_owned_fields(args.schedule)),
        )
        policy = aws.appautoscaling.Policy(
            f"{name}-requests",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": requests_per_minute_target(args.target_requests_per_second),
                "predefined_metric_specification": {
                    "predefined_metric_type": "ALBRequestCountPerTarget",
                    "resource_label": pulumi.Output.concat(
                        args.load_balancer_arn_suffix, "/", args.target_group_arn_suffix
                    ),
                },
                "scale_out_cooldown": args.scale_out_cooldown_seconds,
                "scale_in_cooldown": args.scale_in_cooldown_seconds,
                "disable_scale_in": False,
            },
            opts=child,
        )
        for rule in args.schedule:
            aws.appautoscaling.ScheduledAction(
                f"{name}-{rule.name}",
                name=f"{name}-{rule.name}",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                schedule=rule.cron,
                timezone=rule.timezone,
                scalable_target_action={"min_capacity": rule.min_replicas, "max_capacity": rule.max_replicas},
                opts=child,
            )
        self.resource_id = target.resource_id
        self.policy_arn = policy.arn
        self.register_outputs({"resourceId": self.resource_id, "policyArn": self.policy_arn})


def _validate(args: ReplicaAutoscalingArgs) -> None:
    problems = ArgsProblems("ReplicaAutoscaling")
    problems.check(0 <= args.min_replicas <= args.max_replicas, "minReplicas", "must be between 0 and maxReplicas")
    problems.check(args.max_replicas >= 1, "maxReplicas", "must be at least 1")
    problems.check(args.target_requests_per_second > 0, "targetRequestsPerSecond", "must be above 0")
    problems.check(args.scale_out_cooldown_seconds >= 0, "scaleOutCooldownSeconds", "must be 0 or more")
    problems.check(args.scale_in_cooldown_seconds >= 0, "scaleInCooldownSeconds", "must be 0 or more")
    names = [r.name for r in args.schedule]
    problems.check(len(set(names)) == len(names), "schedule", "names must be distinct")
    for i, rule in enumerate(args.schedule):
        problems.check(
            bool(CRON.match(rule.cron)),
            f"schedule[{i}].cron",
            "must be cron(minutes hours day-of-month month day-of-week year)",
        )
        problems.check(
            0 <= rule.min_replicas <= rule.max_replicas <= args.max_replicas,
            f"schedule[{i}]",
            "needs 0 <= minReplicas <= maxReplicas <= the service's maxReplicas",
        )
    problems.raise_if_any()
