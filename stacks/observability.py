"""Observability of a serving endpoint: alarms, their topic, capacity events and the dashboard.

Platform-independent: it reads only the ServingEndpoint a platform builder returns and the stack config,
so ECS now and EKS later are watched the same way. `coverage_gaps` is the matching check: every target
group and GPU pool a stack declares must be watched by at least one alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from components.dashboard import Dashboard, DashboardArgs
from components.inference_alarms import AlarmThresholds, AlarmTopic, InferenceAlarms, InferenceAlarmsArgs
from stacks.config import StackContext
from stacks.serving import ServingEndpoint


def replica_floor(ctx: StackContext, endpoint: ServingEndpoint) -> int:
    """The fewest replicas the service is ever scaled to: a schedule may take it to zero (dev at night),
    and an endpoint that is meant to be empty must not page for having no healthy host."""
    return min([endpoint.min_replicas, *(rule.min_replicas for rule in ctx.config.scaling.schedule)])


def build_observability(ctx: StackContext, endpoint: ServingEndpoint) -> dict[str, Any]:
    """Declare the alarms and dashboard for `endpoint`; return the stack outputs they add."""
    cfg = ctx.config.alarms
    thresholds = AlarmThresholds(
        error_rate_percent=cfg.error_rate_percent,
        p99_latency_seconds=cfg.p99_latency_seconds,
        gpu_utilization_high_percent=cfg.gpu_utilization_high_percent,
        gpu_utilization_low_percent=cfg.gpu_utilization_low_percent,
        replica_startup_minutes=cfg.replica_startup_minutes,
    )
    alarms = InferenceAlarms(
        f"{ctx.short_name}-alarms",
        InferenceAlarmsArgs(
            load_balancer_arn_suffix=endpoint.load_balancer_arn_suffix,
            target_group_arn_suffix=endpoint.target_group_arn_suffix,
            target_group_name=endpoint.target_group_name,
            asg_name=endpoint.asg_name,
            kms_key_arn=endpoint.kms_key_arn,
            cluster_name=endpoint.cluster_name,
            service_name=endpoint.service_name,
            min_replicas=replica_floor(ctx, endpoint),
            gpu_pool_min_size=endpoint.gpu_pool_min_size,
            spot=ctx.config.gpu_pool.spot.enabled,
            environment=ctx.config.environment,
            thresholds=thresholds,
            topic=AlarmTopic(arn=cfg.topic_arn, emails=tuple(cfg.emails)),
        ),
    )
    dashboard = Dashboard(
        f"{ctx.short_name}-inference",
        DashboardArgs(
            region=ctx.region,
            load_balancer_arn_suffix=endpoint.load_balancer_arn_suffix,
            target_group_arn_suffix=endpoint.target_group_arn_suffix,
            asg_name=endpoint.asg_name,
            cluster_name=endpoint.cluster_name,
            service_name=endpoint.service_name,
            instance_types=tuple(ctx.config.gpu_pool.instance_types),
            alarm_arns=alarms.alarm_arns,
            thresholds=thresholds,
            title=f"{ctx.short_name}: {ctx.model.key} ({ctx.config.environment})",
        ),
    )
    return {
        "alarmTopicArn": alarms.topic_arn if alarms.topic_arn is not None else "",
        "dashboardName": dashboard.dashboard_name,
        "alarmNames": alarms.alarm_names,
    }


# -- coverage check ---------------------------------------------------------------------------------

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


class _Registration(Protocol):
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


def alarm_dimensions(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every dimension map of a MetricAlarm's engine inputs: its own and each metric query's."""
    found = [inputs["dimensions"]] if inputs.get("dimensions") else []
    for query in inputs.get("metricQueries") or []:
        dims = (query.get("metric") or {}).get("dimensions")
        if dims:
            found.append(dims)
    return found


def coverage_gaps(registrations: Iterable[_Registration]) -> list[str]:
    """What no alarm watches: target groups by TargetGroup = arnSuffix, GPU pools by AutoScalingGroupName = name."""
    registrations = list(registrations)
    watched: dict[str, set[Any]] = {"TargetGroup": set(), "AutoScalingGroupName": set()}
    for reg in registrations:
        if reg.type != METRIC_ALARM:
            continue
        for dims in alarm_dimensions(reg.inputs or {}):
            for key, values in watched.items():
                if dims.get(key):
                    values.add(dims[key])
    gaps = []
    for reg in registrations:
        if reg.type == TARGET_GROUP:
            suffix = (reg.outputs or {}).get("arnSuffix")
            if not suffix or suffix not in watched["TargetGroup"]:
                gaps.append(f"target group {reg.name} ({suffix or 'arnSuffix unknown'}): no alarm has TargetGroup = it")
        elif reg.type == AUTOSCALING_GROUP:
            name = (reg.outputs or {}).get("name")
            if not name or name not in watched["AutoScalingGroupName"]:
                gaps.append(f"GPU pool {reg.name} ({name or 'name unknown'}): no alarm has AutoScalingGroupName = it")
    return gaps
