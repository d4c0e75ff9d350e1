"""ApiKeyRotation: automatic rotation of the vLLM API-key secret an ECS ModelService creates (SecretsManager.1/.4).

  secret ── SecretRotation (every rotation_days) ──> rotation Lambda (lambdas/api_key_rotation/index.py)
             createSecret: new key (AWSPENDING) · testSecret · finishSecret: AWSCURRENT moves to it, the old
             key stays AWSPREVIOUS · then ecs:UpdateService forceNewDeployment

The tasks start with both stages (components/ecs/task.py passes `--api-key $CURRENT $PREVIOUS`), so a key
stays valid for one rotation period after it was replaced: that period is the clients' grace to re-read it.

Choices (each an AWS Lambda control in policy/deepseek_policies/controls.yaml):
- No VPC (Lambda.3 waived): the function calls only the Secrets Manager and ECS APIs, over TLS with SigV4.
  Inside the VPC it would need NAT or two interface endpoints in every AZ; it reaches no VPC resource.
- Reserved concurrency 1: Secrets Manager runs one rotation of a secret at a time; one slot keeps a stuck
  rotation from taking the account's concurrency and nothing else can invoke it (the only invoke permission
  is Secrets Manager's, for this account: Lambda.1).
- No dead-letter queue: Secrets Manager invokes the function synchronously, step by step, and records a
  failed step itself (rotation status, a RotationFailed event; SecretsManager.2), so there is no
  asynchronous event to keep; the function's own log group has each step.
- Environment encrypted with the stack key; logs to a KMS-encrypted group with the stack's retention.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.aws_scope import aws_scope
from components.shared.validation import ArgsProblems

CODE_DIR = Path(__file__).resolve().parent.parent.parent / "lambdas" / "api_key_rotation"
# A runtime in Lambda's supported list (Lambda.2): python3.13 is deprecated 2029-06-30 (Lambda developer
# guide, "Lambda runtimes", read 2026-12-01).
RUNTIME = "python3.13"
HANDLER = "index.lambda_handler"
TIMEOUT_SECONDS = 60  # each step makes at most five API calls
MAX_ROTATION_DAYS = 90  # SecretsManager.4's default maxDaysSinceRotation


@dataclass(frozen=True)
class ApiKeyRotationArgs:
    secret_arn: pulumi.Input[str] = ""
    cluster_arn: pulumi.Input[str] = ""
    service_name: pulumi.Input[str] = ""
    service_arn: pulumi.Input[str] = ""  # what ecs:UpdateService is granted on
    rotation_days: int = 30
    kms_key_arn: pulumi.Input[str] = ""  # the secret's key: environment and logs too
    function_name: str = ""
    log_group_name: str = ""  # the function logs here (logging_config), not to /aws/lambda/<name>
    log_retention_days: int = 30
    permissions_boundary_arn: str = ""
    protect: bool = False  # the log group (prod)


class ApiKeyRotation(pulumi.ComponentResource):
    function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ApiKeyRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:ApiKeyRotation", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        scope = aws_scope(self)
        account_id, region, partition = scope.account_id, scope.region, scope.partition
        log_group_name = args.log_group_name
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(lambda_trust_policy(account_id)),
            description="Rotates the vLLM API key and redeploys its ECS service",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"
        policy = pulumi.Output.all(args.secret_arn, args.service_arn, args.kms_key_arn).apply(
            lambda a: json.dumps(rotation_policy(a[0], a[1], a[2], log_group_arn, region))
        )
        role_policy = aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy, opts=child)
        function = aws.lambda_.Function(
            f"{name}-fn",
            name=args.function_name,
            description="Secrets Manager rotation of the vLLM API key (lambdas/api_key_rotation)",
            runtime=RUNTIME,
            handler=HANDLER,
            code=pulumi.AssetArchive({"index.py": pulumi.FileAsset(str(CODE_DIR / "index.py"))}),
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=128,
            reserved_concurrent_executions=1,
            kms_key_arn=args.kms_key_arn,
            environment={"variables": {"CLUSTER_ARN": args.cluster_arn, "SERVICE_NAME": args.service_name}},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        # Only Secrets Manager, for secrets of this account (Secrets Manager user guide, "Lambda rotation
        # functions": lambda add-permission --principal secretsmanager.amazonaws.com --source-account).
        invoke = aws.lambda_.Permission(
            f"{name}-invoke",
            function=function.name,
            action="lambda:InvokeFunction",
            principal="secretsmanager.amazonaws.com",
            source_account=account_id,
            opts=child,
        )
        aws.secretsmanager.SecretRotation(
            f"{name}-schedule",
            secret_id=args.secret_arn,
            rotation_lambda_arn=function.arn,
            rotation_rules={"automatically_after_days": args.rotation_days},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[invoke]),
        )
        self.function_arn = function.arn
        self.register_outputs({"functionArn": function.arn})


def lambda_trust_policy(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def rotation_policy(
    secret_arn: str, service_arn: str, kms_key_arn: str, log_group_arn: str, region: str
) -> dict[str, Any]:
    """The four steps on this one secret (the actions AWS's rotation template calls), the secret's key through
    Secrets Manager only, one forced deployment of one service, and its own log streams."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RotateThisSecret",
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                "Resource": secret_arn,
            },
            {
                "Sid": "UseTheSecretsKeyThroughSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
            {"Sid": "RedeployTheService", "Effect": "Allow", "Action": "ecs:UpdateService", "Resource": service_arn},
            {
                "Sid": "WriteItsLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            },
        ],
    }


def _validate(args: ApiKeyRotationArgs) -> None:
    problems = ArgsProblems("ApiKeyRotation")
    problems.check(
        1 <= args.rotation_days <= MAX_ROTATION_DAYS,
        "rotationDays",
        f"must be 1-{MAX_ROTATION_DAYS} (Security Hub SecretsManager.4)",
    )
    problems.check(
        bool(args.function_name) and len(args.function_name) <= 64,
        "functionName",
        "is required and at most 64 characters (Lambda)",
    )
    problems.check(
        bool(re.match(r"^[\w#./-]{1,512}$", args.log_group_name)),
        "logGroupName",
        "is required (CloudWatch Logs names: letters, digits and _-./#)",
    )
    problems.raise_if_any()
