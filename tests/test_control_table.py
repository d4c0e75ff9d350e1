"""The control table (policy/deepseek_policies/controls.yaml) covers what the stacks declare, agrees with
the pack, and is what README.md shows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from offline.harness import platform_stacks, run_program, shared_run, stack_names
from offline.policy_bridge import waivers_relied_on

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "policy") not in sys.path:
    sys.path.insert(0, str(ROOT / "policy"))

from deepseek_policies import ALL_POLICIES, POLICIES_BY_NAME, controls  # noqa: E402
from deepseek_policies.common import CIS, FSBP, NIST  # noqa: E402

ENVS = controls.ENVIRONMENTS


def planned_types(stack: str) -> set[str]:
    return {r.type for r in shared_run(stack).registrations if r.custom}


@pytest.mark.parametrize("stack", stack_names())
def test_every_planned_type_is_mapped_and_every_applicable_control_has_a_row(stack):
    applying, unmapped = controls.applicable(planned_types(stack))
    assert unmapped == [], "add these types to resource_types in controls.yaml (with their controls)"
    rows = controls.by_id()
    assert sorted(set(applying) - set(rows)) == []
    assert "EC2.6" in applying
    if stack in platform_stacks("ecs"):
        assert "ELB.17" in applying and "SecretsManager.1" in applying
    else:  # EKS: the cluster, the interruption queue, and the GPU instances through the EC2NodeClass
        assert {"EKS.1", "EKS.2", "EKS.3", "EKS.8", "SQS.1", "SQS.3"} <= set(applying)
        assert applying["EC2.8"] == [
            "aws:ec2/launchTemplate:LaunchTemplate",
            "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        ]


def test_a_new_type_or_a_control_without_a_row_fails_the_coverage_check():
    _applying, unmapped = controls.applicable(["aws:sfn/stateMachine:StateMachine"])
    assert unmapped == ["aws:sfn/stateMachine:StateMachine"]
    applying, _ = controls.applicable(["aws:lb/targetGroup:TargetGroup"])
    assert sorted(applying) == ["ELB.21", "ELB.22"]  # from ELB.21/.22's Resource type field


def test_every_control_is_enforced_or_waived_in_every_environment():
    for c in controls.controls():
        for rule in c.rules:
            assert rule in POLICIES_BY_NAME, f"{c.id}: unknown rule {rule}"
        for w in c.waivers:
            assert w.reason.strip() and set(w.scope) <= set(ENVS) and w.scope, c.id
        for env in ENVS:
            assert c.rules or c.waiver_for(env), f"{c.id} is neither enforced nor waived in {env}"


def test_applicability_and_rows_agree_and_cite_their_page():
    rows = controls.by_id()
    for cfn_type, ids in controls.raw()["applicability"].items():
        for control_id in ids:
            assert control_id in rows, control_id
            assert cfn_type in rows[control_id].resource_types
    for c in controls.controls():
        if "." in c.id:  # Security Hub controls (not CWL-KMS, SG-DESC, DS-*, Tagging)
            assert c.url and c.url.startswith("https://docs.aws.amazon.com/securityhub/latest/userguide/"), c.id


def test_every_rule_enforces_a_row_of_the_table():
    assert [p.name for p in ALL_POLICIES if controls.label(p.name) == "?"] == []


def test_rules_carry_their_controls_real_standard():
    def framework(name: str):
        return POLICIES_BY_NAME[name].framework

    assert framework("kms-key-rotation") is CIS  # KMS.4 is a CIS control, not FSBP
    assert framework("sns-topic-kms") is NIST  # SNS.1
    assert framework("s3-bucket-versioning") is NIST  # S3.14
    assert framework("s3-bucket-sse-kms") is NIST  # S3.17
    assert framework("elb-listener-tls-policy") is FSBP
    assert POLICIES_BY_NAME["kms-key-rotation"].description.startswith("KMS.4: ")
    assert controls.by_id()["KMS.4"].standard == "CIS"


def test_standards_follow_the_fsbp_standards_control_list():
    # "AWS Foundational Security Best Practices standard in Security Hub CSPM" lists EKS.3 and EC2.55-.60 and
    # neither EC2.53/.54 nor ELB.16 (read 2026-12-01; see the header of controls.yaml)
    rows = controls.by_id()
    assert POLICIES_BY_NAME["eks-secrets-encrypted"].framework is FSBP
    assert {i: rows[i].standard for i in ("EKS.3", "EC2.55", "EC2.56", "EC2.57", "EC2.58", "EC2.60")} == dict.fromkeys(
        ("EKS.3", "EC2.55", "EC2.56", "EC2.57", "EC2.58", "EC2.60"), "FSBP"
    )
    assert (rows["EC2.53"].standard, rows["EC2.54"].standard, rows["ELB.16"].standard) == ("CIS", "CIS", "NIST")
    assert POLICIES_BY_NAME["elb-waf-web-acl-prod"].framework is NIST


def test_tagging_and_iam27_controls_of_the_planned_types_have_rows():
    # EKS.6, SQS.2, SNS.3 and IAM.24 are in the AWS Resource Tagging standard; IAM.27's resource types include
    # AWS::IAM::Role (iam-controls.html#iam-27)
    applying, _ = controls.applicable(
        ["aws:eks/cluster:Cluster", "aws:sqs/queue:Queue", "aws:sns/topic:Topic", "aws:iam/role:Role"]
    )
    assert {"EKS.6", "SQS.2", "SNS.3", "IAM.24", "IAM.27"} <= set(applying)
    assert applying["IAM.27"] == ["aws:iam/role:Role"]
    rows = controls.by_id()
    for control_id in ("EKS.6", "SQS.2", "SNS.3", "IAM.24"):
        assert (rows[control_id].standard, rows[control_id].rules) == ("tagging", ("required-tags",))
    assert rows["IAM.27"].rules == ("iam-no-cloudshell-full-access-attachment",)
    assert controls.label("required-tags") == "Tagging/EKS.6/IAM.24/SNS.3/SQS.2"


def test_prod_enforces_what_dev_and_staging_waive():
    rows = controls.by_id()
    for control_id in ("ELB.6", "ELB.18", "CloudWatch.16", "AutoScaling.2", "AutoScaling.6"):
        c = rows[control_id]
        assert c.waiver_for("prod") is None and c.rules
        assert c.waiver_for("dev") and c.waiver_for("staging")
    levels = {p.name: p.enforcement_level.value for p in ALL_POLICIES}
    assert controls.level(rows["ECS.5"], "prod", levels) == "mandatory"
    assert POLICIES_BY_NAME["ecs-read-only-root-filesystem"].enforcement_level == EnforcementLevel.MANDATORY


def test_readme_shows_the_generated_tables():
    readme = (ROOT / "README.md").read_text()
    begin = readme.index(controls.README_BEGIN)
    end = readme.index(controls.README_END) + len(controls.README_END)
    assert readme[begin:end] == controls.readme_block(ALL_POLICIES), "run `make readme-controls`"


def test_prod_relies_on_the_stated_waivers_only():
    waived = {control for control, _standard, _reason in waivers_relied_on(shared_run("prod"), "prod")}
    assert {"SecretsManager.1", "SecretsManager.4", "S3.9", "EC2.17", "EC2.55", "ELB.21", "Lambda.3"} <= waived
    assert not waived & {"ELB.6", "ELB.17", "ELB.18", "ECS.5", "ECS.20", "EC2.6", "CloudWatch.16", "AutoScaling.2"}
    dev = {control for control, _s, _r in waivers_relied_on(shared_run("dev"), "dev")}
    assert {"ELB.6", "ELB.18", "CloudWatch.16"} <= dev


def test_make_policy_prints_the_waivers_it_relied_on(capsys):
    from offline.policy_check import main

    assert main(["--stack", "prod"], load=shared_run) == 0
    out = capsys.readouterr().out
    assert "waivers relied on (prod, " in out
    assert "  SecretsManager.1 (FSBP): Partly (the rule secretsmanager-rotation enforces the rest)" in out
    assert "  ELB.18" not in out


def test_an_adopted_vpc_declares_no_flow_log_and_fails_nothing():
    run = run_program(
        "dev",
        overrides={
            "deepseek-cloud:network.vpcId": "vpc-0123456789abcdef0",
            "deepseek-cloud:network.publicSubnetIds": ["subnet-0a", "subnet-0b"],
            "deepseek-cloud:network.privateSubnetIds": ["subnet-0c", "subnet-0d"],
        },
    )
    assert run.of_type("aws:ec2/flowLog:FlowLog") == []


def test_the_api_key_rotation_is_enforced_in_prod_with_the_third_party_token_as_the_stated_exception():
    levels = {p.name: (p.enforcement_level.value if p.enforcement_level else "mandatory") for p in ALL_POLICIES}
    rows = controls.by_id()
    for control_id in ("SecretsManager.1", "SecretsManager.4"):
        assert controls.level(rows[control_id], "prod", levels) == "mandatory, partly waived"
    assert controls.level(rows["ELB.6"], "dev", levels) == "waived"  # a whole-environment waiver stays one
    applying, _ = controls.applicable(planned_types("prod"))
    assert applying["Lambda.1"] == ["aws:lambda/function:Function", "aws:lambda/permission:Permission"]
    assert "SecretsManager.1" in applying and "Lambda.2" in applying
