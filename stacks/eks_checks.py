"""Config checks that only the EKS platform needs (called from stacks/config.py `load_stack`).

Same shape as every other check: one `Problem` per wrong value, all reported together before anything
is declared.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from stacks import aws_facts
from stacks.errors import Problem, allowed_list, did_you_mean
from stacks.versions import SUPPORTED_KUBERNETES_VERSIONS

OPEN = ipaddress.IPv4Network("0.0.0.0/0")


def eks_problems(sections: dict[str, Any], aws_known: bool) -> list[Problem]:
    """Every EKS-only problem; `aws_known`: the region resolved, so instance types can be looked up."""
    eks, pool = sections.get("eks"), sections.get("gpu_pool")
    if sections.get("platform") != "eks" or eks is None:
        return []
    p = _version_problems(eks) + _endpoint_problems(eks, sections.get("environment"))
    if pool is not None:
        p.extend(_pool_problems(pool))
    if aws_known:
        p.extend(_system_pool_problems(eks))
    return p


def eks_warnings(cfg: Any) -> list[str]:
    if cfg.platform != "eks":
        return []
    warnings = []
    if not cfg.eks.endpoint_public_access:
        warnings.append(
            "eks.endpointPublicAccess is false: the API server is reachable only from inside the VPC, so "
            "`pulumi up` (the Kubernetes provider) must run there (VPN, bastion or an in-VPC runner)"
        )
    return warnings


def _version_problems(eks: Any) -> list[Problem]:
    if eks.kubernetes_version in SUPPORTED_KUBERNETES_VERSIONS:
        return []
    return [
        Problem(
            "eks.kubernetesVersion",
            "unknown Kubernetes version (not offered with pinned add-ons and Karpenter here; stacks/versions.py)",
            eks.kubernetes_version,
            allowed_list(list(SUPPORTED_KUBERNETES_VERSIONS)),
            hint=did_you_mean(eks.kubernetes_version, list(SUPPORTED_KUBERNETES_VERSIONS)),
        )
    ]


def _endpoint_problems(eks: Any, environment: str | None) -> list[Problem]:
    cidrs = [str(c) for c in eks.public_access_cidrs]
    if not eks.endpoint_public_access:
        if cidrs:
            return [Problem("eks.publicAccessCidrs", "set while eks.endpointPublicAccess is false", cidrs, "[]")]
        return []
    if not cidrs:
        return [
            Problem(
                "eks.publicAccessCidrs",
                "public endpoint open to everyone: with no CIDR EKS admits 0.0.0.0/0",
                cidrs,
                "the CIDRs your deployers and CI come from, or eks.endpointPublicAccess false",
            )
        ]
    if environment == "prod" and any(c.prefixlen == 0 for c in eks.public_access_cidrs):
        return [
            Problem(
                "eks.publicAccessCidrs",
                "prod API server open to the internet (Security Hub EKS.1)",
                cidrs,
                "CIDRs narrower than /0, or eks.endpointPublicAccess false",
            )
        ]
    return []


def _pool_problems(pool: Any) -> list[Problem]:
    p: list[Problem] = []
    if pool.warm_pool.enabled:
        p.append(
            Problem(
                "gpuPool.warmPool.enabled",
                "warm pools are an EC2 Auto Scaling feature of the ECS pool; EKS GPU nodes come from Karpenter",
                True,
                "false on platform eks",
            )
        )
    if pool.min_size:
        p.append(
            Problem(
                "gpuPool.minSize",
                "Karpenter launches GPU nodes only for pending pods; keep replicas up with scaling.minReplicas",
                pool.min_size,
                "0 on eks",
            )
        )
    if pool.spot.on_demand_percentage_above_base_capacity not in (0, 100):
        p.append(
            Problem(
                "gpuPool.spot.onDemandPercentageAboveBaseCapacity",
                "Karpenter has no percentage split of spot and on-demand",
                pool.spot.on_demand_percentage_above_base_capacity,
                "0 (spot above the base) or 100 (on-demand) on eks",
            )
        )
    if pool.spot.spot_allocation_strategy != "price-capacity-optimized":
        p.append(
            Problem(
                "gpuPool.spot.spotAllocationStrategy",
                "Karpenter launches spot with price-capacity-optimized only",
                pool.spot.spot_allocation_strategy,
                "price-capacity-optimized on eks",
            )
        )
    return p


def _system_pool_problems(eks: Any) -> list[Problem]:
    name = eks.system_pool.instance_type
    facts = aws_facts.instance_type(name)
    path = "eks.systemPool.instanceType"
    if facts is None:
        return [Problem(path, "unknown instance type", name, "an x86_64 EC2 type such as m7i.large")]
    if facts.gpu is not None:
        return [
            Problem(path, f"a GPU type ({facts.describe_gpu()}) for system pods", name, "a CPU type such as m7i.large")
        ]
    if "x86_64" not in facts.architectures:
        return [
            Problem(
                path,
                f"is {facts.architectures[0]}; the system node group runs AL2023 x86_64",
                name,
                "an x86_64 type such as m7i.large",
            )
        ]
    return []
