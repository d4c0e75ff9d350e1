"""GpuCapacity: Karpenter's GPU NodePool(s) + EC2NodeClass, and the NVIDIA device plugin that makes the
nodes advertise `nvidia.com/gpu`.

Nodes come only for pending pods that tolerate the `nvidia.com/gpu=true:NoSchedule` taint, so nothing
else lands on a GPU. The same `gpuPool` settings as ECS mean the same here:
- instanceTypes: the NodePool's `node.kubernetes.io/instance-type` requirement;
- maxSize: the NodePool limit, as nodes and as GPUs (maxSize × the most GPUs any listed type has);
- spot.enabled / onDemandPercentageAboveBaseCapacity 0 | 100: the `karpenter.sh/capacity-type` values;
- spot.onDemandBaseCapacity N ≥ 1: a second NodePool, on-demand only, limited to N nodes and weighted
  above the main one. Karpenter tries NodePools by descending weight and moves to the next once one's
  limits are reached, so the first N GPU nodes are on-demand and the rest come from the spot pool: the
  Auto Scaling group's "first N instances on-demand". As with the ASG, the floor is not a minimum: with no
  pod pending no node is kept, and a consolidated floor node is replaced by the floor pool first.
- rootVolumeGiB / the derived size: the EC2NodeClass root volume (gp3, throughput raised, stack key).

Disruption: GPU nodes are removed only when empty (`WhenEmpty`): never consolidated to move a running
replica (a move would cut generations and reload weights). Voluntary disruption (empty, drift after an
AMI bump, expiry) takes one node at a time (budget `nodes: "1"`), each drained with the pods' own grace
periods and PodDisruptionBudgets, within terminationGracePeriod. Spot interruptions arrive through the
interruption queue: Karpenter cordons and drains at the 2-minute notice and launches a replacement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.eks import efa
from components.shared.ebs import (
    GP3_MAX_IOPS,
    GP3_MAX_MIBPS,
    GP3_MIBPS_PER_IOPS,
    GP3_MIN_IOPS,
    GP3_MIN_MIBPS,
)
from components.shared.validation import ArgsProblems

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
POOL_LABEL = "deepseek.ai/node-pool"
GPU_POOL = "gpu"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
FLOOR_WEIGHT = 100
MAIN_WEIGHT = 10
GIB = 1024**3


@dataclass(frozen=True)
class GpuCapacityArgs:
    instance_types: tuple[str, ...] = ()
    architecture: str = "amd64"  # Kubernetes' name: amd64 | arm64
    max_gpus_per_instance: int = 1  # the most GPUs any listed type has
    max_size: int = 1  # GPU nodes at most, across every GPU NodePool
    spot: bool = True
    on_demand_above_base: bool = False  # onDemandPercentageAboveBaseCapacity 100: on-demand after the floor
    on_demand_base: int = 0  # the first N nodes on-demand (a weighted on-demand NodePool)
    node_role_name: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    security_group_ids: tuple[pulumi.Input[str], ...] = ()
    kms_key_arn: pulumi.Input[str] = ""
    ami_alias: str = ""  # al2023@vYYYYMMDD, never @latest
    root_volume_gib: int = 200
    root_volume_throughput_mibps: int = 500  # weights load from disk at this rate (gp3 baseline 125)
    root_volume_iops: int = 3000
    expire_after: str = "168h"  # no GPU node lives longer, a stuck one included
    consolidate_after: str = "10m"  # an empty node waits this long for the next replica before it goes
    termination_grace_period: str = "1h"  # a drain never takes longer than this (then pods are deleted)
    # Multi-node replicas (EKS LeaderWorkerSet): a cluster placement group for the nodes, and the AWS EFA device
    # plugin on these instance types (the pods' vpc.amazonaws.com/efa request makes Karpenter attach the EFA
    # interfaces: components/eks/efa.py). Empty: no EFA.
    cluster_placement: bool = False
    efa_instance_types: tuple[str, ...] = ()
    efa_plugin_chart: str = ""
    efa_plugin_repo: str = ""
    efa_plugin_version: str = ""
    device_plugin_chart: str = ""
    device_plugin_repo: str = ""
    device_plugin_version: str = ""
    tags: dict[str, str] = field(default_factory=dict)


class GpuCapacity(pulumi.ComponentResource):
    node_class_name: str
    node_pool_names: tuple[str, ...]

    def __init__(
        self,
        name: str,
        args: GpuCapacityArgs,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("deepseek:eks:GpuCapacity", name, None, opts)
        _validate(args)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        self.node_class_name = GPU_POOL
        placement = None
        if args.cluster_placement:
            # One group's nodes close together (NCCL pipeline traffic); EC2 user guide, "Cluster placement groups".
            placement = aws.ec2.PlacementGroup(
                f"{name}-placement", strategy="cluster", opts=pulumi.ResourceOptions(parent=self)
            ).name
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass",
            api_version=NODECLASS_API,
            kind="EC2NodeClass",
            metadata={"name": GPU_POOL},
            spec=node_class_spec(args, placement),
            opts=k8s_opts,
        )
        pools = node_pools(args)
        for pool_name, spec in pools.items():
            k8s.apiextensions.CustomResource(
                f"{name}-{pool_name}",
                api_version=NODEPOOL_API,
                kind="NodePool",
                metadata={"name": pool_name},
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[node_class]),
            )
        self.node_pool_names = tuple(pools)
        k8s.helm.v3.Release(
            f"{name}-device-plugin",
            name="nvidia-device-plugin",
            chart=args.device_plugin_chart,
            repository_opts={"repo": args.device_plugin_repo},
            version=args.device_plugin_version,
            namespace="kube-system",
            values=device_plugin_values(),
            opts=k8s_opts,
        )
        if args.efa_instance_types:
            k8s.helm.v3.Release(
                f"{name}-efa-device-plugin",
                name="aws-efa-k8s-device-plugin",
                chart=args.efa_plugin_chart,
                repository_opts={"repo": args.efa_plugin_repo},
                version=args.efa_plugin_version,
                namespace="kube-system",
                values=efa.device_plugin_values(
                    args.efa_instance_types,
                    {POOL_LABEL: GPU_POOL},
                    {"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"},
                ),
                opts=k8s_opts,
            )
        self.register_outputs({"nodePools": list(self.node_pool_names), "nodeClass": self.node_class_name})


def node_class_spec(args: GpuCapacityArgs, placement_group: pulumi.Input[str] | None = None) -> dict[str, Any]:
    spec = _base_node_class_spec(args)
    if placement_group is not None:
        spec["placementGroupSelector"] = {"name": placement_group}
    return spec


def _base_node_class_spec(args: Any, node_name: str = "deepseek-gpu-node") -> dict[str, Any]:
    """The EC2NodeClass every pool shares (`args`: GpuCapacityArgs or CpuCapacityArgs, the same node fields)."""
    return {
        "role": args.node_role_name,
        "amiSelectorTerms": [{"alias": args.ami_alias}],
        "subnetSelectorTerms": pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: [{"id": i} for i in ids]),
        "securityGroupSelectorTerms": [{"id": sg} for sg in args.security_group_ids],
        # Explicit, not left to the subnets' MapPublicIpOnLaunch (Security Hub EC2.9; policy rule
        # karpenter-nodeclass-no-public-ip): a GPU node never gets a public IPv4 address.
        "associatePublicIPAddress": False,
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,  # pods cannot reach the node role through IMDS
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",  # AL2023 root device
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{args.root_volume_gib}Gi",
                    "volumeType": "gp3",
                    "iops": args.root_volume_iops,
                    "throughput": args.root_volume_throughput_mibps,
                    "encrypted": True,
                    "kmsKeyID": args.kms_key_arn,
                    "deleteOnTermination": True,
                },
            }
        ],
        "detailedMonitoring": True,
        "tags": {**args.tags, "Name": node_name},
    }


def capacity_types(args: GpuCapacityArgs) -> list[str]:
    if not args.spot or args.on_demand_above_base:
        return ["on-demand"]
    return ["spot"]


def node_pools(args: GpuCapacityArgs) -> dict[str, dict[str, Any]]:
    """NodePool name -> spec: the main GPU pool, and the on-demand floor when there is one."""
    floor = args.on_demand_base if args.spot and not args.on_demand_above_base else 0
    pools = {GPU_POOL: pool_spec(args, capacity_types(args), args.max_size - floor, MAIN_WEIGHT if floor else None)}
    if floor:
        pools[f"{GPU_POOL}-on-demand-floor"] = pool_spec(args, ["on-demand"], floor, FLOOR_WEIGHT)
    return pools


def pool_spec(args: GpuCapacityArgs, capacity: list[str], nodes: int, weight: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": {POOL_LABEL: GPU_POOL}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": GPU_POOL},
                "taints": [GPU_TAINT],
                "requirements": node_requirements(args.instance_types, capacity, args.architecture),
                "expireAfter": args.expire_after,
                "terminationGracePeriod": args.termination_grace_period,
            },
        },
        "disruption": disruption(args.consolidate_after),
        "limits": {"nodes": str(nodes), "nvidia.com/gpu": str(nodes * args.max_gpus_per_instance)},
    }
    if weight is not None:
        spec["weight"] = weight
    return spec


def device_plugin_values() -> dict[str, Any]:
    """Only on GPU nodes: our pool label (the chart's default affinity wants Node Feature Discovery labels,
    which this cluster does not run) and the GPU taint tolerated."""
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [GPU_POOL]}]}
                    ]
                }
            }
        },
        "tolerations": [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }


def node_requirements(instance_types: Sequence[str], capacity_types: list[str], architecture: str) -> list[dict]:
    """A NodePool's scheduling requirements: the listed types, the capacity type(s), the architecture, Linux."""
    return [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(instance_types)},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity_types},
        {"key": "kubernetes.io/arch", "operator": "In", "values": [architecture]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
    ]


def disruption(consolidate_after: str) -> dict[str, Any]:
    """Empty nodes only, after `consolidate_after`, one node at a time: a node with a replica is never moved
    to save money (drift and expiry still replace nodes, one at a time)."""
    return {"consolidationPolicy": "WhenEmpty", "consolidateAfter": consolidate_after, "budgets": [{"nodes": "1"}]}


def _validate(args: GpuCapacityArgs) -> None:
    problems = ArgsProblems("GpuCapacity")
    problems.check(bool(args.instance_types), "instanceTypes", "at least one GPU instance type")
    problems.check(args.architecture in ("amd64", "arm64"), "architecture", "amd64 or arm64")
    problems.check(args.max_size >= 1, "maxSize", "at least 1")
    problems.check(0 <= args.on_demand_base <= args.max_size, "onDemandBase", "0 to maxSize")
    problems.check(args.max_gpus_per_instance >= 1, "maxGpusPerInstance", "at least 1")
    problems.check(
        args.ami_alias.startswith("al2023@v") and args.ami_alias[8:].isdigit(),
        "amiAlias",
        "al2023@vYYYYMMDD (a pinned AMI release, never @latest)",
    )
    problems.check(
        GP3_MIN_MIBPS <= args.root_volume_throughput_mibps <= GP3_MAX_MIBPS,
        "rootVolumeThroughputMibps",
        f"gp3 takes {GP3_MIN_MIBPS}-{GP3_MAX_MIBPS} MiB/s",
    )
    problems.check(
        GP3_MIN_IOPS <= args.root_volume_iops <= GP3_MAX_IOPS,
        "rootVolumeIops",
        f"gp3 takes {GP3_MIN_IOPS}-{GP3_MAX_IOPS} IOPS",
    )
    problems.check(
        args.root_volume_throughput_mibps <= args.root_volume_iops * GP3_MIBPS_PER_IOPS,
        "rootVolumeThroughputMibps",
        f"gp3 allows at most {GP3_MIBPS_PER_IOPS} MiB/s per provisioned IOPS",
    )
    problems.check(bool(args.device_plugin_version), "devicePluginVersion", "a pinned chart version")
    problems.check(
        not args.efa_instance_types or bool(args.efa_plugin_version), "efaPluginVersion", "a pinned chart version"
    )
    problems.check(
        set(args.efa_instance_types) <= set(args.instance_types), "efaInstanceTypes", "a subset of instanceTypes"
    )
    problems.raise_if_any()
