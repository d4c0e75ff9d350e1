"""The ECS serving platform: the stack's KMS key and the vLLM ModelService (with its GPU node pool),
translated from the validated stack context into component arguments."""

from __future__ import annotations

import math
from typing import Any

from pulumi import Output

from components.ecs.autoscaling import ScheduledCapacity
from components.ecs.capacity import GpuNodePoolArgs, SpotMix, WarmPool
from components.ecs.service import ModelService, ModelServiceArgs, ReplicaScaling
from components.ecs.weights_sync import WeightsSync, WeightsSyncArgs
from components.shared import cold_start as cs
from components.shared.cloudwatch_agent import agent_user_data
from components.shared.endpoint import S3_ACCESS_LOG_PREFIX
from components.shared.image import ServingImage, ServingImageArgs
from components.shared.kms_key import StackKey, StackKeyArgs
from components.shared.model_bucket import ModelBucket, ModelBucketArgs
from components.shared.network import FlowLogArgs, Network, VpcFlowLogs
from components.shared.vllm import VllmServer
from components.shared.web_acl import WebAcl, WebAclArgs, body_limit_bytes
from stacks import cold_start, versions
from stacks.config import StackContext
from stacks.serving import ServingEndpoint

# Host memory the kernel, page tables and drivers keep before ECS registers the instance (AWS's
# "container instance memory management": registered memory is below the nominal size), and the
# memory ECS keeps back for the agent and OS daemons (ECS_RESERVED_MEMORY in the node pool).
KERNEL_SHARE = 0.10
AGENT_RESERVED_MIB = 1024
SHM_CAP_MIB = 16 * 1024  # vLLM's docs run the container with a 10-16 GiB /dev/shm
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}
ACCESS_LOG_DAYS = {"dev": 30, "staging": 90, "prod": 365}
# VPC flow logs (EC2.6): a year in prod (CloudWatch.16); dev/staging keep less (policy waiver, cost).
FLOW_LOG_DAYS = {"dev": 30, "staging": 90, "prod": 365}


weights_bytes = cold_start.weights_bytes


def build_image(ctx: StackContext, key: StackKey) -> ServingImage:
    """The digest-pinned serving image (built into the stack's ECR repository, or pulled through a cache)."""
    image = ctx.config.image
    return ServingImage(
        f"{ctx.short_name}-image",
        ServingImageArgs(
            source=image.source,
            uri=image.uri,
            credential_arn=image.pull_through_cache.credential_arn,
            repository_name=f"deepseek/{ctx.stack}/vllm",
            kms_key_arn=key.key_arn,
            force_delete=not ctx.is_prod,
            source_url="images/vllm/Dockerfile",
        ),
    )


def build_model_bucket(ctx: StackContext, key: StackKey) -> ModelBucket | None:
    """The model bucket, when the model loads from S3 (model.loadFrom: s3)."""
    if ctx.config.model.load_from != "s3":
        return None
    return ModelBucket(
        f"{ctx.short_name}-models",
        ModelBucketArgs(
            hf_id=ctx.model.hf_id, revision=ctx.model.revision or "", kms_key_arn=key.key_arn, protect=ctx.is_prod
        ),
    )


def streamer_server_args(ctx: StackContext, bucket: ModelBucket | None) -> dict[str, Any]:
    """VllmServer fields that stream the model revision from S3 (components/shared/vllm.py builds the
    `--load-format runai_streamer` arguments and the streamer's environment), or nothing: the Hub."""
    if bucket is None:
        return {}
    return {
        "load_from": "s3",
        "model_uri": bucket.model_uri,
        "streamer_concurrency": cs.streamer_concurrency(ctx.instances[0].peak_gbps),
        "region": ctx.region,
    }


def memory_reservation_mib(ctx: StackContext) -> int:
    """The per-task memory every instance type of the pool can place, with all its replicas."""
    per_task = []
    for facts, sizing in zip(ctx.instances, ctx.pool_sizing, strict=True):
        usable = math.floor(facts.memory_mib * (1 - KERNEL_SHARE)) - AGENT_RESERVED_MIB
        per_task.append(usable // max(1, sizing.replicas_per_instance))
    return min(per_task)


def deployment_minimum_healthy_percent(ctx: StackContext) -> int:
    """100 % keeps every replica serving during a deployment, but needs room for a second set. When
    the pool cannot ever hold twice maxReplicas, 50 % lets a full-scale deployment proceed instead of
    waiting forever for GPUs."""
    slots = ctx.config.gpu_pool.max_size * min(s.replicas_per_instance for s in ctx.pool_sizing)
    return 100 if slots >= 2 * ctx.config.scaling.max_replicas else 50


def build_flow_logs(ctx: StackContext, network: Network, key: StackKey) -> None:
    """VPC flow logs (EC2.6) of a VPC the stack owns, on either platform; an adopted VPC's belong to its owner."""
    if network.vpc is None:
        return
    VpcFlowLogs(
        f"{ctx.short_name}-flow-logs",
        FlowLogArgs(
            vpc_id=network.vpc_id,
            kms_key_arn=key.key_arn,
            log_group_name=f"/deepseek/{ctx.stack}/vpc-flow-logs",
            retention_days=FLOW_LOG_DAYS[ctx.config.environment],
            protect=ctx.is_prod,
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        ),
    )


def vllm_server(ctx: StackContext, image: Any, bucket: ModelBucket | None = None) -> VllmServer:
    """What one replica runs, the same on every platform for the same model and GPU (ECS and EKS call this;
    components/shared/vllm.py turns it into `vllm serve` arguments)."""
    cfg = ctx.config
    reservation = memory_reservation_mib(ctx)
    return VllmServer(
        image=image,
        hf_model_id=ctx.model.hf_id,
        revision=ctx.model.revision,
        served_model_name=cfg.model.served_model_name or ctx.model.key,
        tensor_parallel_size=ctx.sizing.tensor_parallel_size,
        pipeline_parallel_size=ctx.sizing.nodes_per_replica,
        max_model_len=cfg.model.max_model_len,
        gpu_memory_utilization=cfg.model.gpu_memory_utilization,
        memory_reservation_mib=reservation,
        shared_memory_mib=min(SHM_CAP_MIB, reservation // 2),
        # From container start (ECS counts the grace from there; EKS sizes the startup probe): weight load +
        # engine start.
        startup_seconds=math.ceil(cold_start.fresh(ctx).container),
        **streamer_server_args(ctx, bucket),
    )


def build_ecs(ctx: StackContext, network: Network) -> tuple[dict[str, Any], ServingEndpoint]:
    """Declare the ECS platform; return its stack outputs and the endpoint the observability layer watches."""
    cfg = ctx.config
    pool, scaling, serving = cfg.gpu_pool, cfg.scaling, cfg.serving

    key = StackKey(
        f"{ctx.short_name}-key",
        StackKeyArgs(deletion_window_in_days=30 if ctx.is_prod else 7, protect=ctx.is_prod),
    )

    build_flow_logs(ctx, network, key)

    image = build_image(ctx, key)
    bucket = build_model_bucket(ctx, key)
    server = vllm_server(ctx, image.image_ref, bucket)
    tiered = ctx.config.tiers.enabled
    service = ModelService(
        f"{ctx.short_name}-vllm",
        ModelServiceArgs(
            internal=tiered,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            server=server,
            node_pool=gpu_pool_args(ctx),
            scaling=replica_scaling(ctx),
            kms_key_arn=key.key_arn,
            log_group_name=f"/deepseek/{ctx.stack}/vllm",
            log_retention_days=LOG_RETENTION_DAYS[cfg.environment],
            http_redirect_listener=not ctx.is_prod,  # prod: HTTPS only, no port 80 (ELB.18)
            access_log_retention_days=ACCESS_LOG_DAYS[cfg.environment],
            allowed_cidrs=tuple(str(c) for c in serving.allowed_cidrs),
            certificate_arn=serving.certificate_arn,
            api_key_secret_arn=serving.api_key_secret_arn,
            hf_token_secret_arn=serving.hf_token_secret_arn,
            # Tiered stacks: the router reads the tier keys once at start, so they are not rotated under it.
            api_key_rotation_days=0 if tiered else serving.api_key_rotation_days,
            secrets_kms_key_arns=tuple(serving.secrets_kms_key_arns),
            deletion_protection=ctx.is_prod,
            protect=ctx.is_prod,  # log group, secrets, access-log bucket: protected and retained in prod
            secret_name_prefix=f"deepseek/{ctx.stack}",
            secret_recovery_window_days={"prod": 30, "staging": 7}.get(cfg.environment, 0),
            deployment_minimum_healthy_percent=deployment_minimum_healthy_percent(ctx),
            permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
            model_bucket_arn=bucket.bucket_arn if bucket else "",
            model_prefix=bucket.prefix if bucket else "",
            # vLLM's queue depth, KV cache and TTFT into CloudWatch (dashboard panels, queue-depth scaling).
            collector_image=versions.ADOT_COLLECTOR_IMAGE,
        ),
    )
    nodes = service.node_pool
    public: Any = service
    if tiered:
        from stacks.ecs_tiers import build_tiers

        public = build_tiers(ctx, network, key, service)
    web_acl = build_web_acl(ctx, public.load_balancer_arn, key)
    sync_outputs = build_weights_sync(ctx, key, network, image, bucket, service)
    outputs: dict[str, Any] = {
        "endpointUrl": public.endpoint_url,
        "clusterName": service.cluster_name,
        "serviceName": service.service_name,
        "logGroupName": service.log_group_name,
        "asgName": nodes.asg_name,
        "apiKeySecretArn": service.api_key_secret_arn,
        "hfTokenSecretArn": service.hf_token_secret_arn,
        "imageRef": image.image_ref,
        **sync_outputs,
    }
    if web_acl is not None:
        outputs["webAclArn"] = web_acl.web_acl_arn
    endpoint = ServingEndpoint(
        platform="ecs",
        load_balancer_arn_suffix=service.load_balancer_arn_suffix,
        target_group_arn_suffix=service.target_group_arn_suffix,
        target_group_name=service.target_group_name,
        asg_name=nodes.asg_name,
        asg_arn=nodes.asg_arn,
        gpu_pool_min_size=pool.min_size,
        min_replicas=scaling.min_replicas,
        cluster_name=service.cluster_name,
        service_name=service.service_name,
        kms_key_arn=key.key_arn,
        serving_metrics=service.serving_metrics,
    )
    return outputs, endpoint


def gpu_pool_args(ctx: StackContext) -> GpuNodePoolArgs:
    """The stack's gpuPool as the GPU Auto Scaling group's typed args (with the CloudWatch agent for GPU metrics)."""
    pool, cfg = ctx.config.gpu_pool, ctx.config
    return GpuNodePoolArgs(
        instance_types=tuple(pool.instance_types),
        architectures=tuple(f.architectures[0] for f in ctx.instances),
        min_size=pool.min_size,
        max_size=pool.max_size,
        target_capacity=pool.target_capacity,
        spot=SpotMix(
            enabled=pool.spot.enabled,
            on_demand_base_capacity=pool.spot.on_demand_base_capacity,
            on_demand_percentage_above_base_capacity=pool.spot.on_demand_percentage_above_base_capacity,
            spot_allocation_strategy=pool.spot.spot_allocation_strategy,
        ),
        warm_pool=WarmPool(
            enabled=pool.warm_pool.enabled,
            min_size=pool.warm_pool.min_size,
            max_group_prepared_capacity=pool.warm_pool.max_group_prepared_capacity,
        ),
        root_volume_gib=pool.root_volume_gib,
        weights_bytes=weights_bytes(ctx),
        reserved_memory_mib=AGENT_RESERVED_MIB,
        # The CloudWatch agent publishes the nvidia_smi_* GPU metrics per ASG that the GPU alarms read.
        extra_user_data=agent_user_data(),
        extra_instance_policy_arns=("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",),
        permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
    )


def replica_scaling(ctx: StackContext) -> ReplicaScaling:
    """The stack's scaling section as the service's autoscaling args."""
    scaling = ctx.config.scaling
    return ReplicaScaling(
        min_replicas=scaling.min_replicas,
        max_replicas=scaling.max_replicas,
        target_requests_per_second=scaling.target_qps_per_replica,
        metric=scaling.metric,
        target_queue_depth=scaling.target_queue_depth_per_replica,
        scale_out_cooldown_seconds=scaling.scale_out_cooldown_seconds,
        scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
        schedule=tuple(ScheduledCapacity(r.name, r.cron, r.min_replicas, r.max_replicas) for r in scaling.schedule),
    )


def build_weights_sync(
    ctx: StackContext,
    key: StackKey,
    network: Network,
    image: ServingImage,
    bucket: ModelBucket | None,
    service: ModelService,
) -> dict[str, Any]:
    """The bucket's access logs and read grant, and the one-shot sync task `make sync-weights` runs."""
    if bucket is None:
        return {}
    bucket.log_to(service.access_log_bucket_id, f"{S3_ACCESS_LOG_PREFIX}{ctx.short_name}-models/")
    sync = WeightsSync(
        f"{ctx.short_name}-sync",
        WeightsSyncArgs(
            image=image.image_ref,
            image_repository_arn=image.repository_arn,
            hf_id=ctx.model.hf_id,
            revision=ctx.model.revision or "",
            bucket_name=bucket.bucket_name,
            prefix=bucket.prefix,
            weights_bytes=weights_bytes(ctx),
            hf_token_secret_arn=service.hf_token_secret_arn,
            hf_token_grant_arn=service.hf_token_grant_arn,
            kms_key_arn=key.key_arn,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            log_group_name=f"/deepseek/{ctx.stack}/sync-weights",
            log_retention_days=LOG_RETENTION_DAYS[ctx.config.environment],
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
            protect=ctx.is_prod,
        ),
    )
    bucket.grant(f"{ctx.short_name}-sync-write-model", sync.task_role_name, write=True)
    return {
        "modelUri": bucket.model_uri,
        "weightsSync": {
            "cluster": service.cluster_arn,
            "taskDefinition": sync.task_definition_arn,
            "subnets": network.private_subnet_ids,
            "securityGroups": [sync.security_group_id],
            "modelUri": bucket.model_uri,
        },
    }


def build_web_acl(ctx: StackContext, load_balancer_arn: Output[str], key: StackKey) -> WebAcl | None:
    """The WAF web ACL on the stack's load balancer, when serving.waf says so (auto: prod only)."""
    waf = ctx.config.serving.waf
    if not waf.enabled_in(ctx.config.environment):
        return None
    return WebAcl(
        f"{ctx.short_name}-waf",
        WebAclArgs(
            resource_arn=load_balancer_arn,
            rate_limit_per_5min=waf.rate_limit_per5_min,
            max_body_bytes=waf.max_body_bytes or body_limit_bytes(ctx.config.model.max_model_len),
            count_rules=tuple(waf.count_rules),
            metric_prefix=ctx.short_name,
            # WAF.11: every inspected request, API key redacted, under the stack key for the environment's retention.
            log_group_name=f"aws-waf-logs-{ctx.short_name}-waf",  # the deploy role's aws-waf-logs-ds-<stack>-*
            log_retention_days=LOG_RETENTION_DAYS[ctx.config.environment],
            kms_key_arn=key.key_arn,
            protect=ctx.is_prod,
        ),
    )
