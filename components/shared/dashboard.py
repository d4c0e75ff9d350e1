"""Dashboard: one CloudWatch dashboard per endpoint — traffic, latency, errors, replicas, GPUs, capacity.

`dashboard_body()` is a pure function of plain strings, so the JSON can be checked without a Pulumi
runtime; the component resolves the dimensions (Outputs) and hands them to it.

Spot vs on-demand: AWS/AutoScaling does not split a group by purchase option, so the capacity panel
shows the pool's in-service/desired/pending instances next to the *account-wide* running vCPUs of the
pool's instance families by purchase option (AWS/Usage ResourceCount, Class `G/Spot`, `G/OnDemand`, …)
with their service quotas — the limit that most often makes GPU launches fail. In an account that runs
only this pool, those lines are the pool's spot/on-demand split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import cloudwatch_agent
from components.shared.inference_alarms import ALB, AUTOSCALING, CONTAINER_INSIGHTS, AlarmThresholds
from components.shared.serving_metrics import ServingMetrics
from components.shared.validation import ArgsProblems

GRID_COLUMNS = 24  # CloudWatch dashboards are a 24-column grid
PANEL_WIDTH, PANEL_HEIGHT = 8, 6  # three panels a row


@dataclass(frozen=True)
class DashboardArgs:
    region: str
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    asg_name: pulumi.Input[str] | None  # None: no Auto Scaling group (EKS: Karpenter nodes), no GPU pool panels
    cluster_name: pulumi.Input[str] | None = None  # with service_name: the replicas panel
    service_name: pulumi.Input[str] | None = None
    instance_types: tuple[str, ...] = ()  # picks the AWS/Usage vCPU classes for the spot/on-demand panel
    alarm_arns: pulumi.Input[Sequence[pulumi.Input[str]]] = ()  # alarm status panel; empty = no panel
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)  # drawn as lines on the panels
    title: str = ""  # header text; default: the dashboard name
    serving_metrics: ServingMetrics | None = None  # vLLM queue / KV cache / TTFT and (no ASG) GPU panels


@dataclass(frozen=True)
class DashboardDimensions:
    """Resolved dimension values: what `dashboard_body` needs, as plain strings."""

    region: str
    load_balancer: str
    target_group: str
    asg_name: str | None
    cluster_name: str | None = None
    service_name: str | None = None
    instance_types: tuple[str, ...] = ()
    alarm_arns: tuple[str, ...] = ()
    serving_metrics: ServingMetrics | None = None


class Dashboard(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]
    dashboard_body: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:observability:Dashboard", name, None, opts)
        _validate(name, args)
        ecs = args.cluster_name is not None and args.service_name is not None
        body = pulumi.Output.all(
            args.load_balancer_arn_suffix,
            args.target_group_arn_suffix,
            args.asg_name,
            args.cluster_name if ecs else None,
            args.service_name if ecs else None,
            pulumi.Output.from_input(args.alarm_arns),
            pulumi.Output.from_input(dict(args.serving_metrics.dimensions)) if args.serving_metrics else None,
        ).apply(
            lambda v: json.dumps(
                dashboard_body(
                    DashboardDimensions(
                        region=args.region,
                        load_balancer=v[0],
                        target_group=v[1],
                        asg_name=v[2],
                        cluster_name=v[3],
                        service_name=v[4],
                        instance_types=args.instance_types,
                        alarm_arns=tuple(v[5] or ()),
                        serving_metrics=replace(args.serving_metrics, dimensions=v[6])
                        if args.serving_metrics
                        else None,
                    ),
                    args.thresholds,
                    args.title or name,
                )
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            name, dashboard_name=name, dashboard_body=body, opts=pulumi.ResourceOptions(parent=self)
        )
        self.dashboard_name = dashboard.dashboard_name
        self.dashboard_body = dashboard.dashboard_body
        self.register_outputs({"dashboardName": self.dashboard_name})


# -- body -----------------------------------------------------------------------------------------


def usage_classes(instance_types: Sequence[str]) -> list[str]:
    """AWS/Usage vCPU classes of GPU instance types: g*/vt* count as G, p* as P."""
    classes = []
    for instance_type in instance_types:
        family = instance_type.split(".")[0]
        letter = "G" if family.startswith(("g", "vt")) else "P" if family.startswith("p") else None
        if letter and letter not in classes:
            classes.append(letter)
    return classes


def _metric(namespace: str, name: str, dims: dict[str, str], **render: Any) -> list[Any]:
    """One entry of a widget's `metrics` array: namespace, name, dimension name/value pairs, render options."""
    entry: list[Any] = [namespace, name]
    for key, value in dims.items():
        entry += [key, value]
    return [*entry, render] if render else entry


def _expression(qid: str, expression: str, label: str, **render: Any) -> list[Any]:
    return [{"expression": expression, "label": label, "id": qid, **render}]


def _panel(
    title: str,
    region: str,
    metrics: list[list[Any]],
    *,
    stat: str = "Average",
    period: int = 60,
    y_min: float | None = 0,
    lines: Sequence[tuple[float, str]] = (),
    right_label: str | None = None,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "stacked": False,
        "region": region,
        "stat": stat,
        "period": period,
        "metrics": metrics,
    }
    axis: dict[str, Any] = {}
    if y_min is not None:
        axis["left"] = {"min": y_min}
    if right_label:
        axis["right"] = {"min": 0, "label": right_label, "showUnits": False}
    if axis:
        properties["yAxis"] = axis
    if lines:
        properties["annotations"] = {"horizontal": [{"value": v, "label": label} for v, label in lines]}
    return {"type": "metric", "properties": properties}


def dashboard_body(dims: DashboardDimensions, thresholds: AlarmThresholds, title: str) -> dict[str, Any]:
    """The DashboardBody document (CloudWatch API reference: Dashboard Body Structure and Syntax)."""
    r, t = dims.region, thresholds
    lb = {"LoadBalancer": dims.load_balancer}
    lb_tg = {"LoadBalancer": dims.load_balancer, "TargetGroup": dims.target_group}
    hidden = {"visible": False}

    panels = [
        _panel(
            "Requests per second",
            r,
            [
                _expression("qps", "requests / 60", "QPS"),  # RequestCount is per minute
                _metric(ALB, "RequestCount", lb_tg, id="requests", stat="Sum", **hidden),
            ],
        ),
        _panel(
            "Target response time (s)",
            r,
            [
                _metric(ALB, "TargetResponseTime", lb_tg, stat="p50", label="p50"),
                _metric(ALB, "TargetResponseTime", lb_tg, stat="p90", label="p90"),
                _metric(ALB, "TargetResponseTime", lb_tg, stat="p99", label="p99"),
            ],
            lines=[(t.p99_latency_seconds, "p99 alarm")],
        ),
        _panel(
            "5XX responses",
            r,
            [
                _metric(ALB, "HTTPCode_Target_5XX_Count", lb_tg, id="target5xx", stat="Sum", label="target 5XX"),
                _metric(ALB, "HTTPCode_ELB_5XX_Count", lb, id="elb5xx", stat="Sum", label="load balancer 5XX"),
                _metric(ALB, "RequestCount", lb_tg, id="requests", stat="Sum", **hidden),
                _expression(
                    "rate",
                    "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0))",
                    "5XX % of requests",
                    yAxis="right",
                ),
            ],
            stat="Sum",
            right_label="%",
        ),
        _panel(
            "Targets",
            r,
            [
                _metric(ALB, "HealthyHostCount", lb_tg, stat="Minimum", label="healthy"),
                _metric(ALB, "UnHealthyHostCount", lb_tg, stat="Maximum", label="unhealthy"),
            ],
        ),
    ]
    if dims.cluster_name and dims.service_name:
        svc = {"ClusterName": dims.cluster_name, "ServiceName": dims.service_name}
        panels.append(
            _panel(
                "Replicas (ECS tasks)",
                r,
                [
                    _metric(CONTAINER_INSIGHTS, "RunningTaskCount", svc, label="running"),
                    _metric(CONTAINER_INSIGHTS, "DesiredTaskCount", svc, label="desired"),
                    _metric(CONTAINER_INSIGHTS, "PendingTaskCount", svc, label="pending"),
                ],
            )
        )
    if dims.asg_name:
        panels += _gpu_pool_panels(r, t, {"AutoScalingGroupName": dims.asg_name})
    if dims.serving_metrics is not None:
        panels += _serving_panels(r, t, dims.serving_metrics, gpu=not dims.asg_name)
    panels += _usage_panels(r, dims.instance_types)
    return {"widgets": _layout(panels, dims.alarm_arns, title)}


def _gpu_pool_panels(r: str, t: AlarmThresholds, asg: dict[str, str]) -> list[dict[str, Any]]:
    """GPU utilization and memory (CloudWatch agent, per ASG) and the pool's instances."""
    hidden = {"visible": False}
    return [
        _panel(
            "GPU utilization (%)",
            r,
            [
                _metric(cloudwatch_agent.NAMESPACE, cloudwatch_agent.GPU_UTILIZATION, asg, label="average"),
                _metric(cloudwatch_agent.NAMESPACE, cloudwatch_agent.GPU_UTILIZATION, asg, stat="Maximum", label="max"),
            ],
            lines=[
                (t.gpu_utilization_high_percent, "saturated"),
                (t.gpu_utilization_low_percent, "idle"),
            ],
        ),
        _panel(
            # vLLM reserves gpuMemoryUtilization of it at start: flat near that fraction is healthy.
            "GPU memory used (%)",
            r,
            [
                _metric(cloudwatch_agent.NAMESPACE, cloudwatch_agent.GPU_MEMORY_USED, asg, id="used", **hidden),
                _metric(cloudwatch_agent.NAMESPACE, cloudwatch_agent.GPU_MEMORY_TOTAL, asg, id="total", **hidden),
                _expression("memory", "100 * used / total", "memory used %"),
            ],
        ),
        _panel(
            "GPU pool instances",
            r,
            [
                _metric(AUTOSCALING, "GroupInServiceInstances", asg, label="in service"),
                _metric(AUTOSCALING, "GroupDesiredCapacity", asg, label="desired"),
                _metric(AUTOSCALING, "GroupPendingInstances", asg, label="pending"),
                _metric(AUTOSCALING, "GroupMaxSize", asg, label="max size"),
            ],
        ),
    ]


def _serving_panels(r: str, t: AlarmThresholds, m: ServingMetrics, gpu: bool) -> list[dict[str, Any]]:
    """vLLM's own view (queue, KV cache, time to first token) and, without an ASG, the GPU utilization the
    alarms read; each only when the platform publishes it (ServingMetrics)."""
    ns, dims = m.namespace, dict(m.dimensions)
    panels = []
    if m.queue_depth:
        # One datapoint per replica per scrape (60 s): Average = per replica, Maximum = the busiest one.
        panels.append(
            _panel(
                "Queue depth (requests waiting)",
                r,
                [
                    _metric(ns, m.queue_depth, dims, label="average per replica"),
                    _metric(ns, m.queue_depth, dims, stat="Maximum", label="busiest replica"),
                ],
            )
        )
    if m.kv_cache_usage:
        panels.append(
            _panel(
                "KV-cache usage (%)",
                r,
                [
                    _metric(ns, m.kv_cache_usage, dims, id="kv", visible=False),
                    _metric(ns, m.kv_cache_usage, dims, id="kvmax", stat="Maximum", visible=False),
                    _expression("kvpct", "100 * kv", "average per replica"),
                    _expression("kvmaxpct", "100 * kvmax", "fullest replica"),
                ],
                lines=[(100.0, "full: requests queue or are preempted")],
            )
        )
    if m.ttft:
        panels.append(
            _panel(
                "Time to first token (s, mean)",
                r,
                [_metric(ns, m.ttft, dims, label="mean (Sum / SampleCount)")],
            )
        )
    if gpu and m.gpu_utilization:
        panels.append(
            _panel(
                "GPU utilization (%)",
                r,
                [
                    _metric(ns, m.gpu_utilization, dims, label="average"),
                    _metric(ns, m.gpu_utilization, dims, stat="Maximum", label="max"),
                ],
                lines=[(t.gpu_utilization_high_percent, "saturated"), (t.gpu_utilization_low_percent, "idle")],
            )
        )
    return panels


def _usage_panels(r: str, instance_types: Sequence[str]) -> list[dict[str, Any]]:
    usage: list[list[Any]] = []
    for letter in usage_classes(instance_types):
        for option in ("Spot", "OnDemand"):
            qid = f"{letter.lower()}{option.lower()}"
            usage.append(
                _metric(
                    "AWS/Usage",
                    "ResourceCount",
                    {"Service": "EC2", "Type": "Resource", "Resource": "vCPU", "Class": f"{letter}/{option}"},
                    id=qid,
                    stat="Maximum",
                    label=f"{letter} {option} vCPUs",
                )
            )
            usage.append(_expression(f"{qid}quota", f"SERVICE_QUOTA({qid})", f"{letter} {option} vCPU quota"))
    return [_panel("Account GPU vCPUs: spot vs on-demand, with quotas", r, usage, stat="Maximum")] if usage else []


def _layout(panels: list[dict[str, Any]], alarm_arns: tuple[str, ...], title: str) -> list[dict[str, Any]]:
    header = {
        "type": "text",
        "properties": {
            "markdown": (
                f"## {title}\n"
                "vLLM inference. Alarms and what to do when they fire: `docs/alarms.md`. "
                "Spot vs on-demand comes from account-wide EC2 usage (AWS/Usage), not from the pool alone. "
                "GPU panels need the CloudWatch agent on the hosts (`components/shared/cloudwatch_agent.py`) on ECS, "
                "the metrics collector (`components/eks/cloudwatch_metrics.py`) on EKS."
            )
        },
    }
    widgets: list[dict[str, Any]] = [{**header, "x": 0, "y": 0, "width": GRID_COLUMNS, "height": 2}]
    per_row = GRID_COLUMNS // PANEL_WIDTH
    for i, panel in enumerate(panels):
        x, y = (i % per_row) * PANEL_WIDTH, 2 + (i // per_row) * PANEL_HEIGHT
        widgets.append({**panel, "x": x, "y": y, "width": PANEL_WIDTH, "height": PANEL_HEIGHT})
    if alarm_arns:
        y = 2 + -(-len(panels) // per_row) * PANEL_HEIGHT
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": y,
                "width": GRID_COLUMNS,
                "height": 4,
                "properties": {"title": "Alarms", "alarms": list(alarm_arns)[:100]},
            }
        )
    return widgets


def _validate(name: str, args: DashboardArgs) -> None:
    problems = ArgsProblems("Dashboard")
    # PutDashboard: "can contain only alphanumerics, dash (-), and underscore (_)", up to 255.
    problems.check(re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name) is not None, "name", "only A-Za-z0-9_- (≤255)")
    problems.check(bool(args.region), "region", "required: metric widgets name their region")
    problems.check(
        (args.cluster_name is None) == (args.service_name is None),
        "serviceName",
        "clusterName and serviceName come together",
    )
    problems.raise_if_any()
