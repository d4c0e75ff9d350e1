"""Tiered serving on EKS (deepseek-cloud:tiers with platform eks): the same tiers and routing as on ECS
(stacks/tiers.py: one router spec; components/shared/router.py: one LiteLLM config generator), on Kubernetes:

  public ALB (/v1/* only) → router Deployment (components/eks/router.py, KEDA on the ALB's RequestCount)
  → each tier's ClusterIP Service (cluster-internal: no TargetGroupBinding, no load balancer of its own)
      default tier: the stack's vLLM workload on the GPU NodePool (stacks/eks.py)
      cpu tiers:    a vLLM CPU Deployment (the ECS CPU tier's image and vLLM args, components/shared/vllm.py) on the
                    tier's own tainted Karpenter NodePool (components/eks/cpu_capacity.py), KEDA on its request rate

Kept out of stacks/eks.py except for a few calls, so the single-tier EKS builder stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pulumi

from components.ecs.capacity import root_volume_gib
from components.eks import cpu_capacity
from components.eks.addons import Chart
from components.eks.autoscaling import QueueAutoscaling, QueueAutoscalingArgs
from components.eks.cpu_capacity import CpuCapacity, CpuCapacityArgs
from components.eks.model_server import EksModelServer, EksModelServerArgs
from components.eks.router import EksTierRouter, EksTierRouterArgs, service_url
from components.eks.router_logs import RouterLogs, RouterLogsArgs
from components.eks.system_node_group import SYSTEM_LABEL
from components.eks.workload import Workload
from components.shared import router
from components.shared.endpoint import Endpoint, EndpointArgs
from components.shared.kms_key import StackKey
from components.shared.model_secrets import ModelSecrets, ModelSecretsArgs
from components.shared.network import Network
from components.shared.vllm import VllmServer, estimate_startup_seconds
from stacks import versions
from stacks.config import StackContext
from stacks.ecs_tiers import CPU_IMAGE, LOG_RETENTION_DAYS
from stacks.tiers import Tier, key_env, router_spec

ROUTER_NAME = "router"
CPU_REQUEST_SHARE = 0.9  # of the instance's vCPUs: one replica per node (OpenMP binds every core it gets)
ROOT_VOLUME_THROUGHPUT = 500  # MiB/s, as the GPU pool's EC2NodeClass


def tiered(ctx: StackContext) -> bool:
    return ctx.config.tiers.enabled


def endpoint_overrides(ctx: StackContext) -> dict[str, Any]:
    """The public Endpoint's target group holds the router's pods when there are tiers."""
    if not tiered(ctx):
        return {}
    return {"target_port": router.PORT, "health_check_path": router.HEALTH_PATH}


def tier_workload(ctx: StackContext, tier: Tier, namespace: str) -> Workload:
    """A CPU tier's vLLM workload: sized by stacks/tiers.py (the weights, KV cache and runtime it needs)."""
    sizing = min(tier.cpu_sizing, key=lambda s: s.vcpus)
    needed_mib = math.ceil((sizing.weights_gib + sizing.kv_cache_gib + sizing.runtime_gib) * 1024)
    weights = tier.model.checkpoint_gb * 1e9 if tier.model.checkpoint_gb else tier.model.weight_bytes
    server = VllmServer(
        image=CPU_IMAGE,
        hf_model_id=tier.model.hf_id,
        revision=tier.model.revision,
        served_model_name=tier.served_model_name,
        tensor_parallel_size=1,
        max_model_len=tier.max_model_len,
        memory_reservation_mib=needed_mib,
        shared_memory_mib=min(16 * 1024, needed_mib // 2),
        startup_seconds=estimate_startup_seconds(weights, ROOT_VOLUME_THROUGHPUT),
        device="cpu",
        cpu_kv_cache_gib=sizing.kv_cache_gib,
    )
    name = f"vllm-{tier.name}"
    return Workload(
        server=server,
        name=name,
        namespace=namespace,
        service_account=name,
        secret_provider_class=f"{name}-secrets",
        drain_seconds=EndpointArgs.deregistration_delay_seconds,
        idle_timeout_seconds=EndpointArgs.idle_timeout_seconds,
        cpu_request=str(math.floor(sizing.vcpus * CPU_REQUEST_SHARE)),
        node_pool=cpu_capacity.pool_name(tier.name),
        taint_key=cpu_capacity.TIER_TAINT_KEY,
    )


def tier_workloads(ctx: StackContext, namespace: str) -> dict[str, Workload]:
    """The extra tiers' workloads by tier name (GPU extra tiers are not built on EKS yet: config refuses them)."""
    return {t.name: tier_workload(ctx, t, namespace) for t in ctx.tiers if t.kind == "cpu"}


@dataclass(frozen=True)
class DefaultTier:
    """What the tiers need from the stack's own (default-tier) workload, built by stacks/eks.py."""

    workload: Workload
    api_key_secret_arn: pulumi.Output[str]
    after: list[pulumi.Resource]  # the namespace, the controllers, the listeners


def build_tiers(
    ctx: StackContext,
    network: Network,
    cluster,
    key: StackKey,
    node_role_name: pulumi.Input[str],
    endpoint: Endpoint,
    default: DefaultTier,
    query_url: pulumi.Output[str],
) -> dict[str, Any]:
    """The CPU tiers (capacity, secrets, vLLM, scaling) and the router; returns their stack outputs."""
    ns = default.workload.namespace
    works = tier_workloads(ctx, ns)
    keys: dict[str, pulumi.Input[str]] = {ctx.config.tiers.default_name: default.api_key_secret_arn}
    urls = {ctx.config.tiers.default_name: service_url(default.workload.name, ns)}
    for tier in ctx.tiers:
        work = works[tier.name]
        keys[tier.name] = _cpu_tier(ctx, network, cluster, key, node_role_name, tier, work, default, query_url)
        urls[tier.name] = service_url(work.name, ns)
    names = list(urls)
    spec = router_spec(ctx, urls, {n: key_env(n) for n in names})
    log_group_name = f"/aws/containerinsights/{ctx.short_name}/application"  # Container Insights' name
    args = _router_args(ctx, spec, [keys[n] for n in names], default, key, cluster, endpoint, log_group_name)
    tier_router = EksTierRouter(
        f"{ctx.short_name}-rtr", args, cluster.provider, opts=pulumi.ResourceOptions(depends_on=default.after)
    )
    _ship_router_logs(ctx, cluster, tier_router, log_group_name, ns, default)
    _scale_router(ctx, cluster, endpoint, query_url, ns, tier_router, default)
    return {
        "routerDeployment": f"{ns}/{ROUTER_NAME}",
        "tierServices": urls,
        "routerFallbackAlarmArn": tier_router.fallback_alarm_arn,
        "routerDashboardName": tier_router.dashboard_name,
    }


def _router_args(
    ctx: StackContext,
    spec: Any,
    tier_keys: list[pulumi.Input[str]],
    default: DefaultTier,
    key: StackKey,
    cluster,
    endpoint: Endpoint,
    log_group_name: str,
) -> EksTierRouterArgs:
    rcfg = ctx.config.tiers.router
    return EksTierRouterArgs(
        spec=spec,
        tier_key_secret_arns=tuple(tier_keys),
        master_key_secret_arn=default.api_key_secret_arn,  # clients' key: the stack's API key, as on ECS
        kms_key_arns=(key.key_arn, *ctx.config.serving.secrets_kms_key_arns),
        cluster_name=ctx.short_name,
        region=ctx.region,
        namespace=default.workload.namespace,
        target_group_arn=endpoint.target_group_arn,
        load_balancer_security_group_id=endpoint.security_group_id,
        node_security_group_id=cluster.cluster_security_group_id,
        drain_seconds=EndpointArgs.deregistration_delay_seconds,
        idle_timeout_seconds=EndpointArgs.idle_timeout_seconds,
        cpu=rcfg.cpu,
        memory_mib=rcfg.memory_mib,
        min_replicas=rcfg.min_replicas,
        max_replicas=rcfg.max_replicas,
        log_group_name=log_group_name,  # RouterLogs (_ship_router_logs) ships the router pods' stdout there
        log_retention_days=LOG_RETENTION_DAYS[ctx.config.environment],
        kms_key_arn=key.key_arn,
        fallback_alarm_threshold=rcfg.fallback_alarm_per5_min,
        permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        node_selector=dict([SYSTEM_LABEL]),
    )


def _ship_router_logs(
    ctx: StackContext, cluster, tier_router: EksTierRouter, log_group_name: str, ns: str, default: DefaultTier
) -> RouterLogs:
    return RouterLogs(
        f"{ctx.short_name}-rtr-shipper",
        RouterLogsArgs(
            cluster_name=ctx.short_name,
            region=ctx.region,
            chart=Chart(versions.FLUENT_BIT_CHART, versions.FLUENT_BIT_VERSION, versions.FLUENT_BIT_REPO),
            log_group_name=log_group_name,
            log_group_arn=tier_router.log_group_arn,
            source_namespace=ns,
            pod_prefix=ROUTER_NAME,
            container=ROUTER_NAME,
            node_selector=dict([SYSTEM_LABEL]),
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=default.after),
    )


def _scale_router(
    ctx: StackContext,
    cluster,
    endpoint: Endpoint,
    query_url: pulumi.Output[str],
    ns: str,
    tier_router: EksTierRouter,
    default: DefaultTier,
) -> QueueAutoscaling:
    rcfg = ctx.config.tiers.router
    return QueueAutoscaling(
        f"{ctx.short_name}-rtr-scaling",
        QueueAutoscalingArgs(
            namespace=ns,
            target={"apiVersion": "apps/v1", "kind": "Deployment", "name": ROUTER_NAME},
            query_url=query_url,
            region=ctx.region,
            metric="qps",  # the ALB's RequestCount on the router's target group, as ECS's router scaling
            target_qps=rcfg.target_qps_per_replica,
            min_replicas=rcfg.min_replicas,
            max_replicas=rcfg.max_replicas,
            scale_in_cooldown_seconds=300,
            load_balancer_arn_suffix=endpoint.load_balancer_arn_suffix,
            target_group_arn_suffix=endpoint.target_group_arn_suffix,
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=[tier_router, *default.after]),
    )


def _cpu_tier(
    ctx: StackContext,
    network: Network,
    cluster,
    key: StackKey,
    node_role_name: pulumi.Input[str],
    tier: Tier,
    work: Workload,
    default: DefaultTier,
    query_url: pulumi.Output[str],
) -> pulumi.Output[str]:
    """One CPU tier: its NodePool, its own API key (as each ECS tier's), its vLLM pods, its scaling."""
    cap, env = tier.config.capacity, ctx.config.environment
    prefix = f"{ctx.short_name}-{tier.name}"
    capacity = CpuCapacity(
        f"{prefix}-nodes",
        CpuCapacityArgs(
            tier=tier.name,
            instance_types=tuple(cap.instance_types),
            architecture="amd64",  # config: ECS/EKS CPU tiers run the x86_64 image (stacks/tiers.py)
            max_vcpus_per_instance=max(f.vcpus for f in tier.instances),
            max_size=cap.max_size,
            spot=cap.spot,
            node_role_name=node_role_name,
            subnet_ids=network.private_subnet_ids,
            security_group_ids=(cluster.cluster_security_group_id,),
            kms_key_arn=key.key_arn,
            ami_alias=versions.ami_alias(),
            root_volume_gib=root_volume_gib(tier.model.weight_bytes),
            root_volume_throughput_mibps=ROOT_VOLUME_THROUGHPUT,
            tags=dict(ctx.tags),
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=default.after),
    )
    secrets = ModelSecrets(
        f"{prefix}-secrets",
        ModelSecretsArgs(
            name_prefix=f"deepseek/{ctx.stack}/{tier.name}",
            kms_key_arn=key.key_arn,
            recovery_window_days={"prod": 30, "staging": 7}.get(env, 0),
            protect=ctx.is_prod,
        ),
    )
    server = EksModelServer(
        f"{prefix}-model",
        EksModelServerArgs(
            workload=work,
            cluster_name=ctx.short_name,
            region=ctx.region,
            initial_replicas=tier.config.scaling.min_replicas,
            api_key_secret_arn=secrets.api_key_arn,
            hf_token_secret_arn=secrets.hf_token_arn,
            secret_grants=tuple(secrets.grants),
            kms_key_arns=(key.key_arn,),
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
            internal=True,  # reached through its ClusterIP Service by the router only
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=[*default.after, capacity]),
    )
    scaling = tier.config.scaling
    QueueAutoscaling(
        f"{prefix}-scaling",
        QueueAutoscalingArgs(
            namespace=work.namespace,
            target={"apiVersion": "apps/v1", "kind": "Deployment", "name": work.name},
            query_url=query_url,
            region=ctx.region,
            metric="qps",  # as the ECS CPU tier: requests a second per replica, here from vLLM's own counter
            target_qps=scaling.target_qps_per_replica,
            min_replicas=scaling.min_replicas,
            max_replicas=scaling.max_replicas,
            model_name=tier.served_model_name,
            behind_router=True,
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=[server, *default.after]),
    )
    return secrets.api_key_arn
