"""ReplicaAutoscaling: the ECS service's replica count follows its request rate (Application Auto
Scaling target tracking on ALBRequestCountPerTarget) or its queue depth (target tracking on a metric-math
expression: vLLM's waiting requests summed over the service's tasks ÷ its running tasks), with optional
scheduled capacity changes (e.g. dev at zero replicas at night).

Queue depth is AWS's documented "backlog per task" pattern (Application Auto Scaling user guide, "Create a
target tracking scaling policy for Application Auto Scaling using metric math", example "Amazon SQS queue
backlog per task": messages ÷ ECS/ContainerInsights RunningTaskCount by ClusterName and ServiceName,
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html).
The waiting requests come from the metrics sidecar (components/ecs/metrics_sidecar.py): one datapoint per
task per minute, so a 60 s Sum is the whole service's queue; RunningTaskCount from Container Insights, which
the ModelService's cluster enables. At zero tasks nothing reports a queue and the division has no data:
target tracking neither scales out nor in on missing data (ECS developer guide, "Use a target metric to
scale Amazon ECS services"), so queue depth cannot scale from zero (stacks/config.py refuses that).

ECS managed scaling then adds or removes GPU instances for the replicas; this component only decides
how many replicas there should be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.serving_metrics import ServingMetrics
from components.shared.validation import ArgsProblems

# ALBRequestCountPerTarget is a 1-minute Sum of requests per target: the target is requests/minute.
SECONDS_PER_METRIC_PERIOD = 60
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
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
    metric: str = "qps"  # qps | queueDepth
    target_queue_depth: float = 5.0  # waiting requests per running task (queueDepth)
    serving_metrics: ServingMetrics | None = None  # where vLLM's queue depth is published (queueDepth)
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


def tracking_metric(args: ReplicaAutoscalingArgs) -> dict[str, Any]:
    """The target value and the metric it tracks, for the configured scaling metric."""
    if args.metric == "queueDepth" and args.serving_metrics is not None:
        return {
            "target_value": args.target_queue_depth,
            "customized_metric_specification": {"metrics": queue_depth_queries(args, args.serving_metrics)},
        }
    return {
        "target_value": requests_per_minute_target(args.target_requests_per_second),
        "predefined_metric_specification": {
            "predefined_metric_type": "ALBRequestCountPerTarget",
            "resource_label": pulumi.Output.concat(args.load_balancer_arn_suffix, "/", args.target_group_arn_suffix),
        },
    }


def queue_depth_queries(args: ReplicaAutoscalingArgs, m: ServingMetrics) -> list[dict[str, Any]]:
    """waiting (Sum over the service's tasks) ÷ running (RunningTaskCount): requests waiting per replica."""
    return [
        {
            "id": "waiting",
            "label": "requests waiting, all tasks",
            "metric_stat": {
                "metric": {
                    "namespace": m.namespace,
                    "metric_name": m.queue_depth,
                    "dimensions": [{"name": k, "value": v} for k, v in m.dimensions.items()],
                },
                "stat": "Sum",
            },
            "return_data": False,
        },
        {
            "id": "running",
            "label": "running tasks",
            "metric_stat": {
                "metric": {
                    "namespace": CONTAINER_INSIGHTS,
                    "metric_name": "RunningTaskCount",
                    "dimensions": [
                        {"name": "ClusterName", "value": args.cluster_name},
                        {"name": "ServiceName", "value": args.service_name},
                    ],
                },
                "stat": "Average",
            },
            "return_data": False,
        },
        {"id": "perTask", "expression": "waiting / running", "label": "requests waiting per task", "return_data": True},
    ]


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
            f"{name}-queue-depth" if args.metric == "queueDepth" else f"{name}-requests",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                **tracking_metric(args),
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
    problems.check(args.metric in ("qps", "queueDepth"), "metric", "must be qps or queueDepth")
    if args.metric == "queueDepth":
        problems.check(args.target_queue_depth > 0, "targetQueueDepth", "must be above 0")
        problems.check(
            args.serving_metrics is not None and bool(args.serving_metrics.queue_depth),
            "servingMetrics",
            "queueDepth needs where vLLM's queue depth is published (the metrics sidecar)",
        )
        problems.check(
            args.min_replicas >= 1 and all(r.min_replicas >= 1 or r.max_replicas == 0 for r in args.schedule),
            "minReplicas",
            "queueDepth cannot scale from zero: no task reports a queue at zero tasks",
        )
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
