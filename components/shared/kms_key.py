"""StackKey: one customer-managed KMS key per stack (rotation on) — or an existing key adopted by ARN.

The key policy names exactly the AWS services that encrypt with it on the stack's behalf:
CloudWatch Logs (log groups), CloudWatch alarms and EventBridge (publishing to encrypted SNS topics)
and the EC2 Auto Scaling service-linked role (launching instances with CMK-encrypted EBS volumes).
Everyone else in the account is governed by IAM through the account-root statement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.aws_scope import aws_scope
from components.shared.validation import ArgsProblems

KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")
# Must exist before the key (KMS rejects policies naming absent principals): the stack checks it up front.
AUTOSCALING_SLR = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


@dataclass(frozen=True)
class StackKeyArgs:
    description: str = "deepseek-cloud stack key: logs, secrets, EBS volumes, alarm topics"
    deletion_window_in_days: int = 30  # KMS allows 7-30; the window is the only undo for a deleted key
    # The caller sets it in prod: destroying the key destroys every secret and volume under it. True also
    # retains the key when Pulumi deletes it (it is only scheduled for deletion by hand, never by the stack).
    protect: bool = False
    existing_key_arn: str = ""  # adopt a key someone else manages: nothing is created, its policy is theirs


class StackKey(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: str | None

    def __init__(self, name: str, args: StackKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:security:StackKey", name, None, opts)
        _validate(args)
        if args.existing_key_arn:
            self.key_arn = pulumi.Output.from_input(args.existing_key_arn)
            self.key_id = pulumi.Output.from_input(args.existing_key_arn.rsplit("/", 1)[1])
            self.alias_name = None
        else:
            scope = aws_scope(self)
            key = aws.kms.Key(
                f"{name}",
                description=args.description,
                enable_key_rotation=True,  # yearly rotation of the backing material (KMS.4)
                deletion_window_in_days=args.deletion_window_in_days,
                policy=json.dumps(key_policy(scope.account_id, scope.region, scope.partition)),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
            )
            self.alias_name = f"alias/{name}"
            aws.kms.Alias(
                f"{name}-alias",
                name=self.alias_name,
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.key_arn = key.arn
            self.key_id = key.key_id
        self.register_outputs({"keyArn": self.key_arn, "keyId": self.key_id})


def key_policy(account_id: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """The key policy: account administration through IAM, plus the service principals that use the key."""
    root = f"arn:{partition}:iam::{account_id}:root"
    autoscaling = f"arn:{partition}:iam::{account_id}:{AUTOSCALING_SLR}"
    topic_publish = ["kms:Decrypt", "kms:GenerateDataKey*"]
    log_groups = f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Without it nobody could manage the key: KMS rejects policies that lock the account out.
                "Sid": "EnableIamPoliciesOfTheAccount",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # CloudWatch Logs encrypts log groups with the key; the condition limits it to this
                # account's log groups in this region.
                "Sid": "AllowCloudWatchLogsForThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                # AWS's example also lists kms:Describe*, but DescribeKey carries no encryption context,
                # so under this condition it never matched; the context key is a string (StringLike).
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            },
            {
                # Alarms publish to KMS-encrypted SNS topics only with this grant (SNS developer guide,
                # "compatibility between event sources from AWS services and encrypted topics").
                "Sid": "AllowCloudWatchAlarmsToPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": topic_publish,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
            {
                # No aws:SourceAccount/SourceArn here: AWS documents that EventBridge's KMS requests do not
                # carry them, so such a condition would silently drop every event.
                "Sid": "AllowEventBridgeToPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": topic_publish,
                "Resource": "*",
            },
            {
                # EC2 Auto Scaling launches instances whose EBS volumes are encrypted with this key
                # ("Required AWS KMS key policy for use with encrypted volumes", EC2 Auto Scaling guide).
                "Sid": "AllowAutoScalingServiceLinkedRoleUseOfTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
            },
            {
                "Sid": "AllowAutoScalingAttachmentOfPersistentResources",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            },
        ],
    }


def _validate(args: StackKeyArgs) -> None:
    problems = ArgsProblems("StackKey")
    problems.check(7 <= args.deletion_window_in_days <= 30, "deletionWindowInDays", "KMS allows 7 to 30 days")
    problems.check(
        not args.existing_key_arn or bool(KEY_ARN.match(args.existing_key_arn)),
        "existingKeyArn",
        "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    )
    problems.raise_if_any()
