"""WeightsSync: a one-shot ECS task (Fargate, CPU) that copies one model revision from the Hugging Face
Hub into the model bucket's `<hf id>/<revision>` prefix. `make sync-weights STACK=…` starts it
(scripts/sync_weights.py) from the stack output `weightsSync` and waits for it.

It runs the serving image itself (huggingface_hub and boto3 are in it), with its entrypoint replaced by a
short Python program; the HF token comes from Secrets Manager, the bucket encrypts with the stack key.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import vllm
from components.shared.aws_scope import aws_scope
from components.shared.validation import ArgsProblems

CONTAINER_NAME = "sync"
# The sync runs like the server: as the image's vllm user (uid 2000) on a read-only root filesystem (policy
# rules ecs-non-root-user, ecs-read-only-root-filesystem: ECS.5). It writes only to a Fargate bind mount of the
# task's ephemeral storage at vllm.CACHE_ROOT, which the Dockerfile declares a VOLUME owned by that user: the
# ECS data plane copies a VOLUME path's contents to a bind mount at the same containerPath (ECS developer
# guide, "Use bind mounts with Amazon ECS", considerations); otherwise the mount is root-owned 0755
# (aws/containers-roadmap#938).
SCRATCH_VOLUME = "scratch"
WORKDIR = f"{vllm.CACHE_ROOT}/sync"  # the downloaded revision
# Fargate task sizes: 4 vCPU / 16 GiB is a valid pair (ECS developer guide, "Task CPU and memory").
CPU, MEMORY_MIB = 4096, 16384
EPHEMERAL_MIN_GIB, EPHEMERAL_MAX_GIB = 21, 200  # Fargate ephemeral storage range

# List the pinned revision's files, then download, upload and delete them one at a time: the scratch volume
# holds one file (a shard is a few GB) however large the revision is (R1/V3: 163 shards, ~685 GB). Files only the
# Hub keeps (.gitattributes, .cache/...) are skipped; the bucket's default SSE-KMS encrypts each object.
# tests/test_sync_weights.py runs this program against a loopback Hub and moto's S3.
SYNC_PROGRAM = """\
import os
for d in (os.environ["HOME"], os.environ["TMPDIR"], os.environ["WORKDIR"]):
    os.makedirs(d, exist_ok=True)  # on the scratch volume, before anything asks for a temporary directory
import boto3
from huggingface_hub import HfApi, hf_hub_download
repo, revision, work = os.environ["MODEL_ID"], os.environ["REVISION"], os.environ["WORKDIR"]
s3, bucket, prefix = boto3.client("s3"), os.environ["BUCKET"], os.environ["PREFIX"]
listed = HfApi().list_repo_files(repo, revision=revision)
names = [n for n in listed if not any(p.startswith(".") for p in n.split("/"))]
for name in names:
    path = hf_hub_download(repo, name, revision=revision, local_dir=work)
    s3.upload_file(path, bucket, prefix + "/" + name)
    os.remove(path)
print(f"synced {len(names)} files to s3://{bucket}/{prefix}")
"""


def sync_cache_env() -> dict[str, str]:
    """The server's cache locations (vllm.CACHE_ENV), with HOME and TMPDIR moved onto the scratch volume:
    Fargate has no tmpfs mounts (task definition parameters, linuxParameters.tmpfs: EC2 only)."""
    return {**vllm.CACHE_ENV, "HOME": f"{vllm.CACHE_ROOT}/home", "TMPDIR": f"{vllm.CACHE_ROOT}/tmp"}


def ephemeral_gib(weights_bytes: float) -> int:
    """The revision plus a quarter for the Hub's temporary files, within Fargate's range: the program holds one
    file at a time, so the 200 GiB ceiling still fits a 685 GB revision's largest shard."""
    needed = math.ceil(weights_bytes * 1.25 / 1024**3)
    return max(EPHEMERAL_MIN_GIB, min(EPHEMERAL_MAX_GIB, needed))


def container_definitions(
    image: str, hf_id: str, revision: str, bucket: str, prefix: str, hf_token_arn: str, log_group: str, region: str
) -> list[dict[str, Any]]:
    env = {"MODEL_ID": hf_id, "REVISION": revision, "BUCKET": bucket, "PREFIX": prefix, "WORKDIR": WORKDIR}
    return [
        {
            "name": CONTAINER_NAME,
            "image": image,
            "essential": True,
            "entryPoint": ["python3", "-c"],
            "command": [SYNC_PROGRAM],
            "user": vllm.CONTAINER_USER,
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": vllm.CACHE_ROOT, "readOnly": False}],
            "environment": [
                *({"name": k, "value": v} for k, v in env.items()),
                # HOME, HF_HOME and the other caches on the scratch volume; temporary files there too.
                *({"name": k, "value": v} for k, v in sync_cache_env().items()),
                {"name": "AWS_REGION", "value": region},
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
            ],
            "secrets": [{"name": "HF_TOKEN", "valueFrom": hf_token_arn}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "sync"},
            },
        }
    ]


@dataclass(frozen=True)
class WeightsSyncArgs:
    image: pulumi.Input[str] = ""  # digest-pinned serving image
    image_repository_arn: pulumi.Input[str] = ""  # "" when the image is not in ECR
    hf_id: str = ""
    revision: str = ""
    bucket_name: pulumi.Input[str] = ""
    prefix: str = ""
    weights_bytes: float = 0.0
    hf_token_secret_arn: pulumi.Input[str] = ""
    hf_token_grant_arn: pulumi.Input[str] = ""  # the ARN (pattern) the execution role may read
    kms_key_arn: pulumi.Input[str] = ""
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    log_group_name: str = ""
    log_retention_days: int = 30
    permissions_boundary_arn: str = ""
    protect: bool = False  # prod: the log group is protected and retained like the server's


class WeightsSync(pulumi.ComponentResource):
    task_definition_arn: pulumi.Output[str]
    task_role_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    ephemeral_storage_gib: int

    def __init__(self, name: str, args: WeightsSyncArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:ecs:WeightsSync", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        scope = aws_scope(self)
        region, account = scope.region, scope.account_id
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        trust = json.dumps(_trust(account, region))
        execution = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=trust,
            description="ECS agent for the weight sync: image pull, logs, the HF token",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        log_group_arn = f"arn:aws:logs:{region}:{account}:log-group:{args.log_group_name}"
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=execution.name,
            policy=pulumi.Output.all(args.hf_token_grant_arn, args.kms_key_arn, args.image_repository_arn).apply(
                lambda a: json.dumps(execution_policy(log_group_arn, a[0], a[1], region, a[2]))
            ),
            opts=child,
        )
        self.task_role = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=trust,
            description="The weight sync: writes one model revision into the model bucket",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Weight sync task: HTTPS out only (Hugging Face Hub, S3, ECR, Secrets Manager)",
            tags={"Name": f"{name}-sg"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Hugging Face Hub through NAT; S3 through the gateway endpoint",
            opts=child,
        )
        self.ephemeral_storage_gib = ephemeral_gib(args.weights_bytes)
        definitions = pulumi.Output.all(args.image, args.bucket_name, args.hf_token_secret_arn, log_group.name).apply(
            lambda a: json.dumps(
                container_definitions(a[0], args.hf_id, args.revision, a[1], args.prefix, a[2], a[3], region)
            )
        )
        task = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=name,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(CPU),
            memory=str(MEMORY_MIB),
            ephemeral_storage={"size_in_gib": self.ephemeral_storage_gib},
            volumes=[{"name": SCRATCH_VOLUME}],  # a bind mount of the ephemeral storage (no host path)
            execution_role_arn=execution.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=definitions,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            opts=child,
        )
        self.task_definition_arn = task.arn
        self.task_role_name = self.task_role.name
        self.security_group_id = sg.id
        self.register_outputs({"taskDefinitionArn": task.arn, "securityGroupId": sg.id})


def execution_policy(log_group_arn: str, secret_arn: str, kms_key_arn: str, region: str, repository_arn: str) -> dict:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteSyncLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:log-stream:*",
        },
        {"Sid": "ReadTheHfToken", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {
            "Sid": "DecryptTheTokenThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]
    if repository_arn:  # ECR decrypts KMS-encrypted layers through its own grant: no kms:Decrypt here
        statements += [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullTheImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repository_arn,
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _trust(account: str, region: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{region}:{account}:*"},
                },
            }
        ],
    }


def _validate(args: WeightsSyncArgs) -> None:
    problems = ArgsProblems("WeightsSync")
    problems.check(bool(re.match(r"^[0-9a-f]{40}$", args.revision)), "revision", "must be a 40-hex Hugging Face commit")
    problems.check(bool(args.log_group_name.startswith("/")), "logGroupName", "must be an explicit /path name")
    problems.raise_if_any()
