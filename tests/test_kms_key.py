"""StackKey: the stack's customer-managed key, its policy, protection, and adopting an existing key."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pulumi
import pytest

from offline.harness import run_program, shared_run

KEY = "aws:kms/key:Key"
ACCOUNT = "123456789012"  # the offline mocks' caller identity
SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def statements(policy: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_key_rotates_and_its_policy_names_exactly_the_services_that_use_it() -> None:
    run = shared_run("dev")
    key = run.one(KEY).inputs
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 7
    assert run.one(KEY).protect is False
    by_sid = statements(key["policy"])
    assert set(by_sid) == {
        "EnableIamPoliciesOfTheAccount",
        "AllowCloudWatchLogsForThisAccountsLogGroups",
        "AllowCloudWatchAlarmsToPublishToEncryptedTopics",
        "AllowEventBridgeToPublishToEncryptedTopics",
        "AllowAutoScalingServiceLinkedRoleUseOfTheKey",
        "AllowAutoScalingAttachmentOfPersistentResources",
    }
    assert by_sid["EnableIamPoliciesOfTheAccount"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    logs = by_sid["AllowCloudWatchLogsForThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"}
    }
    alarms = by_sid["AllowCloudWatchAlarmsToPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    events = by_sid["AllowEventBridgeToPublishToEncryptedTopics"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and "Condition" not in events
    use = by_sid["AllowAutoScalingServiceLinkedRoleUseOfTheKey"]
    assert use["Principal"] == {"AWS": SLR}
    assert set(use["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }
    grant = by_sid["AllowAutoScalingAttachmentOfPersistentResources"]
    assert (grant["Principal"], grant["Action"]) == ({"AWS": SLR}, "kms:CreateGrant")
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}
    [alias] = run.of_type("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/ds-dev-key"


def test_prod_key_is_protected_with_the_longest_deletion_window() -> None:
    run = shared_run("prod")
    assert run.one(KEY).protect is True
    assert run.one(KEY).inputs["deletionWindowInDays"] == 30


def test_region_follows_the_stack() -> None:
    run = run_program(
        "dev", overrides={"aws:region": "eu-west-1", "deepseek-cloud:gpuPool.instanceTypes": ["g5.2xlarge"]}
    )
    logs = statements(run.one(KEY).inputs["policy"])["AllowCloudWatchLogsForThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}


def _program(tmp_path: Path, args: str) -> Path:
    main = tmp_path / "main.py"
    main.write_text(
        textwrap.dedent(
            f"""
            import pulumi
            from components.shared.kms_key import StackKey, StackKeyArgs
            key = StackKey("adopted", StackKeyArgs({args}))
            pulumi.export("keyArn", key.key_arn)
            pulumi.export("keyId", key.key_id)
            """
        )
    )
    return main


def test_existing_key_is_adopted_not_created(tmp_path: Path) -> None:
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    run = run_program(config={"aws:region": "us-east-1"}, main=_program(tmp_path, f"existing_key_arn={arn!r}"))
    assert run.of_type(KEY) == [] and run.of_type("aws:kms/alias:Alias") == []
    assert (run.outputs["keyArn"], run.outputs["keyId"]) == (arn, "1234abcd-12ab-34cd-56ef-1234567890ab")


def test_bad_arguments_are_one_input_properties_error(tmp_path: Path) -> None:
    main = _program(tmp_path, "deletion_window_in_days=3, existing_key_arn='alias/not-an-arn'")
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run_program(config={"aws:region": "us-east-1"}, main=main)
    paths = {e["property_path"] for e in raised.value.errors}
    assert paths == {"deletionWindowInDays", "existingKeyArn"}
