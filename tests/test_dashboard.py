"""Dashboard: the body is checked against CloudWatch's documented DashboardBody structure, and the
component resolves the endpoint's Outputs into it."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pulumi
import pytest

from components.shared.dashboard import Dashboard, DashboardArgs, DashboardDimensions, dashboard_body, usage_classes
from components.shared.inference_alarms import AlarmThresholds
from offline.mocks import RecordedAwsMocks, RecordingMonitor

LB = "app/ds-test-alb/0123456789abcdef"
TG = "targetgroup/ds-test-tg/fedcba9876543210"
ASG = "ds-test-gpu-asg"
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ds-test-alarms-5xx-rate"

# From the CloudWatch API reference, "Dashboard Body Structure and Syntax" and "Metric Widget Structure".
WIDGET_KEYS = {"type", "x", "y", "width", "height", "properties"}
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer", "custom"}
VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
RENDER_KEYS = {"accountId", "color", "expression", "id", "label", "period", "region", "stat", "visible", "yAxis"}
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
PERCENTILE = re.compile(r"p(\d{1,2}(\.\d{1,2})?|100)")
METRIC_ID = re.compile(r"[a-z][A-Za-z0-9_]*")


def _stat_ok(stat: Any) -> bool:
    return isinstance(stat, str) and (stat in STATISTICS or PERCENTILE.fullmatch(stat) is not None)


def _period_ok(period: Any) -> bool:
    return isinstance(period, int) and (period in (1, 5, 10, 30) or (period >= 60 and period % 60 == 0))


def dashboard_problems(body: dict[str, Any]) -> list[str]:
    """Everything in `body` that the documented DashboardBody structure does not allow."""
    problems: list[str] = []
    if set(body) - {"widgets", "start", "end", "periodOverride", "variables"}:
        problems.append(f"unknown top-level keys {set(body) - {'widgets'}}")
    widgets = body.get("widgets")
    if not isinstance(widgets, list) or len(widgets) > 500:
        return [*problems, "widgets must be an array of at most 500 widgets"]
    cells: dict[tuple[int, int], int] = {}
    for i, w in enumerate(widgets):
        where = f"widgets[{i}]"
        if unknown := set(w) - WIDGET_KEYS:
            problems.append(f"{where}: unknown keys {unknown}")
        if w.get("type") not in WIDGET_TYPES:
            problems.append(f"{where}: type {w.get('type')!r}")
        if not isinstance(w.get("properties"), dict):
            problems.append(f"{where}: properties must be an object")
            continue
        x, y, width, height = (w.get(k) for k in ("x", "y", "width", "height"))
        if not all(isinstance(v, int) for v in (x, y, width, height)):
            problems.append(f"{where}: x, y, width, height must be integers")
            continue
        if not (0 <= x <= 23 and y >= 0 and 1 <= width <= 24 and 1 <= height <= 1000 and x + width <= 24):
            problems.append(f"{where}: off the 24-column grid (x={x}, y={y}, width={width}, height={height})")
        for cx in range(x, x + width):
            for cy in range(y, y + height):
                if (cx, cy) in cells:
                    problems.append(f"{where}: overlaps widgets[{cells[(cx, cy)]}] at ({cx}, {cy})")
                    break
                cells[(cx, cy)] = i
        problems += _PROPERTY_CHECKS.get(w["type"], lambda p, where: [])(w["properties"], where)
    return list(dict.fromkeys(problems))


def _metric_widget(props: dict[str, Any], where: str) -> list[str]:
    problems = []
    if not isinstance(props.get("region"), str) or not props["region"]:
        problems.append(f"{where}: metric widgets need a region")
    if "view" in props and props["view"] not in VIEWS:
        problems.append(f"{where}: view {props['view']!r}")
    if "stat" in props and not _stat_ok(props["stat"]):
        problems.append(f"{where}: stat {props['stat']!r}")
    if "period" in props and not _period_ok(props["period"]):
        problems.append(f"{where}: period {props['period']!r}")
    for line in (props.get("annotations") or {}).get("horizontal", []):
        if not isinstance(line.get("value"), int | float):
            problems.append(f"{where}: horizontal annotation needs a numeric value")
    metrics = props.get("metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= 500:
        return [*problems, f"{where}: metrics must be an array of 1–500 entries"]
    ids, expressions = [], []
    for j, entry in enumerate(metrics):
        at = f"{where}.metrics[{j}]"
        if not isinstance(entry, list) or not entry:
            problems.append(f"{at}: must be a non-empty array")
            continue
        render = entry[-1] if isinstance(entry[-1], dict) else {}
        tokens = entry[:-1] if render else entry
        if "expression" in render:
            if tokens:
                problems.append(f"{at}: an expression entry is the options object alone")
            expressions.append(render["expression"])
        else:
            if len(tokens) < 2 or len(tokens) % 2 or not all(isinstance(t, str) and t for t in tokens):
                problems.append(f"{at}: [namespace, name, (dimension name, value)…] of non-empty strings")
            elif len(tokens) // 2 - 1 > 30:
                problems.append(f"{at}: more than 30 dimensions")
        if unknown := set(render) - RENDER_KEYS:
            problems.append(f"{at}: unknown rendering keys {unknown}")
        if "stat" in render and not _stat_ok(render["stat"]):
            problems.append(f"{at}: stat {render['stat']!r}")
        if "period" in render and not _period_ok(render["period"]):
            problems.append(f"{at}: period {render['period']!r}")
        if "visible" in render and not isinstance(render["visible"], bool):
            problems.append(f"{at}: visible must be true or false")
        if render.get("yAxis", "left") not in ("left", "right"):
            problems.append(f"{at}: yAxis {render['yAxis']!r}")
        if "id" in render:
            if not METRIC_ID.fullmatch(render["id"]):
                problems.append(f"{at}: id {render['id']!r} must start with a lowercase letter")
            ids.append(render["id"])
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: duplicate ids {ids}")
    for expression in expressions:
        for ref in re.findall(r"\b[a-z]\w*\b", expression):
            if ref not in ids:
                problems.append(f"{where}: expression {expression!r} refers to unknown id {ref!r}")
    return problems


def _text_widget(props: dict[str, Any], where: str) -> list[str]:
    ok = isinstance(props.get("markdown"), str) and set(props) <= {"markdown", "background"}
    return [] if ok else [f"{where}: a text widget has a markdown string (and optionally background)"]


def _alarm_widget(props: dict[str, Any], where: str) -> list[str]:
    alarms = props.get("alarms")
    if not isinstance(alarms, list) or not 1 <= len(alarms) <= 100:
        return [f"{where}: alarms must list 1–100 alarm ARNs"]
    return [f"{where}: {a!r} is not an alarm ARN" for a in alarms if not re.match(r"arn:aws[\w-]*:cloudwatch:", a)]


_PROPERTY_CHECKS = {"metric": _metric_widget, "text": _text_widget, "alarm": _alarm_widget}


def _dims(**changes: Any) -> DashboardDimensions:
    base = DashboardDimensions(
        region="us-east-1",
        load_balancer=LB,
        target_group=TG,
        asg_name=ASG,
        cluster_name="ds-test-cluster",
        service_name="ds-test-vllm",
        instance_types=("g6e.xlarge", "g5.2xlarge"),
        alarm_arns=(ALARM_ARN,),
    )
    return DashboardDimensions(**{**base.__dict__, **changes})


def _metric_entries(body: dict[str, Any], title: str) -> list[list[Any]]:
    widget = next(w for w in body["widgets"] if w["properties"].get("title") == title)
    return widget["properties"]["metrics"]


def test_body_follows_the_documented_structure():
    body = dashboard_body(_dims(), AlarmThresholds(), "ds-test")
    assert dashboard_problems(body) == []
    assert len(json.dumps(body)) < 1_000_000


@pytest.mark.parametrize(
    "changes",
    [
        {"cluster_name": None, "service_name": None},
        {"alarm_arns": ()},
        {"instance_types": ("p5.48xlarge",)},
        {"instance_types": ()},
    ],
)
def test_body_stays_valid_without_optional_panels(changes):
    assert dashboard_problems(dashboard_body(_dims(**changes), AlarmThresholds(), "ds-test")) == []


def test_the_structure_check_can_fail():
    good = dashboard_body(_dims(), AlarmThresholds(), "ds-test")

    def broken(mutate) -> list[str]:
        body = copy.deepcopy(good)
        mutate(body)
        return dashboard_problems(body)

    metric_at = next(i for i, w in enumerate(good["widgets"]) if w["type"] == "metric")
    assert broken(lambda b: b["widgets"][metric_at].pop("properties"))
    assert broken(lambda b: b["widgets"][metric_at].update(x=20, width=8))  # past column 24
    assert broken(lambda b: b["widgets"][metric_at].update(y=0))  # overlaps the header
    assert broken(lambda b: b["widgets"][metric_at]["properties"].update(stat="Averge"))
    assert broken(lambda b: b["widgets"][metric_at]["properties"]["metrics"][0].append("dangling-dimension"))
    assert broken(lambda b: b["widgets"][metric_at]["properties"].pop("region"))
    assert broken(lambda b: b["widgets"][metric_at]["properties"]["metrics"].append([{"expression": "nope / 60"}]))


def test_panels_show_traffic_latency_errors_replicas_gpus_and_capacity():
    t = AlarmThresholds(p99_latency_seconds=30, gpu_utilization_high_percent=80)
    body = dashboard_body(_dims(), t, "ds-test")
    qps = _metric_entries(body, "Requests per second")
    assert qps[0] == [{"expression": "requests / 60", "label": "QPS", "id": "qps"}]
    assert qps[1][:6] == ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", LB, "TargetGroup", TG]

    latency = _metric_entries(body, "Target response time (s)")
    assert [m[-1]["stat"] for m in latency] == ["p50", "p90", "p99"]
    latency_widget = next(w for w in body["widgets"] if w["properties"].get("title") == "Target response time (s)")
    assert {"value": 30, "label": "p99 alarm"} in latency_widget["properties"]["annotations"]["horizontal"]

    assert [m[1] for m in _metric_entries(body, "Replicas (ECS tasks)")] == [
        "RunningTaskCount",
        "DesiredTaskCount",
        "PendingTaskCount",
    ]
    gpu = _metric_entries(body, "GPU utilization (%)")
    assert gpu[0][:4] == ["CWAgent", "nvidia_smi_utilization_gpu", "AutoScalingGroupName", ASG]
    memory = _metric_entries(body, "GPU memory used (%)")
    assert {m[1] for m in memory if isinstance(m[0], str)} == {"nvidia_smi_memory_used", "nvidia_smi_memory_total"}

    usage = _metric_entries(body, "Account GPU vCPUs: spot vs on-demand, with quotas")
    classes = [m[m.index("Class") + 1] for m in usage if isinstance(m[0], str)]
    assert classes == ["G/Spot", "G/OnDemand"]
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert alarm_widget["properties"]["alarms"] == [ALARM_ARN]


def test_usage_classes_follow_instance_families():
    assert usage_classes(["g6e.xlarge", "g5.2xlarge"]) == ["G"]
    assert usage_classes(["p5.48xlarge", "g6.12xlarge"]) == ["P", "G"]
    assert usage_classes(["m7i.large"]) == []


def test_component_resolves_endpoint_outputs_into_the_body():
    mocks = RecordedAwsMocks(region="us-east-1")
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="deepseek-cloud", stack="test", preview=False, monitor=monitor)

    @pulumi.runtime.test
    def build():
        dashboard = Dashboard(
            "ds-test-inference",
            DashboardArgs(
                region="us-east-1",
                load_balancer_arn_suffix=pulumi.Output.from_input(LB),
                target_group_arn_suffix=pulumi.Output.from_input(TG),
                asg_name=pulumi.Output.from_input(ASG),
                instance_types=("g6e.xlarge",),
                alarm_arns=pulumi.Output.from_input([ALARM_ARN]),
            ),
        )
        return dashboard.dashboard_name

    build()
    (resource,) = [r for r in monitor.registrations if r.type == "aws:cloudwatch/dashboard:Dashboard"]
    assert resource.inputs["dashboardName"] == "ds-test-inference"
    body = json.loads(resource.inputs["dashboardBody"])
    assert dashboard_problems(body) == []
    assert not any(w["properties"].get("title") == "Replicas (ECS tasks)" for w in body["widgets"])
    assert TG in json.dumps(body) and ASG in json.dumps(body)


def test_component_rejects_a_name_cloudwatch_would_refuse():
    mocks = RecordedAwsMocks(region="us-east-1")
    pulumi.runtime.set_mocks(
        mocks, project="deepseek-cloud", stack="test", preview=False, monitor=RecordingMonitor(mocks)
    )

    @pulumi.runtime.test
    def build():
        Dashboard(
            "ds test/inference",
            DashboardArgs(region="", load_balancer_arn_suffix=LB, target_group_arn_suffix=TG, asg_name=ASG),
        )

    with pytest.raises(pulumi.InputPropertiesError) as caught:
        build()
    assert {e["property_path"] for e in caught.value.errors} == {"name", "region"}
