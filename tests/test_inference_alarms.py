"""InferenceAlarms under Pulumi's mock runtime: thresholds, dimensions, actions, topic, events — and every
alarm, composite, rule and target checked against the CloudWatch / EventBridge API models in botocore."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

import botocore.session
import pulumi
import pytest
from botocore.validate import ParamValidator

from components.shared import cloudwatch_agent
from components.shared.inference_alarms import AlarmThresholds, AlarmTopic, InferenceAlarms, InferenceAlarmsArgs
from offline.mocks import PLACEHOLDER_ACCOUNT, RecordedAwsMocks, RecordingMonitor, Registration

LB = "app/ds-test-alb/0123456789abcdef"
TG = "targetgroup/ds-test-tg/fedcba9876543210"
ASG = "ds-test-gpu-asg"
KEY = f"arn:aws:kms:us-east-1:{PLACEHOLDER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADOPTED = f"arn:aws:sns:us-east-1:{PLACEHOLDER_ACCOUNT}:oncall"

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def make_args(**changes: Any) -> InferenceAlarmsArgs:
    """Args as build_observability makes them from a ServingEndpoint; plain strings stand in for Outputs
    here and are wrapped in Output.from_input inside the mock run (see `construct`)."""
    base = InferenceAlarmsArgs(
        load_balancer_arn_suffix=LB,
        target_group_arn_suffix=TG,
        target_group_name="ds-test-tg",
        asg_name=ASG,
        kms_key_arn=KEY,
        cluster_name="ds-test-cluster",
        service_name="ds-test-vllm",
        min_replicas=1,
        gpu_pool_min_size=1,
        spot=True,
        environment="dev",
        thresholds=AlarmThresholds(),
        topic=AlarmTopic(emails=("oncall@example.com",)),
    )
    return replace(base, **changes)


@dataclass
class Built:
    registrations: list[Registration]
    component: InferenceAlarms

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def alarm(self, key: str) -> Registration:
        return next(r for r in self.of_type(METRIC_ALARM) if r.name.endswith(f"-{key}"))

    def alarm_keys(self) -> set[str]:
        return {r.name.removeprefix("ds-test-alarms-") for r in self.of_type(METRIC_ALARM)}


def construct(args: InferenceAlarmsArgs) -> Built:
    """A fresh mock runtime per call; the ServingEndpoint values arrive as Outputs, as from the ECS builder."""
    mocks = RecordedAwsMocks(region="us-east-1")
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="deepseek-cloud", stack="test", preview=False, monitor=monitor)
    holder: dict[str, InferenceAlarms] = {}

    @pulumi.runtime.test
    def build():
        as_outputs = replace(
            args,
            load_balancer_arn_suffix=pulumi.Output.from_input(args.load_balancer_arn_suffix),
            target_group_arn_suffix=pulumi.Output.from_input(args.target_group_arn_suffix),
            asg_name=pulumi.Output.from_input(args.asg_name),
        )
        holder["c"] = InferenceAlarms("ds-test-alarms", as_outputs)
        return holder["c"].alarm_arns

    build()
    return Built(monitor.registrations, holder["c"])


# -- thresholds and dimensions ---------------------------------------------------------------------


def test_p99_alarm_uses_the_configured_threshold_and_the_endpoint_target_group():
    built = construct(make_args(thresholds=AlarmThresholds(p99_latency_seconds=42.5)))
    p99 = built.alarm("p99-latency").inputs
    assert p99["threshold"] == 42.5
    assert p99["extendedStatistic"] == "p99"
    assert "statistic" not in p99
    assert p99["metricName"] == "TargetResponseTime"
    assert p99["dimensions"] == {"LoadBalancer": LB, "TargetGroup": TG}
    assert p99["evaluateLowSampleCountPercentiles"] == "ignore"
    # policy checks match alarms to the target group by this tag while arnSuffix is unknown (preview)
    assert p99["tags"] == {"deepseek:target-group": "ds-test-tg"}


def test_no_healthy_host_alarm_only_when_the_service_keeps_replicas():
    at_zero = construct(make_args(min_replicas=0))
    assert "no-healthy-hosts" not in at_zero.alarm_keys()
    assert not any(r.inputs.get("metricName") == "HealthyHostCount" for r in at_zero.of_type(METRIC_ALARM))
    rule = at_zero.of_type(COMPOSITE)[0].inputs["alarmRule"]
    assert "no-healthy-hosts" not in rule

    kept = construct(make_args(min_replicas=2))
    healthy = kept.alarm("no-healthy-hosts").inputs
    assert (healthy["metricName"], healthy["comparisonOperator"], healthy["threshold"]) == (
        "HealthyHostCount",
        "LessThanThreshold",
        1,
    )
    assert healthy["dimensions"]["TargetGroup"] == TG
    assert healthy["treatMissingData"] == "notBreaching"  # no target registered yet: a new stack, not an outage
    assert healthy["evaluationPeriods"] == healthy["datapointsToAlarm"] == 20  # replicaStartupMinutes
    assert 'ALARM("ds-test-alarms-no-healthy-hosts")' in kept.of_type(COMPOSITE)[0].inputs["alarmRule"]


def test_gpu_pool_minimum_alarm_follows_the_pool_minimum():
    assert "gpu-pool-below-min" not in construct(make_args(gpu_pool_min_size=0)).alarm_keys()
    pool = construct(make_args(gpu_pool_min_size=3)).alarm("gpu-pool-below-min").inputs
    assert (pool["namespace"], pool["metricName"]) == ("AWS/AutoScaling", "GroupInServiceInstances")
    assert (pool["comparisonOperator"], pool["threshold"]) == ("LessThanThreshold", 3)
    assert pool["dimensions"] == {"AutoScalingGroupName": ASG}
    assert pool["evaluationPeriods"] == AlarmThresholds().replica_startup_minutes


def test_error_rate_is_metric_math_over_target_and_load_balancer_5xx():
    t = AlarmThresholds(error_rate_percent=2.5)
    inputs = construct(make_args(thresholds=t)).alarm("5xx-rate").inputs
    assert inputs["threshold"] == 2.5
    queries = {q["id"]: q for q in inputs["metricQueries"]}
    assert [q["id"] for q in inputs["metricQueries"] if q["returnData"]] == ["rate"]
    assert queries["target5xx"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert queries["target5xx"]["metric"]["dimensions"] == {"LoadBalancer": LB, "TargetGroup": TG}
    assert queries["elb5xx"]["metric"]["dimensions"] == {"LoadBalancer": LB}
    assert queries["requests"]["metric"]["metricName"] == "RequestCount"
    assert all(q["metric"]["stat"] == "Sum" for q in queries.values() if "metric" in q)
    referenced = set(re.findall(r"\b[a-z]\w*\b", queries["rate"]["expression"]))
    assert referenced == {"target5xx", "elb5xx", "requests"}


def test_task_shortfall_compares_running_with_desired_tasks():
    t = AlarmThresholds(replica_startup_minutes=25)
    inputs = construct(make_args(thresholds=t)).alarm("tasks-below-desired").inputs
    queries = {q["id"]: q for q in inputs["metricQueries"]}
    assert queries["shortfall"]["expression"] == "desired - running"
    assert queries["running"]["metric"]["metricName"] == "RunningTaskCount"
    assert queries["desired"]["metric"]["metricName"] == "DesiredTaskCount"
    assert queries["running"]["metric"]["namespace"] == "ECS/ContainerInsights"
    assert queries["running"]["metric"]["dimensions"] == {
        "ClusterName": "ds-test-cluster",
        "ServiceName": "ds-test-vllm",
    }
    assert inputs["evaluationPeriods"] == 25
    assert "tasks-below-desired" not in construct(make_args(cluster_name=None, service_name=None)).alarm_keys()


def test_gpu_alarms_read_the_cloudwatch_agent_roll_up_per_asg():
    built = construct(make_args(thresholds=AlarmThresholds(gpu_utilization_high_percent=85)))
    config = cloudwatch_agent.cloudwatch_agent_config()
    published = {
        cloudwatch_agent.metric_name(m) for m in config["metrics"]["metrics_collected"]["nvidia_gpu"]["measurement"]
    }
    for key in ("gpu-utilization-high", "gpu-utilization-low"):
        inputs = built.alarm(key).inputs
        assert inputs["namespace"] == config["metrics"]["namespace"] == "CWAgent"
        assert inputs["metricName"] == "nvidia_smi_utilization_gpu" and inputs["metricName"] in published
        # the only dimension must be one the agent aggregates on
        assert list(inputs["dimensions"]) in config["metrics"]["aggregation_dimensions"]
        assert inputs["dimensions"] == {"AutoScalingGroupName": ASG}
    assert built.alarm("gpu-utilization-high").inputs["threshold"] == 85


# -- actions, descriptions, missing data -----------------------------------------------------------


def test_every_alarm_is_described_and_chooses_missing_data_deliberately():
    built = construct(make_args())
    for reg in built.of_type(METRIC_ALARM):
        inputs = reg.inputs
        assert inputs["treatMissingData"] in ("breaching", "notBreaching", "ignore", "missing"), reg.name
        assert "Do: " in inputs["alarmDescription"] and "Runbook: docs/alarms.md#" in inputs["alarmDescription"]
        assert inputs["name"] == reg.name  # fixed names: the composite rule and runbook refer to them


def test_paging_alarms_notify_on_alarm_and_ok_and_idle_gpus_are_advisory_outside_prod():
    built = construct(make_args())
    topic = next(iter(built.of_type("aws:sns/topic:Topic"))).outputs["arn"]
    paging = {
        "5xx-rate",
        "p99-latency",
        "unhealthy-hosts",
        "no-healthy-hosts",
        "tasks-below-desired",
        "gpu-pool-below-min",
    }
    for key in paging:
        inputs = built.alarm(key).inputs
        assert inputs["alarmActions"] == [topic] and inputs["okActions"] == [topic], key
    high = built.alarm("gpu-utilization-high").inputs
    assert high["alarmActions"] == [topic] and not high.get("okActions")
    low = built.alarm("gpu-utilization-low").inputs
    assert not low.get("alarmActions") and not low.get("okActions")  # dev idles by design

    prod_low = construct(make_args(environment="prod")).alarm("gpu-utilization-low").inputs
    assert len(prod_low["alarmActions"]) == 1 and not prod_low.get("okActions")


def test_composite_alarm_covers_the_user_facing_alarms_and_pages():
    built = construct(make_args())
    composite = built.of_type(COMPOSITE)[0].inputs
    names = re.findall(r'ALARM\("([^"]+)"\)', composite["alarmRule"])
    assert names == [
        "ds-test-alarms-5xx-rate",
        "ds-test-alarms-p99-latency",
        "ds-test-alarms-no-healthy-hosts",
        "ds-test-alarms-tasks-below-desired",
    ]
    declared = {r.inputs["name"] for r in built.of_type(METRIC_ALARM)}
    assert set(names) <= declared
    assert composite["alarmActions"] and composite["okActions"]


# -- topic -----------------------------------------------------------------------------------------


def test_created_topic_is_encrypted_with_the_stack_key_and_subscribes_emails():
    built = construct(make_args(topic=AlarmTopic(emails=("a@example.com", "b@example.com"))))
    (topic,) = built.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == KEY
    subscriptions = built.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs["endpoint"] for s in subscriptions) == ["a@example.com", "b@example.com"]
    assert {s.inputs["protocol"] for s in subscriptions} == {"email"}
    assert {s.inputs["topic"] for s in subscriptions} == {topic.outputs["arn"]}


def test_topic_policy_lets_only_this_accounts_alarms_and_rules_publish():
    built = construct(make_args())
    topic_arn = built.of_type("aws:sns/topic:Topic")[0].outputs["arn"]
    (policy,) = built.of_type("aws:sns/topicPolicy:TopicPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    alarms = statements["CloudWatchAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish" and alarms["Resource"] == topic_arn
    assert alarms["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{PLACEHOLDER_ACCOUNT}:alarm:ds-test-alarms-*"}
    }
    events = statements["EventBridgeRulesPublish"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert list(events["Condition"]) == ["ArnEquals"]
    assert sorted(events["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        r.outputs["arn"] for r in built.of_type(RULE)
    )
    assert statements["DenyPublishWithoutTls"]["Effect"] == "Deny"


def test_adopted_topic_creates_nothing_and_receives_every_action():
    built = construct(make_args(kms_key_arn=None, topic=AlarmTopic(arn=ADOPTED)))
    assert built.of_type("aws:sns/topic:Topic") == []
    assert built.of_type("aws:sns/topicPolicy:TopicPolicy") == []  # its owner manages who may publish
    assert built.alarm("5xx-rate").inputs["alarmActions"] == [ADOPTED]
    assert {t.inputs["arn"] for t in built.of_type(TARGET)} == {ADOPTED}


def test_skipped_topic_declares_alarms_without_actions_and_no_rules():
    built = construct(make_args(kms_key_arn=None, topic=AlarmTopic(skip=True)))
    assert built.of_type("aws:sns/topic:Topic") == []
    assert built.of_type(RULE) == [] and built.of_type(TARGET) == []
    assert all(not r.inputs.get("alarmActions") for r in built.of_type(METRIC_ALARM))
    assert built.component.topic_arn is None


def test_validation_reports_every_problem_at_once():
    bad = make_args(
        kms_key_arn=None,
        cluster_name=None,
        thresholds=AlarmThresholds(gpu_utilization_low_percent=95, error_rate_percent=0),
        topic=AlarmTopic(emails=("not-an-email",)),
    )
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        construct(bad)
    paths = {e["property_path"] for e in caught.value.errors}
    assert paths == {
        "kmsKeyArn",
        "serviceName",
        "thresholds.gpuUtilizationLowPercent",
        "thresholds.errorRatePercent",
        "topic.emails",
    }
    with pytest.raises(pulumi.InputPropertiesError, match="adopt a topic or skip"):
        construct(make_args(topic=AlarmTopic(arn=ADOPTED, skip=True)))


# -- capacity events -----------------------------------------------------------------------------


def test_launch_failures_are_filtered_to_this_asg_and_spot_rules_follow_spot():
    built = construct(make_args())
    patterns = {
        r.name.removeprefix("ds-test-alarms-"): json.loads(r.inputs["eventPattern"]) for r in built.of_type(RULE)
    }
    assert patterns["gpu-launch-failed"] == {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance Launch Unsuccessful"],
        "detail": {"AutoScalingGroupName": [ASG]},
    }
    assert patterns["spot-interruption"]["detail-type"] == ["EC2 Spot Instance Interruption Warning"]
    assert patterns["spot-rebalance"]["detail-type"] == ["EC2 Instance Rebalance Recommendation"]
    on_demand = construct(make_args(spot=False))
    assert [r.name for r in on_demand.of_type(RULE)] == ["ds-test-alarms-gpu-launch-failed"]


def test_event_messages_are_readable_text_built_from_declared_paths():
    built = construct(make_args())
    for target in built.of_type(TARGET):
        transformer = target.inputs["inputTransformer"]
        template = transformer["inputTemplate"]
        placeholders = set(re.findall(r"<([A-Za-z0-9_-]+)>", template))
        assert placeholders and placeholders <= set(transformer["inputPaths"]), target.name
        assert isinstance(json.loads(template), str)  # a JSON string: SNS sends it as plain text
        assert all(p.startswith("$.") for p in transformer["inputPaths"].values())


# -- API model validation (botocore) --------------------------------------------------------------

_SESSION = botocore.session.get_session()
CLOUDWATCH = _SESSION.get_service_model("cloudwatch")
EVENTS = _SESSION.get_service_model("events")

_ALARM_MEMBERS = {
    "name": "AlarmName",
    "alarmDescription": "AlarmDescription",
    "actionsEnabled": "ActionsEnabled",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
    "metricName": "MetricName",
    "namespace": "Namespace",
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "period": "Period",
    "unit": "Unit",
    "evaluationPeriods": "EvaluationPeriods",
    "datapointsToAlarm": "DatapointsToAlarm",
    "threshold": "Threshold",
    "comparisonOperator": "ComparisonOperator",
    "treatMissingData": "TreatMissingData",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
    "thresholdMetricId": "ThresholdMetricId",
}


def _dimensions(dims: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dims.items()]


def _tags(tags: dict[str, str] | None) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}


def put_metric_alarm_params(inputs: dict[str, Any]) -> dict[str, Any]:
    """Pulumi engine inputs of a MetricAlarm → PutMetricAlarm request parameters. An input this mapping
    does not know fails loudly, so a new property cannot slip past the validation."""
    params: dict[str, Any] = {}
    shape = CLOUDWATCH.operation_model("PutMetricAlarm").input_shape
    for key, value in inputs.items():
        if key in _ALARM_MEMBERS:
            params[_ALARM_MEMBERS[key]] = value
        elif key == "dimensions":
            params["Dimensions"] = _dimensions(value)
        elif key == "metricQueries":
            params["Metrics"] = [_metric_query(q) for q in value]
        elif key == "tags":
            params.update(_tags(value))
        else:
            raise KeyError(f"no PutMetricAlarm member mapped for input {key!r}")
    return _coerce(params, shape)


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    names = {
        "id": "Id",
        "expression": "Expression",
        "label": "Label",
        "returnData": "ReturnData",
        "period": "Period",
        "accountId": "AccountId",
    }
    out = {names[k]: v for k, v in query.items() if k != "metric"}
    if unknown := set(query) - set(names) - {"metric"}:
        raise KeyError(f"unmapped metric query inputs {unknown}")
    if "metric" in query:
        m = query["metric"]
        metric = {"Namespace": m["namespace"], "MetricName": m["metricName"]}
        if m.get("dimensions"):
            metric["Dimensions"] = _dimensions(m["dimensions"])
        out["MetricStat"] = {"Metric": metric, "Period": m["period"], "Stat": m["stat"]}
        if m.get("unit"):
            out["MetricStat"]["Unit"] = m["unit"]
    return out


def put_composite_alarm_params(inputs: dict[str, Any]) -> dict[str, Any]:
    names = {
        "alarmName": "AlarmName",
        "alarmRule": "AlarmRule",
        "alarmDescription": "AlarmDescription",
        "alarmActions": "AlarmActions",
        "okActions": "OKActions",
        "actionsEnabled": "ActionsEnabled",
        "insufficientDataActions": "InsufficientDataActions",
    }
    if unknown := set(inputs) - set(names) - {"tags"}:
        raise KeyError(f"unmapped composite alarm inputs {unknown}")
    return {**{names[k]: v for k, v in inputs.items() if k in names}, **_tags(inputs.get("tags"))}


def put_rule_params(inputs: dict[str, Any]) -> dict[str, Any]:
    names = {
        "name": "Name",
        "eventPattern": "EventPattern",
        "state": "State",
        "description": "Description",
        "scheduleExpression": "ScheduleExpression",
        "roleArn": "RoleArn",
        "eventBusName": "EventBusName",
    }
    if unknown := set(inputs) - set(names) - {"tags"}:
        raise KeyError(f"unmapped event rule inputs {unknown}")
    return {**{names[k]: v for k, v in inputs.items() if k in names}, **_tags(inputs.get("tags"))}


def put_targets_params(inputs: dict[str, Any]) -> dict[str, Any]:
    if unknown := set(inputs) - {"rule", "arn", "targetId", "inputTransformer", "eventBusName"}:
        raise KeyError(f"unmapped event target inputs {unknown}")
    target: dict[str, Any] = {"Id": inputs["targetId"], "Arn": inputs["arn"]}
    if transformer := inputs.get("inputTransformer"):
        target["InputTransformer"] = {
            "InputPathsMap": transformer["inputPaths"],
            "InputTemplate": transformer["inputTemplate"],
        }
    return {"Rule": inputs["rule"], "Targets": [target]}


# Values the API documents but the model leaves as free strings.
_PERCENTILE = re.compile(r"p(\d{1,2}(\.\d{1,2})?|100)")
_STATISTICS = set(CLOUDWATCH.shape_for("Statistic").enum)
_DOCUMENTED = {
    "TreatMissingData": lambda v: v in ("breaching", "notBreaching", "ignore", "missing"),
    "EvaluateLowSampleCountPercentile": lambda v: v in ("evaluate", "ignore"),
    "ExtendedStatistic": lambda v: _PERCENTILE.fullmatch(v) is not None,
    "Stat": lambda v: v in _STATISTICS or _PERCENTILE.fullmatch(v) is not None,
    "Id": lambda v: re.fullmatch(r"[a-z][A-Za-z0-9_]*", v) is not None,  # metric query ids only (see _walk)
}


def _coerce(value: Any, shape: Any) -> Any:
    """The engine carries every number as a float; the API wants integers where the model says so."""
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _coerce(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_coerce(v, shape.member) for v in value]
    if shape.type_name in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _walk(value: Any, shape: Any, path: str, member: str) -> list[str]:
    """What botocore's ParamValidator leaves out: enums, maximum lengths and sizes, patterns, documented values."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                problems += _walk(item, shape.members[key], f"{path}.{key}", key)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, at most {meta['max']}")
        for i, item in enumerate(value):
            problems += _walk(item, shape.member, f"{path}[{i}]", member)
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} entries, at most {meta['max']}")
        for key, item in value.items():
            problems += _walk(key, shape.key, f"{path} key", "")
            problems += _walk(item, shape.value, f"{path}[{key}]", "")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} characters, at most {meta['max']}")
        if "pattern" in meta and re.fullmatch(meta["pattern"], value) is None:
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
        check = _DOCUMENTED.get(member)
        if check and not check(value) and (member != "Id" or ".Metrics[" in path):
            problems.append(f"{path}: {value!r} is not a documented value")
    elif (
        shape.type_name in ("integer", "long", "double")
        and isinstance(value, int | float)
        and value > meta.get("max", value)
    ):
        problems.append(f"{path}: {value} above {meta['max']}")
    return problems


def api_problems(service: Any, operation: str, params: dict[str, Any]) -> list[str]:
    shape = service.operation_model(operation).input_shape
    params = _coerce(params, shape)
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    return problems + _walk(params, shape, operation, "")


def alarm_semantics(params: dict[str, Any]) -> list[str]:
    """PutMetricAlarm rules the API reference states in prose."""
    problems = []
    for required in ("EvaluationPeriods", "ComparisonOperator"):
        if required not in params:
            problems.append(f"{required} is required")
    kinds = [k for k in ("Statistic", "ExtendedStatistic", "Metrics") if k in params]
    if len(kinds) != 1:
        problems.append(f"exactly one of Statistic, ExtendedStatistic, Metrics; got {kinds}")
    periods = [params.get("Period")] + [
        q["MetricStat"]["Period"] for q in params.get("Metrics", []) if "MetricStat" in q
    ]
    for period in filter(None, periods):
        if period not in (10, 30) and period % 60:
            problems.append(f"period {period} must be 10, 30 or a multiple of 60")
        if period * params.get("EvaluationPeriods", 1) > 86400:
            problems.append("evaluation periods × period exceed one day")
    if params.get("DatapointsToAlarm", 0) > params.get("EvaluationPeriods", 0):
        problems.append("DatapointsToAlarm exceeds EvaluationPeriods")
    if metrics := params.get("Metrics"):
        if "Period" in params or "Namespace" in params or "MetricName" in params:
            problems.append("metric math alarms take no Period/Namespace/MetricName of their own")
        if sum(bool(q.get("ReturnData")) for q in metrics) != 1:
            problems.append("exactly one metric query must return data")
        ids = [q["Id"] for q in metrics]
        if len(set(ids)) != len(ids):
            problems.append(f"duplicate query ids {ids}")
        for q in metrics:
            if ("Expression" in q) == ("MetricStat" in q):
                problems.append(f"query {q['Id']} needs exactly one of Expression, MetricStat")
            for ref in re.findall(r"\b[a-z]\w*\b", q.get("Expression", "")):
                if ref not in ids:
                    problems.append(f"query {q['Id']} refers to unknown id {ref}")
    return problems


def _all_kinds_built() -> Built:
    return construct(make_args(gpu_pool_min_size=2, environment="prod"))


def test_every_alarm_is_a_valid_put_metric_alarm_request():
    built = _all_kinds_built()
    alarms = built.of_type(METRIC_ALARM)
    assert len(alarms) == 8
    for reg in alarms:
        params = put_metric_alarm_params(reg.inputs)
        problems = api_problems(CLOUDWATCH, "PutMetricAlarm", params) + alarm_semantics(params)
        assert problems == [], f"{reg.name}: {problems}"


def test_composite_alarm_is_a_valid_put_composite_alarm_request():
    built = _all_kinds_built()
    (composite,) = built.of_type(COMPOSITE)
    params = put_composite_alarm_params(composite.inputs)
    assert api_problems(CLOUDWATCH, "PutCompositeAlarm", params) == []


def test_rules_and_targets_are_valid_put_rule_and_put_targets_requests():
    built = _all_kinds_built()
    rules = built.of_type(RULE)
    assert len(rules) == 3
    for rule in rules:
        params = put_rule_params(rule.inputs)
        assert api_problems(EVENTS, "PutRule", params) == [], rule.name
        pattern = json.loads(params["EventPattern"])  # valid JSON …
        assert _pattern_problems(pattern) == [], rule.name  # … and a well-formed event pattern
    targets = built.of_type(TARGET)
    assert {t.inputs["rule"] for t in targets} == {r.inputs["name"] for r in rules}
    for target in targets:
        assert api_problems(EVENTS, "PutTargets", put_targets_params(target.inputs)) == [], target.name


def _pattern_problems(pattern: Any, path: str = "pattern") -> list[str]:
    """EventBridge patterns: objects all the way down, each leaf a non-empty array of values."""
    if not isinstance(pattern, dict) or not pattern:
        return [f"{path}: must be a non-empty object"]
    problems = []
    for key, value in pattern.items():
        if isinstance(value, dict):
            problems += _pattern_problems(value, f"{path}.{key}")
        elif not (isinstance(value, list) and value):
            problems.append(f"{path}.{key}: a leaf must be a non-empty array")
    return problems


def _valid_alarm_params() -> dict[str, Any]:
    return {
        "AlarmName": "x",
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "HealthyHostCount",
        "Statistic": "Minimum",
        "Period": 60,
        "EvaluationPeriods": 3,
        "Threshold": 1.0,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
    }


def _problems(params: dict[str, Any]) -> list[str]:
    return api_problems(CLOUDWATCH, "PutMetricAlarm", params) + alarm_semantics(params)


def test_the_validation_can_fail():
    assert _problems(_valid_alarm_params()) == []
    shape = CLOUDWATCH.operation_model("PutMetricAlarm").input_shape
    misspelt = {**_valid_alarm_params(), "Statistic": "Averge"}
    # botocore's ParamValidator alone accepts a misspelt enum value — hence the walk over the model.
    assert not ParamValidator().validate(misspelt, shape).has_errors()
    assert any("'Averge' is not one of" in p for p in _problems(misspelt))
    assert any("is not one of" in p for p in _problems({**_valid_alarm_params(), "ComparisonOperator": "GreaterThan"}))
    assert any("documented" in p for p in _problems({**_valid_alarm_params(), "TreatMissingData": "notbreaching"}))
    assert _problems({**_valid_alarm_params(), "Threshold": "1"})  # wrong type: ParamValidator's part
    assert _problems({**_valid_alarm_params(), "ExtendedStatistic": "p99"})  # both statistics at once
    no_return = {
        k: v for k, v in _valid_alarm_params().items() if k not in ("Namespace", "MetricName", "Statistic", "Period")
    }
    no_return["Metrics"] = [
        {
            "Id": "m1",
            "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"},
            "ReturnData": False,
        }
    ]
    assert any("return data" in p for p in _problems(no_return))
    no_return["Metrics"][0].update(Id="M1", ReturnData=True)  # query ids start with a lowercase letter
    assert any("'M1' is not a documented value" in p for p in _problems(no_return))
    assert _pattern_problems({"source": "aws.ec2"})  # leaves must be arrays
    assert api_problems(EVENTS, "PutRule", {"Name": "has space", "State": "ON"})  # pattern and enum


# -- CloudWatch agent config ------------------------------------------------------------------------


def test_agent_config_publishes_gpu_metrics_rolled_up_per_asg():
    config = cloudwatch_agent.cloudwatch_agent_config()
    metrics = config["metrics"]
    assert set(metrics["metrics_collected"]) == {"nvidia_gpu"}
    assert {"utilization_gpu", "memory_used", "memory_total"} <= set(
        metrics["metrics_collected"]["nvidia_gpu"]["measurement"]
    )
    assert metrics["append_dimensions"]["AutoScalingGroupName"] == "${aws:AutoScalingGroupName}"
    assert ["AutoScalingGroupName"] in metrics["aggregation_dimensions"]
    json.dumps(config)  # what the agent reads is JSON

    plain = cloudwatch_agent.cloudwatch_agent_config(asg_dimension=False)["metrics"]
    assert "AutoScalingGroupName" not in plain["append_dimensions"]
    assert ["AutoScalingGroupName"] not in plain["aggregation_dimensions"]
    with pytest.raises(ValueError):
        cloudwatch_agent.cloudwatch_agent_config(interval_seconds=45)


def test_agent_user_data_loads_the_config_from_ssm_or_an_inline_file():
    ssm = cloudwatch_agent.agent_user_data("/deepseek/dev/cwagent")
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:/deepseek/dev/cwagent" in ssm
    inline = cloudwatch_agent.agent_user_data()
    assert "<<'CWAGENT_EOF'" in inline  # quoted: the shell leaves ${aws:...} to the agent
    body = inline.split("<<'CWAGENT_EOF'\n", 1)[1].split("\nCWAGENT_EOF", 1)[0]
    assert json.loads(body) == cloudwatch_agent.cloudwatch_agent_config()
    assert f"-c file:{cloudwatch_agent.CONFIG_PATH}" in inline


def alarm_fires(alarm: dict[str, Any], minutes: list[float | None]) -> bool:
    """CloudWatch's M-out-of-N evaluation over one-minute datapoints (None = no datapoint), for
    LessThanThreshold alarms whose treatMissingData is breaching or notBreaching (CloudWatch user guide,
    "Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data")."""
    assert alarm["comparisonOperator"] == "LessThanThreshold" and alarm["period"] == 60
    missing_breaches = {"breaching": True, "notBreaching": False}[alarm["treatMissingData"]]
    n = int(alarm["evaluationPeriods"])
    m = int(alarm.get("datapointsToAlarm", n))
    flags = [missing_breaches if v is None else v < alarm["threshold"] for v in minutes]
    return any(sum(flags[end - n : end]) >= m for end in range(n, len(flags) + 1))


def test_no_healthy_hosts_does_not_page_a_first_deploy_but_pages_an_outage():
    healthy = construct(make_args(min_replicas=1)).alarm("no-healthy-hosts").inputs
    # First deploy: 10 minutes before any target registers (no datapoints), then 15 minutes of a
    # registered replica loading the model (0 healthy), then healthy.
    first_deploy = [None] * 10 + [0] * 15 + [1] * 30
    assert not alarm_fires(healthy, first_deploy)
    # An outage after serving: 0 healthy targets for longer than a replica takes to start.
    outage = [1] * 30 + [0] * 25
    assert alarm_fires(healthy, outage)
    # the evaluator itself: the old settings (3 periods, missing = breaching) paged the first deploy
    assert alarm_fires(
        {**healthy, "evaluationPeriods": 3, "datapointsToAlarm": 3, "treatMissingData": "breaching"}, first_deploy
    )
