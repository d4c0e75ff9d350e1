"""CpuCapacity: a CPU tier's own Karpenter NodePool + EC2NodeClass (stacks/tiers.py, capacity kind `cpu`).

Nodes come only for the tier's pending pods: the pool is tainted `deepseek.ai/tier=<tier>:NoSchedule` and
labelled `deepseek.ai/node-pool=tier-<tier>`, and only that tier's Deployment tolerates the taint and selects
the label, so nothing else lands on a c7i/m7i bought for the tier (and the tier lands nowhere else). The tier
config means the same as on ECS: instanceTypes → the instance-type requirement, maxSize → the node limit (and
vCPUs: maxSize × the most vCPUs any listed type has), spot → `karpenter.sh/capacity-type` spot or on-demand.
Disruption as the GPU pool (components/eks/gpu_capacity.py): a node goes only when empty, one at a time, so a
running replica never moves (it would reload its weights). The AMI alias is the GPU pool's pinned AL2023
release: Karpenter picks the standard (non-accelerated) variant for instance types without GPUs (Karpenter docs,
EC2NodeClass amiSelectorTerms alias: "the AMI is selected based on the instance type's requirements").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.eks.gpu_capacity import (
    NODECLASS_API,
    NODEPOOL_API,
    POOL_LABEL,
    _base_node_class_spec,
    disruption,
    node_requirements,
)
from components.shared.validation import ArgsProblems

TIER_TAINT_KEY = "deepseek.ai/tier"


def pool_name(tier: str) -> str:
    return f"tier-{tier}"


def taint(tier: str) -> dict[str, str]:
    return {"key": TIER_TAINT_KEY, "value": tier, "effect": "NoSchedule"}


@dataclass(frozen=True)
class CpuCapacityArgs:
    tier: str = ""
    instance_types: tuple[str, ...] = ()
    architecture: str = "amd64"
    max_vcpus_per_instance: int = 1
    max_size: int = 1
    spot: bool = False
    node_role_name: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    security_group_ids: tuple[pulumi.Input[str], ...] = ()
    kms_key_arn: pulumi.Input[str] = ""
    ami_alias: str = ""
    root_volume_gib: int = 100
    root_volume_throughput_mibps: int = 500
    root_volume_iops: int = 3000
    expire_after: str = "168h"
    consolidate_after: str = "10m"
    termination_grace_period: str = "1h"
    tags: dict[str, str] = field(default_factory=dict)


class CpuCapacity(pulumi.ComponentResource):
    node_pool_name: str

    def __init__(
        self, name: str, args: CpuCapacityArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:CpuCapacity", name, None, opts)
        _validate(args)
        kube = pulumi.ResourceOptions(parent=self, provider=provider)
        pool = pool_name(args.tier)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass",
            api_version=NODECLASS_API,
            kind="EC2NodeClass",
            metadata={"name": pool},
            spec=node_class_spec(args),
            opts=kube,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-pool",
            api_version=NODEPOOL_API,
            kind="NodePool",
            metadata={"name": pool},
            spec=pool_spec(args),
            opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[node_class])),
        )
        self.node_pool_name = pool
        self.register_outputs({"nodePool": pool})


def node_class_spec(args: CpuCapacityArgs) -> dict[str, Any]:
    return _base_node_class_spec(args, node_name=f"deepseek-{pool_name(args.tier)}-node")


def pool_spec(args: CpuCapacityArgs) -> dict[str, Any]:
    pool = pool_name(args.tier)
    return {
        "template": {
            "metadata": {"labels": {POOL_LABEL: pool}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool},
                "taints": [taint(args.tier)],
                "requirements": node_requirements(
                    args.instance_types, ["spot"] if args.spot else ["on-demand"], args.architecture
                ),
                "expireAfter": args.expire_after,
                "terminationGracePeriod": args.termination_grace_period,
            },
        },
        "disruption": disruption(args.consolidate_after),
        "limits": {"nodes": str(args.max_size), "cpu": str(args.max_size * args.max_vcpus_per_instance)},
    }  # fmt: skip


def _validate(args: CpuCapacityArgs) -> None:
    problems = ArgsProblems("CpuCapacity")
    problems.check(bool(args.tier), "tier", "the tier's name")
    problems.check(bool(args.instance_types), "instanceTypes", "at least one CPU instance type")
    problems.check(args.architecture in ("amd64", "arm64"), "architecture", "amd64 or arm64")
    problems.check(args.max_size >= 1, "maxSize", "at least 1")
    problems.check(args.max_vcpus_per_instance >= 1, "maxVcpusPerInstance", "at least 1")
    problems.check(
        args.ami_alias.startswith("al2023@v") and args.ami_alias[8:].isdigit(),
        "amiAlias",
        "al2023@vYYYYMMDD (a pinned AMI release, never @latest)",
    )
    problems.raise_if_any()
