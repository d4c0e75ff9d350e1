"""Tiered serving on ECS: the extra tiers (each a ModelService behind its own internal ALB) and the router
(TierRouter on Fargate) behind the public ALB. The router config itself is platform-neutral (stacks/tiers.py
router_spec → components/shared/router.py); an EKS builder passes in-cluster Service URLs instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.ecs.capacity import CPU_AMI_PARAMETER, GpuNodePoolArgs, SpotMix
from components.ecs.router import RouterTierLink, TierRouter, TierRouterArgs
from components.ecs.service import ModelService, ModelServiceArgs, ReplicaScaling
from components.shared import router
from components.shared.cloudwatch_agent import agent_user_data
from components.shared.endpoint import EndpointArgs
from components.shared.kms_key import StackKey
from components.shared.network import Network
from components.shared.vllm import VllmServer, estimate_startup_seconds
from stacks.config import StackContext
from stacks.tiers import Tier, key_env, router_spec

# vLLM's CPU image for x86_64 (AVX-512/AMX), the project's own release repository on ECR Public
# (docs.vllm.ai "Using Docker": public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo). v0.29.0 is the newest tag
# found in public deployments as of 2026-12-01 (no v0.31.0 CPU tag was found); pinned by tag, no digest found.
CPU_IMAGE = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.29.0"
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}


@dataclass(frozen=True)
class PublicEntrance:
    """What stacks/ecs.py reads from the service clients reach (the router here)."""

    endpoint_url: pulumi.Output[str]
    load_balancer_arn: pulumi.Output[str]
    router: TierRouter


def _tier_service(ctx: StackContext, network: Network, key: StackKey, tier: Tier) -> ModelService:
    cfg, cap = tier.config, tier.config.capacity
    cpu = tier.kind == "cpu"
    instances = tier.instances
    weights = tier.model.checkpoint_gb * 1e9 if tier.model.checkpoint_gb else tier.model.weight_bytes
    pool = GpuNodePoolArgs(
        instance_types=tuple(cap.instance_types),
        architectures=tuple(f.architectures[0] for f in instances),
        min_size=cap.min_size,
        max_size=cap.max_size,
        spot=SpotMix(enabled=cap.spot),
        weights_bytes=weights,
        gpu=not cpu,
        **({"ami_parameter": CPU_AMI_PARAMETER} if cpu else {}),
        extra_user_data="" if cpu else agent_user_data(),
        extra_instance_policy_arns=() if cpu else ("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",),
        permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
    )
    if cpu:
        sizing = min(tier.cpu_sizing, key=lambda s: s.memory_reservation_mib)
        reservation, tp, kv = sizing.memory_reservation_mib, 1, sizing.kv_cache_gib
    else:
        from stacks.ecs import AGENT_RESERVED_MIB, KERNEL_SHARE

        reservation = min(
            (int(f.memory_mib * (1 - KERNEL_SHARE)) - AGENT_RESERVED_MIB) // max(1, s.replicas_per_instance)
            for f, s in zip(instances, tier.gpu_sizing, strict=True)
        )
        tp, kv = tier.gpu_sizing[0].tensor_parallel_size, 0
    server = VllmServer(
        image=CPU_IMAGE if cpu else ctx.config.serving.image,
        hf_model_id=tier.model.hf_id,
        revision=tier.model.revision,
        served_model_name=tier.served_model_name,
        tensor_parallel_size=tp,
        max_model_len=tier.max_model_len,
        memory_reservation_mib=reservation,
        shared_memory_mib=min(16 * 1024, reservation // 2),
        startup_seconds=estimate_startup_seconds(weights, pool.root_volume_throughput_mibps),
        device="cpu" if cpu else "cuda",
        cpu_kv_cache_gib=kv,
    )
    env = ctx.config.environment
    return ModelService(
        f"{ctx.short_name}-{tier.name}",
        ModelServiceArgs(
            internal=True,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            server=server,
            node_pool=pool,
            scaling=ReplicaScaling(
                min_replicas=cfg.scaling.min_replicas,
                max_replicas=cfg.scaling.max_replicas,
                target_requests_per_second=cfg.scaling.target_qps_per_replica,
            ),
            kms_key_arn=key.key_arn,
            log_group_name=f"/deepseek/{ctx.stack}/{tier.name}",
            log_retention_days=LOG_RETENTION_DAYS[env],
            access_log_retention_days=LOG_RETENTION_DAYS[env],
            deletion_protection=ctx.is_prod,
            protect=ctx.is_prod,
            secret_name_prefix=f"deepseek/{ctx.stack}/{tier.name}",
            secret_recovery_window_days={"prod": 30, "staging": 7}.get(env, 0),
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        ),
    )


def build_tiers(ctx: StackContext, network: Network, key: StackKey, default: ModelService) -> PublicEntrance:
    """The extra tiers and the router; the default tier is `default` (already internal)."""
    cfg = ctx.config
    services: dict[str, Any] = {cfg.tiers.default_name: default}
    for tier in ctx.tiers:
        services[tier.name] = _tier_service(ctx, network, key, tier)
    names = list(services)
    spec = router_spec(ctx, {n: "http://placeholder/v1" for n in names}, {n: key_env(n) for n in names})
    # The default tier's pool is watched by the stack's InferenceAlarms; the extra tiers' here.
    mins = {cfg.tiers.default_name: 0, **{t.name: t.config.capacity.min_size for t in ctx.tiers}}
    serving = cfg.serving
    rcfg = cfg.tiers.router
    tier_router = TierRouter(
        f"{ctx.short_name}-rtr",  # short: ALB names stop at 32 characters
        TierRouterArgs(
            cluster_name=default.cluster_name,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            endpoint=EndpointArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.public_subnet_ids,
                allowed_cidrs=tuple(str(c) for c in serving.allowed_cidrs),
                certificate_arn=serving.certificate_arn,
                http_redirect_listener=not ctx.is_prod,
                health_check_path=router.HEALTH_PATH,
                deletion_protection=ctx.is_prod,
                protect=ctx.is_prod,
                access_log_retention_days=LOG_RETENTION_DAYS[cfg.environment],
            ),
            spec=spec,
            tier_urls=tuple(pulumi.Output.concat(services[n].endpoint_url, "/v1") for n in names),
            tiers=tuple(
                RouterTierLink(
                    n,
                    services[n].api_key_secret_arn,
                    services[n].endpoint.security_group_id,
                    load_balancer_arn_suffix=services[n].load_balancer_arn_suffix,
                    target_group_arn_suffix=services[n].target_group_arn_suffix,
                    asg_name=services[n].node_pool.asg_name,
                    min_size=mins[n],
                )
                for n in names
            ),
            master_key_secret_arn=default.api_key_secret_arn,
            kms_key_arn=key.key_arn,
            log_group_name=f"/deepseek/{ctx.stack}/router",
            log_retention_days=LOG_RETENTION_DAYS[cfg.environment],
            cpu=rcfg.cpu,
            memory_mib=rcfg.memory_mib,
            min_replicas=rcfg.min_replicas,
            max_replicas=rcfg.max_replicas,
            target_requests_per_second=rcfg.target_qps_per_replica,
            fallback_alarm_threshold=rcfg.fallback_alarm_per5_min,
            region=ctx.region,
            permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
            protect=ctx.is_prod,
        ),
    )
    return PublicEntrance(
        endpoint_url=tier_router.endpoint.url,
        load_balancer_arn=tier_router.endpoint.load_balancer_arn,
        router=tier_router,
    )
