"""The router's per-tier observability, one definition for both platforms: metric filters that turn the hook's
JSON lines (components/shared/deepseek_router.py: one `deepseek.route` event per tier attempt) into per-tier
Requests, Errors, LatencyMs and Fallbacks (namespace METRIC_NAMESPACE, dimension Tier), the fallback alarm and a
dashboard of the four. Metric filters take dimensions from JSON fields (CloudWatch Logs user guide, "Publishing
dimensions with metrics from values in JSON or space-delimited log events").

Where the JSON fields sit depends on who ships the line: the ECS awslogs driver sends the line itself (fields at
`$.`); on EKS the stack's Fluent Bit (components/eks/router_logs.py) wraps it and merges the parsed JSON under
`log_processed` (`Merge_Log On`, `Merge_Log_Key log_processed`, as Container Insights' own application-log.conf),
so the same fields are at `$.log_processed.` (tests/test_router_logs.py builds that record and matches them).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

METRIC_NAMESPACE = "DeepSeek/Router"
ECS_FIELDS = "$."
EKS_FIELDS = "$.log_processed."


def metric_filters(fields: str = ECS_FIELDS) -> dict[str, tuple[str, str, str]]:
    """key -> (metric, filter pattern, value), the JSON fields under `fields`."""
    event = f'{fields}event = "deepseek.route"'
    return {
        "requests": ("Requests", f"{{ {event} && {fields}ok IS TRUE }}", "1"),
        "errors": ("Errors", f"{{ {event} && {fields}ok IS FALSE }}", "1"),
        "latency": ("LatencyMs", f"{{ {event} && {fields}ok IS TRUE }}", f"{fields}latencyMs"),
        "fallbacks": ("Fallbacks", f"{{ {event} && {fields}fallback IS TRUE }}", "1"),
    }


def alarm_actions(topic_arn: pulumi.Input[str] | None) -> dict:
    topic = [topic_arn] if topic_arn else []
    return {"alarm_actions": topic, "ok_actions": topic}


def route_metrics(
    name: str,
    log_group_name: pulumi.Input[str],
    tiers: list[str],
    threshold: int,
    region: str,
    alarm_topic_arn: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
    fields: str = ECS_FIELDS,
) -> tuple[aws.cloudwatch.MetricAlarm, aws.cloudwatch.Dashboard]:
    """The four metric filters on `log_group_name`, the fallback alarm and the tiers dashboard (children of
    `opts.parent`, named as the ECS TierRouter always named them)."""
    for key, (metric, pattern, value) in metric_filters(fields).items():
        aws.cloudwatch.LogMetricFilter(
            f"{name}-{key}",
            log_group_name=log_group_name,
            pattern=pattern,
            metric_transformation={
                "name": metric,
                "namespace": METRIC_NAMESPACE,
                "value": value,
                "dimensions": {"Tier": f"{fields}tier"},
                "unit": "Milliseconds" if metric == "LatencyMs" else "Count",
            },
            opts=opts,
        )
    # Fallbacks carry a Tier dimension (the tier that answered): the alarm adds them up over every tier.
    alarm = aws.cloudwatch.MetricAlarm(
        f"{name}-fallbacks",
        alarm_description=(
            f"More than {threshold} requests in 5 minutes were answered by a fallback tier: "
            "a tier is down or saturated (docs/alarms.md, Tier fallbacks)"
        ),
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        threshold=threshold,
        treat_missing_data="notBreaching",
        metric_queries=[
            *(
                {
                    "id": f"f{i}",
                    "return_data": False,
                    "metric": {
                        "namespace": METRIC_NAMESPACE,
                        "metric_name": "Fallbacks",
                        "dimensions": {"Tier": tier},
                        "period": 300,
                        "stat": "Sum",
                    },
                }
                for i, tier in enumerate(tiers)
            ),
            {
                "id": "total",
                "expression": "SUM([" + ",".join(f"FILL(f{i},0)" for i in range(len(tiers))) + "])",
                "label": "Fallbacks, all tiers",
                "return_data": True,
            },
        ],
        **alarm_actions(alarm_topic_arn),
        opts=opts,
    )
    dashboard = aws.cloudwatch.Dashboard(
        f"{name}-tiers",
        dashboard_name=f"{name}-tiers",
        dashboard_body=json.dumps(tier_dashboard(tiers, region)),
        opts=opts,
    )
    return alarm, dashboard


def tier_dashboard(tiers: list[str], region: str) -> dict:
    """One panel per router metric, a line per tier."""
    panels = [
        ("Requests per tier", "Requests", "Sum"),
        ("p99 latency per tier (ms)", "LatencyMs", "p99"),
        ("Errors per tier (failed attempts)", "Errors", "Sum"),
        ("Fallbacks (answered by this tier instead)", "Fallbacks", "Sum"),
    ]
    widgets = []
    for i, (title, metric, stat) in enumerate(panels):
        widgets.append(
            {
                "type": "metric",
                "x": (i % 2) * 12,
                "y": (i // 2) * 6,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "stat": stat,
                    "period": 60,
                    "view": "timeSeries",
                    "metrics": [[METRIC_NAMESPACE, metric, "Tier", t] for t in tiers],
                },
            }
        )
    return {"widgets": widgets}
