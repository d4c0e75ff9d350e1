"""The EKS platform: the stack key, the cluster with its system nodes, Karpenter and the GPU NodePools
(part 1), and the vLLM workload behind the same Endpoint as ECS, its controllers and queue-depth
autoscaling (part 2), translated from the validated stack context into component arguments. Returns the
stack outputs and the ServingEndpoint the alarms and dashboard watch."""

from __future__ import annotations

import math
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.ecs.capacity import INFERENCE_IMAGE_GIB, root_volume_gib  # node disk: image + weights, as ECS
from components.ecs.weights_sync import ephemeral_gib
from components.eks.addons import Chart, ServingAddons, ServingAddonsArgs
from components.eks.autoscaling import (
    QueueAutoscaling,
    QueueAutoscalingArgs,
    VllmMetrics,
    VllmMetricsArgs,
    cron_windows,
)
from components.eks.cluster import EksCluster, EksClusterArgs
from components.eks.gpu_capacity import GpuCapacity, GpuCapacityArgs
from components.eks.karpenter import Karpenter, KarpenterArgs
from components.eks.model_server import LWS_API, EksModelServer, EksModelServerArgs
from components.eks.system_node_group import SystemNodeGroupArgs
from components.eks.weights_sync import EksWeightsSync, EksWeightsSyncArgs
from components.eks.workload import Workload
from components.shared.aws_scope import aws_scope
from components.shared.endpoint import S3_ACCESS_LOG_PREFIX, Endpoint, EndpointArgs
from components.shared.image import ServingImage
from components.shared.kms_key import StackKey, StackKeyArgs
from components.shared.model_bucket import ModelBucket
from components.shared.model_secrets import ModelSecrets, ModelSecretsArgs
from components.shared.network import Network
from components.shared.serving_metrics import ServingMetrics
from stacks import eks_tiers, versions
from stacks.config import StackContext
from stacks.ecs import (
    ACCESS_LOG_DAYS,
    LOG_RETENTION_DAYS,
    build_flow_logs,
    build_image,
    build_model_bucket,
    build_web_acl,
    vllm_server,
    weights_bytes,
)
from stacks.eks_metrics import build_cloudwatch_metrics
from stacks.serving import ServingEndpoint

K8S_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
SERVING_NAMESPACE = "deepseek-serving"


def deployer_arn() -> str:
    """The IAM role (or user) running `pulumi up`: an assumed-role session resolves to its role."""
    return aws.iam.get_session_context(arn=aws_scope().caller_arn).issuer_arn


def build_eks(ctx: StackContext, network: Network) -> tuple[dict[str, Any], ServingEndpoint]:
    """Declare the EKS platform; return its stack outputs and the endpoint the observability layer watches."""
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
    namespace = serving_namespace(ctx, cluster)
    endpoint = build_endpoint(ctx, network, cluster)
    # The same digest-pinned image and S3 model bucket as ECS (stacks/ecs.py); the GPU nodes pull from
    # ECR with their node role's AmazonEC2ContainerRegistryPullOnly (components/eks/system_node_group.py).
    image = build_image(ctx, key)
    bucket = build_model_bucket(ctx, key)
    serving, serving_metrics = build_serving(ctx, network, cluster, key, endpoint, namespace, image, bucket, karpenter)
    web_acl = build_web_acl(ctx, endpoint.load_balancer_arn, key)
    outputs = {
        "clusterName": cluster.cluster_name,
        "clusterEndpoint": cluster.endpoint,
        "karpenterNodeRoleName": karpenter.node_role_name,
        "interruptionQueueName": karpenter.queue_name,
        "gpuNodePools": list(gpu.node_pool_names),
        "servingNamespace": SERVING_NAMESPACE,
        "versions": versions.as_plan(cfg.eks.kubernetes_version),
        "endpointUrl": endpoint.url,
        **serving,
    }
    if web_acl is not None:
        outputs["webAclArn"] = web_acl.web_acl_arn
    return outputs, ServingEndpoint(
        platform="eks",
        load_balancer_arn_suffix=endpoint.load_balancer_arn_suffix,
        target_group_arn_suffix=endpoint.target_group_arn_suffix,
        target_group_name=endpoint.target_group_name,
        asg_name=None,  # Karpenter launches GPU nodes directly (CreateFleet): no Auto Scaling group
        asg_arn=None,
        gpu_pool_min_size=0,
        min_replicas=cfg.scaling.min_replicas,
        kms_key_arn=key.key_arn,
        serving_metrics=serving_metrics,
    )


def serving_namespace(ctx: StackContext, cluster: EksCluster) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        f"{ctx.short_name}-serving-ns",
        metadata={
            "name": SERVING_NAMESPACE,
            "labels": {
                # Pod Security Admission: the vLLM pods meet "restricted" (warned and audited) and must meet
                # "baseline" (enforced).
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                # The Load Balancer Controller adds a readiness gate per TargetGroupBinding: a rolling update
                # waits until the new pod passes the ALB's health check (LBC docs, "Pod readiness gate").
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
            },
        },
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )


def build_endpoint(ctx: StackContext, network: Network, cluster: EksCluster) -> Endpoint:
    """The same Pulumi-declared ALB as ECS (components/shared/endpoint.py); pods are its ip targets."""
    serving = ctx.config.serving
    return Endpoint(
        f"{ctx.short_name}-vllm",
        EndpointArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.public_subnet_ids,
            target_security_group_id=cluster.cluster_security_group_id,  # pods use their node's group
            allowed_cidrs=tuple(str(c) for c in serving.allowed_cidrs),
            certificate_arn=serving.certificate_arn,
            http_redirect_listener=not ctx.is_prod,  # prod: HTTPS only (ELB.18)
            deletion_protection=ctx.is_prod,
            protect=ctx.is_prod,
            access_log_retention_days=ACCESS_LOG_DAYS[ctx.config.environment],
            **eks_tiers.endpoint_overrides(ctx),  # tiered: the router's port and health path
        ),
    )


def build_serving(
    ctx: StackContext,
    network: Network,
    cluster: EksCluster,
    key: StackKey,
    endpoint: Endpoint,
    namespace: k8s.core.v1.Namespace,
    image: ServingImage,
    bucket: ModelBucket | None,
    karpenter: Karpenter,
) -> tuple[dict[str, Any], ServingMetrics]:
    """The model's secrets, the controllers, the autoscaling, the replicas and their CloudWatch metrics (with
    tiers: the extra tiers and the router in front, stacks/eks_tiers.py); returns their outputs and where the
    metrics are."""
    multi_node = ctx.sizing.nodes_per_replica > 1
    secrets = ModelSecrets(f"{ctx.short_name}-secrets", model_secrets_args(ctx, key))
    work = Workload(
        server=vllm_server(ctx, image.image_ref, bucket),
        namespace=SERVING_NAMESPACE,
        drain_seconds=EndpointArgs.deregistration_delay_seconds,
        idle_timeout_seconds=EndpointArgs.idle_timeout_seconds,
        nodes_per_replica=ctx.sizing.nodes_per_replica,
        efa_interfaces=efa_interfaces(ctx),
    )
    metrics = VllmMetrics(
        f"{ctx.short_name}-metrics",
        VllmMetricsArgs(
            cluster_arn=cluster.cluster_arn,
            subnet_ids=network.private_subnet_ids,
            security_group_ids=(cluster.cluster_security_group_id,),  # the nodes' group: pods on port 8000
            namespace=SERVING_NAMESPACE,
            pod_selector=work.labels,
            more_pod_selectors=tuple(w.labels for w in eks_tiers.tier_workloads(ctx, SERVING_NAMESPACE).values()),
            tags=dict(ctx.tags),
        ),
        cluster.provider,
    )
    addons = ServingAddons(
        f"{ctx.short_name}-addons",
        serving_addons_args(ctx, network, multi_node, metrics.workspace_arn),
        cluster.provider,
    )
    after = pulumi.ResourceOptions(depends_on=[namespace, *addons.releases, *endpoint.listeners])
    server = EksModelServer(
        f"{ctx.short_name}-model",
        model_server_args(ctx, cluster, key, secrets, endpoint, work),
        cluster.provider,
        opts=after,
    )
    QueueAutoscaling(
        f"{ctx.short_name}-scaling",
        autoscaling_args(ctx, endpoint, work, metrics.query_url, LWS_API if multi_node else "apps/v1"),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=[server, *addons.releases]),
    )
    serving_metrics = build_cloudwatch_metrics(ctx, cluster, key, work, SERVING_NAMESPACE, after=[namespace])
    tier_outputs = {}
    if eks_tiers.tiered(ctx):
        default = eks_tiers.DefaultTier(work, secrets.api_key_arn, [namespace, *addons.releases, *endpoint.listeners])
        tier_outputs = eks_tiers.build_tiers(
            ctx, network, cluster, key, karpenter.node_role_name, endpoint, default, metrics.query_url
        )
    return {
        **tier_outputs,
        **model_bucket_outputs(ctx, endpoint, server, bucket),
        **weights_sync_outputs(ctx, cluster, key, secrets, image, bucket, after),
        "imageRef": image.image_ref,
        "apiKeySecretArn": secrets.api_key_arn,
        "hfTokenSecretArn": secrets.hf_token_arn,
        "prometheusWorkspaceArn": metrics.workspace_arn,
        "workload": f"{SERVING_NAMESPACE}/{server.workload_name}",
        "layout": ctx.sizing.layout,
    }, serving_metrics


def model_bucket_outputs(
    ctx: StackContext, endpoint: Endpoint, server: EksModelServer, bucket: ModelBucket | None
) -> dict[str, Any]:
    """Loading from S3: the bucket's access logs (into the Endpoint's access-log bucket, as on ECS) and the
    pods' read grant on the model revision's prefix only (ModelBucket.grant on the Pod Identity role)."""
    if bucket is None:
        return {}
    bucket.log_to(endpoint.access_log_bucket_id, f"{S3_ACCESS_LOG_PREFIX}{ctx.short_name}-models/")
    bucket.grant(f"{ctx.short_name}-model-read-model", server.role_name)
    return {"modelUri": bucket.model_uri}


def system_root_gib(ctx: StackContext) -> int:
    """The system nodes' root volume: the default 40 GiB, plus, when the weight-sync Job can run on them
    (loading from S3), the serving image (~30 GB unpacked) and its scratch space for the revision."""
    base = SystemNodeGroupArgs.root_volume_gib
    if ctx.config.model.load_from != "s3":
        return base
    return int(math.ceil((base + INFERENCE_IMAGE_GIB + ephemeral_gib(weights_bytes(ctx))) / 10) * 10)


def weights_sync_outputs(
    ctx: StackContext,
    cluster: EksCluster,
    key: StackKey,
    secrets: ModelSecrets,
    image: ServingImage,
    bucket: ModelBucket | None,
    after: pulumi.ResourceOptions,
) -> dict[str, Any]:
    """Loading from S3: the suspended weight-sync CronJob `make sync-weights` runs (components/eks/weights_sync.py),
    with write access to the model revision's prefix only."""
    if bucket is None:
        return {}
    spec = ctx.model
    sync = EksWeightsSync(
        f"{ctx.short_name}-sync",
        EksWeightsSyncArgs(
            image=image.image_ref,
            hf_id=spec.hf_id,
            revision=spec.revision,
            bucket_name=bucket.bucket_name,
            prefix=bucket.prefix,
            weights_bytes=weights_bytes(ctx),
            hf_token_secret_arn=secrets.hf_token_arn,
            hf_token_grant=secrets.grants[1],
            kms_key_arns=(key.key_arn, *ctx.config.serving.secrets_kms_key_arns),
            cluster_name=ctx.short_name,
            region=ctx.region,
            namespace=SERVING_NAMESPACE,
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        ),
        cluster.provider,
        opts=after,  # the namespace, and the CSI driver's SecretProviderClass kind
    )
    bucket.grant(f"{ctx.short_name}-sync-write-model", sync.role_name, write=True)
    return {
        "weightsSyncJob": {
            "clusterName": ctx.short_name,
            "region": ctx.region,
            "namespace": SERVING_NAMESPACE,
            "cronJob": sync.cron_job_name,
            "modelUri": bucket.model_uri,
        }
    }


def model_secrets_args(ctx: StackContext, key: StackKey) -> ModelSecretsArgs:
    serving = ctx.config.serving
    return ModelSecretsArgs(
        api_key_secret_arn=serving.api_key_secret_arn,
        hf_token_secret_arn=serving.hf_token_secret_arn,
        name_prefix=f"deepseek/{ctx.stack}",
        kms_key_arn=key.key_arn,
        recovery_window_days={"prod": 30, "staging": 7}.get(ctx.config.environment, 0),
        protect=ctx.is_prod,
    )


def serving_addons_args(
    ctx: StackContext, network: Network, multi_node: bool, workspace_arn: pulumi.Output[str]
) -> ServingAddonsArgs:
    v = versions
    return ServingAddonsArgs(
        cluster_name=ctx.short_name,
        region=ctx.region,
        vpc_id=network.vpc_id,
        lb_controller=Chart(v.LB_CONTROLLER_CHART, v.LB_CONTROLLER_VERSION, v.LB_CONTROLLER_REPO),
        csi_driver=Chart(v.CSI_DRIVER_CHART, v.CSI_DRIVER_VERSION, v.CSI_DRIVER_REPO),
        csi_aws_provider=Chart(v.ASCP_CHART, v.ASCP_VERSION, v.ASCP_REPO),
        keda=Chart(v.KEDA_CHART, v.KEDA_VERSION, v.KEDA_REPO),
        lws=Chart(v.LWS_CHART, v.LWS_VERSION) if multi_node else None,
        prometheus_workspace_arn=workspace_arn,
        permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
    )


def model_server_args(
    ctx: StackContext,
    cluster: EksCluster,
    key: StackKey,
    secrets: ModelSecrets,
    endpoint: Endpoint,
    work: Workload,
) -> EksModelServerArgs:
    serving = ctx.config.serving
    return EksModelServerArgs(
        workload=work,
        cluster_name=ctx.short_name,
        region=ctx.region,
        initial_replicas=ctx.config.scaling.min_replicas,
        api_key_secret_arn=secrets.api_key_arn,
        hf_token_secret_arn=secrets.hf_token_arn,
        secret_grants=tuple(secrets.grants),
        kms_key_arns=(key.key_arn, *serving.secrets_kms_key_arns),
        target_group_arn=endpoint.target_group_arn,
        load_balancer_security_group_id=endpoint.security_group_id,
        node_security_group_id=cluster.cluster_security_group_id,
        permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
        internal=eks_tiers.tiered(ctx),  # tiered: the router holds the target group, the tier its Service
    )


def autoscaling_args(
    ctx: StackContext, endpoint: Endpoint, work: Workload, query_url: pulumi.Output[str], api: str
) -> QueueAutoscalingArgs:
    scaling = ctx.config.scaling
    floor = min([scaling.min_replicas, *(r.min_replicas for r in scaling.schedule)])
    kind = "LeaderWorkerSet" if api == LWS_API else "Deployment"
    return QueueAutoscalingArgs(
        namespace=SERVING_NAMESPACE,
        target={"apiVersion": api, "kind": kind, "name": work.name},
        query_url=query_url,
        region=ctx.region,
        metric=scaling.metric,
        target_queue_depth=scaling.target_queue_depth_per_replica,
        target_qps=scaling.target_qps_per_replica,
        min_replicas=floor,
        max_replicas=scaling.max_replicas,
        scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
        load_balancer_arn_suffix=endpoint.load_balancer_arn_suffix,
        target_group_arn_suffix=endpoint.target_group_arn_suffix,
        schedule=cron_windows([(r.name, r.cron, r.min_replicas, r.max_replicas) for r in scaling.schedule]),
        # Tiered: the ALB counts the router's requests; the default tier scales on its own vLLM series.
        model_name=(ctx.config.model.served_model_name or ctx.model.key) if eks_tiers.tiered(ctx) else "",
        behind_router=eks_tiers.tiered(ctx),
    )


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
            system_nodes=SystemNodeGroupArgs(
                instance_type=eks.system_pool.instance_type,
                size=eks.system_pool.size,
                root_volume_gib=system_root_gib(ctx),
            ),
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
        account_id=aws_scope().account_id,
        partition=aws_scope().partition,
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
        cluster_placement=ctx.sizing.nodes_per_replica > 1,
        efa_instance_types=tuple(pool.instance_types) if efa_interfaces(ctx) else (),
        efa_plugin_chart=versions.EFA_PLUGIN_CHART,
        efa_plugin_repo=versions.EFA_PLUGIN_REPO,
        efa_plugin_version=versions.EFA_PLUGIN_VERSION,
        device_plugin_chart=versions.DEVICE_PLUGIN_CHART,
        device_plugin_repo=versions.DEVICE_PLUGIN_REPO,
        device_plugin_version=versions.DEVICE_PLUGIN_VERSION,
        tags=dict(ctx.tags),
    )


def efa_interfaces(ctx: StackContext) -> int:
    """EFA devices each pod of a multi-node replica requests: every EFA interface of the pool's instance types
    (recorded EC2 data, DescribeInstanceTypes EfaInfo.MaximumEfaInterfaces: 32 on p5.48xlarge), so Karpenter
    attaches them all (components/eks/efa.py). 0 for one-node replicas or a type without EFA."""
    if ctx.sizing.nodes_per_replica <= 1 or not all(f.efa_interfaces for f in ctx.instances):
        return 0
    return min(f.efa_interfaces for f in ctx.instances)
