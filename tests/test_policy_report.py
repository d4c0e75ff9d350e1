"""`deepseek_policies.report.check`: the direct (no gRPC) runner `make plan` / `make policy` call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import report, samples  # noqa: E402


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_compliant_stack_passes_in_every_environment(environment):
    result = report.check(samples.compliant_stack(environment), environment)
    assert result["passed"], report.format_text(result)
    assert result["mandatory"] == [] and result["advisory"] == []
    assert result["environment"] == environment


def test_broken_stack_is_grouped_by_enforcement_level():
    result = report.check(samples.broken_stack(), "prod")
    assert not result["passed"]
    mandatory = {(v["policy"], v["name"]) for v in result["mandatory"]}
    assert mandatory == set(samples.BROKEN_EXPECTED_MANDATORY.items())
    advisory = {(v["policy"], v["name"]) for v in result["advisory"]}
    assert advisory == set(samples.BROKEN_EXPECTED_ADVISORY.items())
    v = result["mandatory"][0]
    assert set(v) == {"policy", "level", "message", "description", "urn", "type", "name", "stage"}
    assert result["summary"]["mandatory"] == len(result["mandatory"])


def test_environment_argument_pins_environment_rules():
    stack = samples.compliant_stack("dev")
    # dev stack checked as prod: deletion protection, on-demand base capacity and HTTPS-only listeners apply
    failed = {v["policy"] for v in report.check(stack, "prod")["mandatory"]}
    assert failed == {"elb-deletion-protection-prod", "gpu-pool-prod-on-demand-base", "elb-listener-https-only-prod"}


def test_config_overrides_enforcement_levels_and_properties():
    stack = samples.broken_stack()
    assert report.check(stack, "prod", {"all": "advisory"})["passed"]
    promoted = report.check(stack, "prod", {"secretsmanager-secret-cmk": "mandatory"})
    assert "secretsmanager-secret-cmk" in {v["policy"] for v in promoted["mandatory"]}
    disabled = report.check(stack, "prod", {"gpu-pool-max-size": {"enforcementLevel": "disabled"}})
    assert "gpu-pool-max-size" not in disabled["summary"]["by_policy"]
    raised = report.check(stack, "prod", {"gpu-pool-max-size": {"maxSizeByEnvironment": {"prod": 64}}})
    assert "gpu-pool-max-size" not in raised["summary"]["by_policy"]
    with pytest.raises(ValueError, match="unknown policies"):
        report.check(stack, "prod", {"no-such-rule": "advisory"})
    with pytest.raises(ValueError):
        report.check(stack, "qa")


def test_unknown_inputs_from_a_dry_run_do_not_fail_rules():
    from pulumi.output import Unknown

    stack = samples.compliant_stack("dev")
    for r in stack:
        if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate":
            r["inputs"]["blockDeviceMappings"][0]["ebs"]["kmsKeyId"] = Unknown()
        if r["type"] == "aws:lb/targetGroup:TargetGroup":
            r["outputs"] = {}
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm":
            r["inputs"]["dimensions"]["TargetGroup"] = Unknown()
            r.pop("propertyDependencies")
    assert report.check(stack, "dev")["passed"]


def side_by_side(*commands: tuple[list[str], Path | None], timeout: float = 120) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv, cwd in commands
    ]
    try:
        streams = [proc.communicate(timeout=timeout) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()  # no-op once it has exited; stops the rest after a timeout
            proc.wait()
    return [
        subprocess.CompletedProcess(p.args, p.returncode, out, err)
        for p, (out, err) in zip(procs, streams, strict=True)
    ]


def test_cli_exit_codes(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"resources": samples.compliant_stack("dev")}))
    bad.write_text(json.dumps(samples.broken_stack()))
    script = POLICY_DIR / "deepseek_policies" / "report.py"
    ok, failed = side_by_side(  # two independent interpreters: run them at once
        ([sys.executable, str(script), str(good), "-e", "dev"], None),
        ([sys.executable, "-m", "deepseek_policies.report", str(bad), "-e", "prod", "--format", "json"], POLICY_DIR),
    )
    assert ok.returncode == 0, ok.stderr
    assert "PASSED" in ok.stdout
    assert failed.returncode == 1, failed.stderr
    by_policy = json.loads(failed.stdout)["summary"]["by_policy"]
    assert set(by_policy) == set(samples.BROKEN_EXPECTED_MANDATORY) | set(samples.BROKEN_EXPECTED_ADVISORY)
