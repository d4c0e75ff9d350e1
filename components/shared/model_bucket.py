"""ModelBucket: the stack's S3 bucket of model weights, one prefix per model revision (`<hf id>/<revision>`).

Encrypted with the stack key (SSE-KMS with an S3 Bucket Key), versioned, public access blocked, TLS only,
server access logs into the stack's access-log bucket. Replicas read one prefix through the VPC's S3
gateway endpoint (components/shared/network.py); `read_policy` is all a serving identity (ECS task role, EKS pod
role) gets: objects under that prefix, a listing limited to it, and decryption through S3 only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.aws_scope import aws_scope
from components.shared.s3 import private_bucket
from components.shared.validation import ArgsProblems

HF_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
REVISION = re.compile(r"^[0-9a-f]{40}$")  # a Hugging Face commit hash: immutable, unlike a branch name


def model_prefix(hf_id: str, revision: str) -> str:
    return f"{hf_id}/{revision}"


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def read_policy(bucket_arn: str, prefix: str, kms_key_arn: str, region: str) -> dict[str, Any]:
    """Read one model revision and nothing else (the Run:ai streamer lists the prefix, then ranges GETs)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheModelRevision",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
            {
                "Sid": "ListTheModelRevision",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
            },
            {
                "Sid": "DecryptThroughS3",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
        ],
    }


def write_policy(bucket_arn: str, prefix: str, kms_key_arn: str, region: str) -> dict[str, Any]:
    """What the one-shot sync needs: write (and re-read, for multipart) one revision's prefix."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteTheModelRevision",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
            {
                "Sid": "ListTheModelRevision",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
            },
            {
                "Sid": "EncryptThroughS3",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            },
        ],
    }


@dataclass(frozen=True)
class ModelBucketArgs:
    hf_id: str = ""
    revision: str = ""  # 40-hex Hugging Face commit
    kms_key_arn: pulumi.Input[str] = ""
    protect: bool = False  # prod: protected and retained (re-syncing 65+ GB is slow, not lossy)
    noncurrent_days: int = 30


class ModelBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    prefix: str
    model_uri: pulumi.Output[str]  # s3://<bucket>/<hf id>/<revision>

    def __init__(self, name: str, args: ModelBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:shared:ModelBucket", name, None, opts)
        _validate(args)
        self._name = name
        self._kms_key_arn = args.kms_key_arn
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-weights",
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self._bucket = bucket
        private_bucket(
            f"{name}-weights",
            bucket,
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": args.kms_key_arn,
                },
                # One data key per bucket, not per object: the streamer's many ranged GETs of a shard then
                # cost no KMS call each (S3 user guide, "Reducing the cost of SSE-KMS").
                "bucket_key_enabled": True,
            },
            child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-weights",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-replaced-weights",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-weights",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            opts=child,
        )
        self.prefix = model_prefix(args.hf_id, args.revision)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.model_uri = pulumi.Output.concat("s3://", bucket.bucket, "/", self.prefix)
        self.register_outputs({"bucketName": self.bucket_name, "modelUri": self.model_uri})

    def log_to(self, target_bucket: pulumi.Input[str], target_prefix: str) -> aws.s3.BucketLogging:
        """Server access logs into an existing access-log bucket (SSE-S3: S3 server access logging
        cannot deliver to an SSE-KMS default-encrypted bucket, S3 user guide "Enabling server access logging")."""
        return aws.s3.BucketLogging(
            f"{self._name}-weights",
            bucket=self._bucket.id,
            target_bucket=target_bucket,
            target_prefix=target_prefix,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def grant(self, name: str, role_name: pulumi.Input[str], write: bool = False) -> aws.iam.RolePolicy:
        """An inline policy on a role: read this revision (serving) or write it (the sync)."""
        region = aws_scope(self).region
        make = write_policy if write else read_policy
        return aws.iam.RolePolicy(
            name,
            role=role_name,
            policy=pulumi.Output.all(self.bucket_arn, self._kms_key_arn).apply(
                lambda a: json.dumps(make(a[0], self.prefix, a[1], region))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _validate(args: ModelBucketArgs) -> None:
    problems = ArgsProblems("ModelBucket")
    problems.check(bool(HF_ID.match(args.hf_id)), "hfId", "must be <owner>/<repo>")
    problems.check(bool(REVISION.match(args.revision)), "revision", "must be a 40-hex Hugging Face commit")
    problems.check(1 <= args.noncurrent_days <= 3650, "noncurrentDays", "must be 1-3650")
    problems.raise_if_any()
