"""The router's logs reach its metric filters on EKS (components/eks/router_logs.py): Fluent Bit from the pinned
aws-for-fluent-bit chart tails the router's containers only, on the router's nodes, into the router's log group,
with a role that may write there and nothing else; and the record it writes, built from the chart's own
configuration template (tests/data/charts) and Fluent Bit's parsers, is matched by the hybrid-eks metric
filters. Reads the shared runs of hybrid-eks and eks-dev only.

There is no offline CloudWatch: `matches` below evaluates the subset of the filter pattern syntax the router's
filters use (`{ $.a.b = "text" && $.c IS TRUE }`), as the CloudWatch Logs user guide defines it ("Using filter
patterns to match terms in JSON log events": `$.` selectors into nested objects, `=` on strings, `IS TRUE` /
`IS FALSE` on JSON booleans, `&&`); anything else raises, so an unknown pattern cannot pass by accident.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fnmatch
import io
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.eks import router as eks_router
from components.eks import router_logs
from components.eks.system_node_group import SYSTEM_LABEL
from components.shared import router_metrics
from offline.harness import engine_inputs, shared_run
from stacks import versions
from tests.test_eks_validation import unknown_value_keys

STACK = "hybrid-eks"
CHARTS = Path(__file__).resolve().parent / "data" / "charts"
VALUES = CHARTS / "aws-for-fluent-bit-0.2.0-values.yaml"
TEMPLATES = [
    CHARTS / "aws-for-fluent-bit-0.2.0-configmap.yaml.tpl",
    CHARTS / "aws-for-fluent-bit-0.2.0-daemonset.yaml.tpl",
]
HOOK = Path(__file__).resolve().parent.parent / "components" / "shared" / "deepseek_router.py"
# Fluent Bit v4.2.2 src/multiline/flb_ml_parser_cri.c FLB_ML_CRI_REGEX (Python's named-group syntax). The line
# it parses is containerd's CRI format: "<RFC 3339 nano time> <stream> <F|P> <line without its newline>"
# (containerd internal/cri/io/logger.go redirectLogs).
CRI = re.compile(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$")


# --- a CloudWatch filter pattern evaluator for the router's patterns -------------------------------------------


def select(record: Any, selector: str) -> Any:
    """`$.a.b` into nested JSON objects; KeyError when a step is missing."""
    if not selector.startswith("$."):
        raise ValueError(f"not a JSON selector: {selector}")
    for step in selector[2:].split("."):
        if not isinstance(record, dict) or step not in record:
            raise KeyError(selector)
        record = record[step]
    return record


TERM = re.compile(r'^(\$\.[\w.]+)\s+(?:=\s+"([^"*]*)"|IS (TRUE|FALSE))$')


def matches(pattern: str, message: str) -> bool:
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")) or "||" in body:
        raise ValueError(f"unsupported pattern: {pattern}")
    try:
        record = json.loads(message)
    except json.JSONDecodeError:
        return False  # a JSON pattern never matches a non-JSON event
    for term in body[1:-1].split("&&"):
        m = TERM.match(term.strip())
        if m is None:
            raise ValueError(f"unsupported term: {term!r}")
        selector, text, boolean = m.groups()
        try:
            value = select(record, selector)
        except KeyError:
            return False
        if boolean is not None:
            if value is not (boolean == "TRUE"):
                return False
        elif not isinstance(value, str) or value != text:
            return False
    return True


def test_the_evaluator_refuses_what_it_does_not_know_and_can_say_no():
    with pytest.raises(ValueError):
        matches('{ $.a = "x" || $.b = "y" }', "{}")
    with pytest.raises(ValueError):
        matches("{ $.latencyMs > 5 }", "{}")
    assert matches('{ $.a.b = "x" && $.c IS TRUE }', '{"a": {"b": "x"}, "c": true}')
    assert not matches('{ $.a.b = "x" && $.c IS TRUE }', '{"a": {"b": "x"}, "c": "true"}')
    assert not matches('{ $.a.b = "x" }', '{"a": "x"}')
    assert not matches('{ $.a = "x" }', "a = x")


# --- the record the agent writes, from the chart's configuration and Fluent Bit's source ----------------------


def hook_line(**kwargs: Any) -> str:
    """One line exactly as the hook prints it: its own `_emit`, loaded from its file. The LiteLLM base class
    it imports is not installed here; a bare class stands in for it (the hook only subclasses it)."""
    fake = types.ModuleType("litellm.integrations.custom_logger")
    fake.CustomLogger = type("CustomLogger", (), {})
    modules = {
        "litellm": types.ModuleType("litellm"),
        "litellm.integrations": types.ModuleType("x"),
        fake.__name__: fake,
    }
    routing = {
        "tiers": {"large": {"model": "deepseek-r1-distill-qwen-32b"}, "cpu": {"model": "deepseek-r1-distill-qwen-1.5b"}}
    }
    namespace: dict[str, Any] = {"__name__": "deepseek_router_under_test"}
    saved = {k: sys.modules.get(k) for k in modules}
    sys.modules.update(modules)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DEEPSEEK_ROUTING", json.dumps(routing))
            exec(compile(HOOK.read_text(), str(HOOK), "exec"), namespace)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    out = io.StringIO()
    start = dt.datetime(2026, 12, 1, 14, 0, 0)
    with contextlib.redirect_stdout(out):
        namespace["_emit"](kwargs["call"], start, start + dt.timedelta(milliseconds=412.5), ok=kwargs["ok"])
    (line,) = out.getvalue().splitlines()
    return line


def fallback_line() -> str:
    """The cpu tier was chosen, the large tier answered (the fallback the alarm counts)."""
    call = {
        "litellm_params": {
            "metadata": {
                "model_group": "deepseek-r1-distill-qwen-32b",
                "deepseek_tier": "cpu",
                "deepseek_rule": "model",
            }
        },
        "stream": False,
    }
    return hook_line(call=call, ok=True)


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


DIRECTIVE = re.compile(r"^\s+([\w.-]+)\s+\{\{\s*\.Values\.([\w.]+)\s*\}\}\s*$")


def fluent_bit_sections(values: dict) -> dict[str, dict[str, Any]]:
    """The chart's fluent-bit.conf sections that read a value: {"INPUT tail": {directive: value}, ...}, from its
    configmap.yaml template (a directive guarded by `if` is left out when its value is empty or false)."""
    sections: dict[str, dict[str, Any]] = {}
    current = None
    text = TEMPLATES[0].read_text()
    for line in text.splitlines():
        if line.strip() in ("[INPUT]", "[FILTER]", "[OUTPUT]"):
            current = [line.strip()[1:-1], {}]
            continue
        name = re.match(r"^\s+Name\s+(\w+)\s*$", line)
        if current is not None and name:
            sections[f"{current[0]} {name.group(1)}"] = current[1]
            continue
        m = DIRECTIVE.match(line)
        if current is None or m is None:
            continue
        value: Any = values
        for step in m.group(2).split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if value not in (None, "", False):
            current[1][m.group(1)] = value
    return sections


def shipped_message(values: dict, line: str, pod: str = "router-7d9f8c6b5-x2x9q") -> tuple[str, str]:
    """(log group, CloudWatch event message) for one router stdout line on a containerd node."""
    assert values["input"]["enabled"] and values["filter"]["enabled"] and values["cloudWatchLogs"]["enabled"]
    outputs = ("cloudWatch", "firehose", "kinesis", "kinesis_streams", "elasticsearch", "s3", "opensearch")
    assert not any(values[o]["enabled"] for o in outputs)  # one output: the router's group
    conf = fluent_bit_sections(values)
    tail, kube, out = conf["INPUT tail"], conf["FILTER kubernetes"], conf["OUTPUT cloudwatch_logs"]
    assert "cri" in [p.strip() for p in tail["multiline.parser"].split(",")]  # EKS AL2023 nodes run containerd
    file = f"/var/log/containers/{pod}_deepseek-serving_router-{'a' * 64}.log"
    assert fnmatch.fnmatch(file, tail["Path"])
    record: dict[str, Any] = CRI.match(f"2026-12-01T14:00:00.412500000Z stdout F {line}").groupdict()
    if str(kube.get("Merge_Log")).lower() == "on":  # plugins/filter_kubernetes/kubernetes.c pack_map_content
        try:
            merged = json.loads(record["log"])
        except json.JSONDecodeError:
            merged = None
        if isinstance(merged, dict):
            if str(kube.get("Keep_Log")).lower() == "off":
                del record["log"]
            if kube.get("Merge_Log_Key"):
                record[kube["Merge_Log_Key"]] = merged
            else:
                record.update(merged)
    record["kubernetes"] = {"pod_name": pod, "namespace_name": "deepseek-serving", "container_name": "router"}
    assert "log_key" not in out  # cloudwatch_api.c process_event: the whole record, as JSON
    return out["log_group_name"], json.dumps(record)


def release() -> dict:
    (rel,) = [
        engine_inputs(r)
        for r in shared_run(STACK).of_type("kubernetes:helm.sh/v3:Release")
        if r.name.endswith("-rtr-shipper-fluent-bit")
    ]
    return rel


def chart_values() -> dict:
    return deep_merge(yaml.safe_load(VALUES.read_text()), release()["values"])


def eks_filters() -> dict[str, dict]:
    return {
        f.name.rsplit("-", 1)[1]: engine_inputs(f)
        for f in shared_run(STACK).of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    }


def test_the_shipped_router_line_is_counted_by_every_metric_filter_of_hybrid_eks():
    group, message = shipped_message(chart_values(), fallback_line())
    assert group == "/aws/containerinsights/ds-hybrid-eks/application"
    event = json.loads(message)
    assert set(event) == {"time", "stream", "_p", "log_processed", "kubernetes"}
    filters = eks_filters()
    assert {k for k, f in filters.items() if matches(f["pattern"], message)} == {"requests", "latency", "fallbacks"}
    for f in filters.values():
        t = f["metricTransformation"]
        assert select(event, t["dimensions"]["Tier"]) == "large"  # the tier that answered
    assert select(event, filters["latency"]["metricTransformation"]["value"]) == 412.5
    # A failed attempt: the Errors filter, not Requests.
    call = {"litellm_params": {"metadata": {"model_group": "deepseek-r1-distill-qwen-1.5b"}}}
    _, failed = shipped_message(chart_values(), hook_line(call=call, ok=False))
    assert {k for k, f in filters.items() if matches(f["pattern"], failed)} == {"errors"}
    # The proxy's own lines (not JSON) are shipped as they are and counted by nothing.
    _, plain = shipped_message(chart_values(), 'INFO:     10.44.1.7:40312 - "POST /v1/chat/completions HTTP/1.1" 200')
    assert "log" in json.loads(plain) and not any(matches(f["pattern"], plain) for f in filters.values())


def test_the_filters_would_see_nothing_with_the_charts_defaults_or_the_ecs_shape():
    """What the values change: the chart's default Merge_Log_Key `data` (and an ECS-shaped filter) miss."""
    filters = eks_filters()
    defaults = deep_merge(yaml.safe_load(VALUES.read_text()), {"input": {"path": "/var/log/containers/*.log"}})
    _, message = shipped_message(defaults, fallback_line())
    assert "data" in json.loads(message)
    assert not any(matches(f["pattern"], message) for f in filters.values())
    _, ours = shipped_message(chart_values(), fallback_line())
    ecs = router_metrics.metric_filters(router_metrics.ECS_FIELDS)
    assert not any(matches(pattern, ours) for _, pattern, _ in ecs.values())
    assert matches(ecs["fallbacks"][1], fallback_line())  # the ECS filters read the bare line (awslogs)


# --- what is deployed, where, with which rights -------------------------------------------------------------------


def test_the_release_is_the_pinned_chart_and_sets_only_keys_the_chart_reads():
    rel = release()
    assert (rel["chart"], rel["version"], rel["repositoryOpts"]["repo"]) == (
        "aws-for-fluent-bit",
        "0.2.0",
        "https://aws.github.io/eks-charts",
    )
    assert (rel["namespace"], rel["name"]) == ("router-logs", "router-logs")
    # Keys in values.yaml, or read by the templates though commented out there (filter.extraFilters,
    # priorityClassName); the chart ships no values.schema.json (tests/data/charts/SOURCE).
    read = {m for t in TEMPLATES for m in re.findall(r"\.Values\.([\w.]+)", t.read_text())}
    unknown = [k for k in unknown_value_keys(rel["values"], yaml.safe_load(VALUES.read_text())) if k not in read]
    assert unknown == []
    assert unknown_value_keys({"filter": {"mergeLogKeys": "x"}}, yaml.safe_load(VALUES.read_text())) == [
        "filter.mergeLogKeys"
    ]


def test_it_tails_only_the_router_containers_on_the_routers_nodes():
    values = release()["values"]
    path = values["input"]["path"]
    assert path == "/var/log/containers/router-*_deepseek-serving_router-*.log"
    cid = "b" * 64
    assert fnmatch.fnmatch(f"/var/log/containers/router-7d9f8c6b5-x2x9q_deepseek-serving_router-{cid}.log", path)
    for other in (
        f"vllm-cpu-6c7d8-abcde_deepseek-serving_vllm-{cid}.log",
        f"router-7d9f8c6b5-x2x9q_other_router-{cid}.log",
        f"keda-operator-1_keda_keda-operator-{cid}.log",
    ):
        assert not fnmatch.fnmatch(f"/var/log/containers/{other}", path)
    deploy = next(
        engine_inputs(r)
        for r in shared_run(STACK).of_type("kubernetes:apps/v1:Deployment")
        if engine_inputs(r)["metadata"]["name"] == eks_router.NAME
    )
    assert deploy["spec"]["template"]["spec"]["nodeSelector"] == values["nodeSelector"] == dict([SYSTEM_LABEL])
    assert values["priorityClassName"] == "system-node-critical"
    assert values["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    sc = values["containerSecurityContext"]
    assert (sc["allowPrivilegeEscalation"], sc["readOnlyRootFilesystem"], sc["capabilities"]) == (
        False,
        True,
        {"drop": ["ALL"]},
    )
    assert values["volumes"] == [{"name": "varlog", "hostPath": {"path": "/var/log"}}]
    (ns,) = [
        engine_inputs(r)
        for r in shared_run(STACK).of_type("kubernetes:core/v1:Namespace")
        if engine_inputs(r)["metadata"]["name"] == router_logs.NAMESPACE
    ]
    assert ns["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "privileged"}


def test_its_role_may_only_write_streams_of_the_routers_log_group():
    run = shared_run(STACK)
    (group,) = [g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if "containerinsights" in g.inputs["name"]]
    arn = group.outputs["arn"]
    (policy,) = [
        json.loads(p.inputs["policy"])
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith("-rtr-shipper-writer")
    ]
    assert policy["Statement"] == [
        {
            "Sid": "ShipRouterLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [arn, f"{arn}:log-stream:*"],
        }
    ]
    (assoc,) = [
        a.inputs
        for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.name.endswith("-rtr-shipper-writer")
    ]
    values = release()["values"]
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("router-logs", values["serviceAccount"]["name"])
    assert values["cloudWatchLogs"]["autoCreateGroup"] is False  # no CreateLogGroup call
    # Encrypted with the stack key, whose policy lets CloudWatch Logs use it for this group (components/shared/
    # kms_key.py): the writer needs no KMS permission of its own.
    (key,) = run.of_type("aws:kms/key:Key")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    (logs,) = [s for s in json.loads(key.inputs["policy"])["Statement"] if "logs." in str(s["Principal"])]
    assert "kms:GenerateDataKey*" in logs["Action"]
    assert fnmatch.fnmatch(arn, logs["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"])


def test_only_tiered_eks_stacks_ship_router_logs():
    assert not [r for r in shared_run("eks-dev").of_type("kubernetes:helm.sh/v3:Release") if "shipper" in r.name]
    assert release()["version"] == versions.FLUENT_BIT_VERSION
