"""The EKS platform (part 1): the stack key, the cluster with its system nodes, Karpenter and the GPU
NodePools, translated from the validated stack context into component arguments. The vLLM workload, its
load balancer binding and autoscaling come with issue 12 (this builder then returns a ServingEndpoint)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.ecs.capacity import root_volume_gib  # node disk: image + weights, the same on EKS
from components.eks.cluster import EksCluster, EksClusterArgs
from components.eks.gpu_capacity import GpuCapacity, GpuCapacityArgs
from components.eks.karpenter import Karpenter, KarpenterArgs
from components.eks.system_node_group import SystemNodeGroupArgs
from components.shared.kms_key import StackKey, StackKeyArgs
from components.shared.network import Network
from stacks import versions
from stacks.config import StackContext
from stacks.ecs import LOG_RETENTION_DAYS, build_flow_logs, weights_bytes

K8S_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
SERVING_NAMESPACE = "deepseek-serving"


def deployer_arn() -> str:
    """The IAM role (or user) running `pulumi up`: an assumed-role session resolves to its role."""
    identity = aws.get_caller_identity()
    return aws.iam.get_session_context(arn=identity.arn).issuer_arn


def build_eks(ctx: StackContext, network: Network) -> dict[str, Any]:
    """Declare the EKS platform; return its stack outputs."""
    cfg = ctx.config
    key = StackKey(
        f"{ctx.short_name}-key",
        StackKeyArgs(deletion_window_in_days=30 if ctx.is_prod else 7, protect=ctx.is_prod),
    )
    build_flow_logs(ctx, network, key)
    cluster = build_cluster(ctx, network, key)
    karpenter = Karpenter(f"{ctx.short_name}-karpenter", karpenter_args(ctx, cluster, key), cluster.provider)
    gpu = GpuCapacity(
        f"{ctx.short_name}-gpu",
        gpu_capacity_args(ctx, network, cluster, karpenter, key),
        cluster.provider,
        # The NodePool and EC2NodeClass kinds exist only once the chart has installed Karpenter's CRDs.
        opts=pulumi.ResourceOptions(depends_on=[karpenter.release]),
    )
    k8s.core.v1.Namespace(
        f"{ctx.short_name}-serving-ns",
        metadata={
            "name": SERVING_NAMESPACE,
            # Pod Security Admission: the vLLM pods (issue 12) must meet "baseline"; "restricted" is reported.
            "labels": {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )
    return {
        "clusterName": cluster.cluster_name,
        "clusterEndpoint": cluster.endpoint,
        "karpenterNodeRoleName": karpenter.node_role_name,
        "interruptionQueueName": karpenter.queue_name,
        "gpuNodePools": list(gpu.node_pool_names),
        "servingNamespace": SERVING_NAMESPACE,
        "versions": versions.as_plan(cfg.eks.kubernetes_version),
    }


def build_cluster(ctx: StackContext, network: Network, key: StackKey) -> EksCluster:
    eks = ctx.config.eks
    admins = [deployer_arn()]
    if eks.admin_role_arn and eks.admin_role_arn not in admins:
        admins.append(eks.admin_role_arn)
    return EksCluster(
        f"{ctx.short_name}-eks",
        EksClusterArgs(
            cluster_name=ctx.short_name,
            kubernetes_version=eks.kubernetes_version,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            kms_key_arn=key.key_arn,
            endpoint_public_access=eks.endpoint_public_access,
            public_access_cidrs=tuple(str(c) for c in eks.public_access_cidrs),
            admin_principal_arns=tuple(admins),
            addon_versions=versions.ADDON_VERSIONS[eks.kubernetes_version].by_name(),
            system_nodes=SystemNodeGroupArgs(instance_type=eks.system_pool.instance_type, size=eks.system_pool.size),
            log_retention_days=LOG_RETENTION_DAYS[ctx.config.environment],
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
            protect=ctx.is_prod,
        ),
    )


def karpenter_args(ctx: StackContext, cluster: EksCluster, key: StackKey) -> KarpenterArgs:
    return KarpenterArgs(
        cluster_name=ctx.short_name,
        cluster_endpoint=cluster.endpoint,
        region=ctx.region,
        account_id=aws.get_caller_identity().account_id,
        partition=aws.get_partition().partition,
        kms_key_arn=key.key_arn,
        chart=versions.KARPENTER_CHART,
        chart_version=versions.KARPENTER_VERSION,
        replicas=min(2, ctx.config.eks.system_pool.size),  # its anti-affinity wants one node per replica
        permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
    )


def gpu_capacity_args(
    ctx: StackContext, network: Network, cluster: EksCluster, karpenter: Karpenter, key: StackKey
) -> GpuCapacityArgs:
    pool = ctx.config.gpu_pool
    return GpuCapacityArgs(
        instance_types=tuple(pool.instance_types),
        architecture=K8S_ARCH[ctx.instances[0].architectures[0]],
        max_gpus_per_instance=max(f.gpu.count for f in ctx.instances if f.gpu),
        max_size=pool.max_size,
        spot=pool.spot.enabled,
        on_demand_above_base=pool.spot.on_demand_percentage_above_base_capacity == 100,
        on_demand_base=pool.spot.on_demand_base_capacity,
        node_role_name=karpenter.node_role_name,
        subnet_ids=network.private_subnet_ids,
        security_group_ids=(cluster.cluster_security_group_id,),
        kms_key_arn=key.key_arn,
        ami_alias=versions.ami_alias(),
        root_volume_gib=pool.root_volume_gib or root_volume_gib(weights_bytes(ctx)),
        device_plugin_chart=versions.DEVICE_PLUGIN_CHART,
        device_plugin_repo=versions.DEVICE_PLUGIN_REPO,
        device_plugin_version=versions.DEVICE_PLUGIN_VERSION,
        tags=dict(ctx.tags),
    )
