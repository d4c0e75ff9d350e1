"""What every bucket the stacks create carries (pure helper, no component of its own: the resources keep
their caller's parent and names, so their URNs are the ones they always had)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


def private_bucket(name: str, bucket: aws.s3.Bucket, encryption: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
    """Public access blocked, ACLs off (the account owns every object), default encryption, versioning.
    `encryption` is one rule of BucketServerSideEncryptionConfiguration."""
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, rules=[encryption], opts=opts)
    aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts)
