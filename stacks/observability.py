"""Observability of a serving endpoint: alarms, their topic, capacity events and the dashboard.

Platform-independent: it reads only the ServingEndpoint a platform builder returns and the stack config,
so ECS now and EKS later are watched the same way. `coverage_gaps` is the matching check: every target
group and GPU pool a stack declares must be watched by at least one alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from components.shared.dashboard import Dashboard, DashboardArgs
from components.shared.inference_alarms import AlarmThresholds, AlarmTopic, InferenceAlarms, InferenceAlarmsArgs
from stacks.cold_start import replica_startup_minutes
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
        replica_startup_minutes=replica_startup_minutes(ctx),  # 0 in config: from the cold-start estimate
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
            serving_metrics=endpoint.serving_metrics,
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
            serving_metrics=endpoint.serving_metrics,
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
    urn: str
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
    """What no alarm watches: target groups by TargetGroup = arnSuffix, GPU pools by AutoScalingGroupName = name.

    In a preview AWS has not assigned either value yet (both sides are unknown): an alarm then watches the
    resource its unknown dimension value was computed from (the engine's property dependencies).
    """
    registrations = list(registrations)
    watched: dict[str, set[Any]] = {"TargetGroup": set(), "AutoScalingGroupName": set()}
    watched_urns: dict[str, set[str]] = {key: set() for key in watched}
    for reg in registrations:
        if reg.type != METRIC_ALARM:
            continue
        deps = getattr(reg, "property_dependencies", None) or {}
        sources = {u for key in ("dimensions", "metricQueries") for u in deps.get(key, [])}
        for dims in alarm_dimensions(reg.inputs or {}):
            for key, values in watched.items():
                if _is_unknown(dims.get(key)):
                    watched_urns[key] |= sources
                elif dims.get(key):
                    values.add(dims[key])
    gaps = []
    for reg in registrations:
        for type_, output, key, what in (
            (TARGET_GROUP, "arnSuffix", "TargetGroup", "target group"),
            (AUTOSCALING_GROUP, "name", "AutoScalingGroupName", "GPU pool"),
        ):
            if reg.type != type_:
                continue
            value = (reg.outputs or {}).get(output)
            if _is_unknown(value):
                if getattr(reg, "urn", None) not in watched_urns[key]:
                    gaps.append(f"{what} {reg.name} ({output} unknown): no alarm's {key} is computed from it")
            elif not value or value not in watched[key]:
                gaps.append(f"{what} {reg.name} ({value or f'{output} unknown'}): no alarm has {key} = it")
    return gaps


def _is_unknown(value: Any) -> bool:
    """A value a preview leaves unknown, as the engine deserializes it or as its wire sentinel."""
    return isinstance(value, Unknown) or value == UNKNOWN
