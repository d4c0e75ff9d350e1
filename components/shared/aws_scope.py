"""Where a component deploys: the account, region and partition of the AWS provider it uses.

Components name ARNs, trust policies and endpoints after these three. Each used to ask for them itself
(`aws.get_caller_identity()`, `aws.get_region()`, `aws.get_partition()`: 26 of a prod program's 35
data-source calls, now 3 of 12), and most asked the default provider even when the component was given
another one. `aws_scope`
asks the provider the component actually uses (its own, else its parent's, else the default), once per
program run and provider; every later component reads the same answer. The invokes carry `parent=`, so a
provider passed to a component (`ResourceOptions(provider=...)`) is the one asked, as pulumi resolves it
for the component's children.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

_TOKEN = "aws:index/getRegion:getRegion"


@dataclass(frozen=True)
class AwsScope:
    account_id: str
    region: str
    partition: str
    caller_arn: str  # who runs the program: an assumed role's session ARN, an IAM user's ARN


# root stack resource (one per program run) -> provider (None: the default provider) -> its scope
_SCOPES: weakref.WeakKeyDictionary[pulumi.Resource, dict[int | None, AwsScope]] = weakref.WeakKeyDictionary()


def _ask(parent: pulumi.Resource | None) -> AwsScope:
    opts = pulumi.InvokeOptions(parent=parent) if parent is not None else None
    identity = aws.get_caller_identity(opts=opts)
    return AwsScope(
        account_id=identity.account_id,
        region=aws.get_region(opts=opts).region,
        partition=aws.get_partition(opts=opts).partition,
        caller_arn=identity.arn,
    )


def aws_scope(parent: pulumi.Resource | None = None) -> AwsScope:
    """The account, region and partition of the AWS provider `parent`'s children use (the default provider
    when `parent` is None or names none), looked up once per program run and provider."""
    root = pulumi.runtime.get_root_resource()
    if root is None:  # no program run to remember it for
        return _ask(parent)
    provider = parent.get_provider(_TOKEN) if parent is not None else None
    by_provider = _SCOPES.setdefault(root, {})
    key = id(provider) if provider is not None else None
    if key not in by_provider:
        by_provider[key] = _ask(parent)
    return by_provider[key]
