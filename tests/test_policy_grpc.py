"""The pack driven the way the Pulumi engine drives it: `python -m pulumi.policy <engine> .` in policy/,
then Handshake / ConfigureStack / GetAnalyzerInfo / Configure / Analyze / AnalyzeStack over gRPC with
the analyzer protobufs shipped in `pulumi`. Every subprocess is bounded by timeouts and stopped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import ALL_POLICIES, PACK_NAME, samples  # noqa: E402
from deepseek_policies.grpc_client import PolicyPackProcess, analyze_resources  # noqa: E402

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    process = PolicyPackProcess(POLICY_DIR, stack="dev", start_timeout=TIMEOUT, rpc_timeout=TIMEOUT)
    try:
        process.start()
        yield process
    finally:
        proc = process.proc
        process.close()
        assert proc is None or proc.poll() is not None, "policy pack process still running"


def _names(violations, level=None):
    return {v["policy"] for v in violations if level is None or v["level"] == level}


def test_analyzer_info_lists_every_policy_with_levels_and_schemas(pack):
    info = pack.info
    assert info.name == PACK_NAME and info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == {p.name for p in ALL_POLICIES}
    assert by_name["gpu-pool-nonprod-spot"].enforcementLevel == analyzer_pb2.ADVISORY
    assert by_name["ec2-launch-template-imdsv2"].enforcementLevel == analyzer_pb2.MANDATORY
    assert by_name["ecr-lifecycle-policy"].policy_type == analyzer_pb2.POLICY_TYPE_STACK
    assert by_name["ec2-launch-template-imdsv2"].policy_type == analyzer_pb2.POLICY_TYPE_RESOURCE
    schema = json_format.MessageToDict(by_name["gpu-pool-max-size"].configSchema.properties)
    assert schema["maxSizeByEnvironment"]["default"] == {"dev": 4, "staging": 8, "prod": 32}
    assert by_name["elb-access-logs"].remediation_steps
    assert by_name["ec2-launch-template-imdsv2"].description.startswith("EC2.8/EC2.170:")
    plugin = pack.stub.GetPluginInfo(empty_pb2.Empty(), timeout=TIMEOUT)
    assert plugin.version


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_compliant_stack_has_no_mandatory_violations(pack, environment):
    violations = pack.analyze(samples.compliant_stack(environment), environment=environment)
    assert _names(violations, "mandatory") == set(), violations
    assert violations == []


def test_broken_stack_reports_the_expected_violations(pack):
    violations = pack.analyze(samples.broken_stack(), environment="prod")
    got = {(v["policy"], v["name"]) for v in violations if v["level"] == "mandatory"}
    assert got == set(samples.BROKEN_EXPECTED_MANDATORY.items())
    advisory = {(v["policy"], v["name"]) for v in violations if v["level"] == "advisory"}
    assert advisory == set(samples.BROKEN_EXPECTED_ADVISORY.items())
    stack_level = {v["policy"] for v in violations if v["stage"] == "stack"}
    assert {"ecr-lifecycle-policy", "s3-bucket-tls-only", "serving-endpoint-alarm"} <= stack_level
    imds = next(v for v in violations if v["policy"] == "ec2-launch-template-imdsv2")
    assert imds["message"] == "gpu-lt: metadataOptions.httpTokens is optional"
    assert imds["description"].startswith("EC2.8/EC2.170:") and "Remediation:" in imds["description"]


def test_environment_comes_from_tags_when_not_pinned(pack):
    # no environment argument: the broken stack's prod tags drive the prod-only rules
    assert "elb-deletion-protection-prod" in _names(pack.analyze(samples.broken_stack()), "mandatory")


def test_configure_overrides_enforcement_levels(pack):
    everything_advisory = pack.analyze(samples.broken_stack(), environment="prod", config={"all": "advisory"})
    assert _names(everything_advisory, "mandatory") == set()
    assert _names(everything_advisory, "advisory") >= set(samples.BROKEN_EXPECTED_MANDATORY)
    tuned = pack.analyze(
        samples.broken_stack(),
        environment="prod",
        config={
            "secretsmanager-secret-cmk": "mandatory",
            "kms-key-rotation": {"enforcementLevel": "disabled"},
            "gpu-pool-max-size": {"maxSizeByEnvironment": {"prod": 64}},
        },
    )
    assert "secretsmanager-secret-cmk" in _names(tuned, "mandatory")
    assert "kms-key-rotation" not in _names(tuned)
    assert "gpu-pool-max-size" not in _names(tuned)


def test_unknown_values_in_preview_neither_fail_nor_abort(pack):
    stack = samples.compliant_stack("dev")
    for r in stack:
        if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate":
            r["inputs"]["metadataOptions"]["httpTokens"] = UNKNOWN_STRING_VALUE
        if r["type"] == "aws:ecs/taskDefinition:TaskDefinition":
            r["inputs"]["containerDefinitions"] = UNKNOWN_STRING_VALUE
        if r["type"] == "aws:lb/targetGroup:TargetGroup":
            r["outputs"] = {"arnSuffix": UNKNOWN_STRING_VALUE}
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm":
            r["inputs"]["dimensions"]["TargetGroup"] = UNKNOWN_STRING_VALUE
            r.pop("propertyDependencies")
    violations = pack.analyze(stack, environment="dev")
    assert violations == []  # includes no "can't run policy ... during preview" advisories


def test_raw_analyze_rpc_with_struct_properties(pack):
    """One Analyze call built by hand, exactly as the engine sends it."""
    pack.configure(environment="dev")
    props = struct_pb2.Struct()
    props.update({"metadataOptions": {"httpTokens": "optional"}, "tags": samples.tags("dev")})
    response = pack.stub.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="aws:ec2/launchTemplate:LaunchTemplate",
            name="lt",
            urn="urn:pulumi:dev::deepseek-cloud::aws:ec2/launchTemplate:LaunchTemplate::lt",
            properties=props,
            options=analyzer_pb2.AnalyzerResourceOptions(),
        ),
        timeout=TIMEOUT,
    )
    names = {d.policyName for d in response.diagnostics}
    assert names == {"ec2-launch-template-imdsv2", "ec2-launch-template-ebs-encrypted-cmk"}
    assert all(d.policyPackName == PACK_NAME for d in response.diagnostics)


def test_analyze_resources_helper_starts_and_stops_its_own_pack():
    # One pack of its own (each costs a process start); compliant stacks are analyzed by the module's pack.
    broken = analyze_resources(samples.broken_stack(), environment="prod", timeout=TIMEOUT)
    assert _names(broken, "mandatory") == set(samples.BROKEN_EXPECTED_MANDATORY)
