"""ModelService: the vLLM OpenAI-compatible server on ECS (EC2 launch type, GPU) behind an Endpoint.

  cluster (Container Insights) → GPU node pool (child GpuNodePool, joins this cluster) → capacity
  provider association → task definition (vLLM, GPUs = tensor-parallel degree) → service (awsvpc,
  circuit breaker) ← Endpoint (child: ALB, target group, listeners, access-log bucket) ← clients; plus the
  log group, the model secrets (child ModelSecrets: adopted or created, never with values),
  least-privilege roles and request-rate autoscaling (child ReplicaAutoscaling).

The Endpoint's and ModelSecrets' resources were this component's direct children before they were
carved out: each carries an alias to this component (components/shared/moves.py), so no deployed stack
sees them replaced (tests/test_urn_stability.py).

Network mode awsvpc: each task gets its own ENI and security group, so the tasks' security group
admits only the ALB on the container port and the ALB targets task IPs (target type ip). Each task
uses one of the instance's ENIs (the instance's own is one more); GPU types carry more ENIs than GPUs
except g5.48xlarge (8 GPUs, 7 ENIs: at most 6 single-GPU replicas).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.ecs.api_key_rotation import ApiKeyRotation, ApiKeyRotationArgs
from components.ecs.autoscaling import ReplicaAutoscaling, ReplicaAutoscalingArgs, ScheduledCapacity
from components.ecs.capacity import GpuNodePool, GpuNodePoolArgs
from components.ecs.metrics_sidecar import (
    COLLECTOR_MEMORY_RESERVATION_MIB,
    VllmMetrics,
    VllmMetricsArgs,
    collector_container,
)
from components.ecs.task import (
    CONTAINER_NAME,
    HF_CACHE_VOLUME,
    HOST_HF_CACHE,
    cache_dir_user_data,
    container_definitions,
    ecs_tasks_trust_policy,
    execution_policy,
)
from components.shared import vllm
from components.shared.aws_scope import aws_scope
from components.shared.endpoint import Endpoint, EndpointArgs, endpoint_problems
from components.shared.model_bucket import read_policy
from components.shared.model_secrets import ModelSecrets, ModelSecretsArgs, secrets_problems
from components.shared.serving_metrics import ServingMetrics
from components.shared.validation import ArgsProblems

KMS_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")


@dataclass(frozen=True)
class ReplicaScaling:
    min_replicas: int = 1
    max_replicas: int = 1
    target_requests_per_second: float = 1.0
    metric: str = "qps"  # qps (ALB requests per target) | queueDepth (vLLM's waiting requests per task)
    target_queue_depth: float = 5.0  # waiting requests per running task (metric queueDepth)
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 600
    schedule: tuple[ScheduledCapacity, ...] = ()


@dataclass(frozen=True)
class ModelServiceArgs:
    vpc_id: pulumi.Input[str] = ""
    public_subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # the ALB
    private_subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # instances and tasks
    server: vllm.VllmServer = field(default_factory=vllm.VllmServer)
    node_pool: GpuNodePoolArgs = field(default_factory=GpuNodePoolArgs)  # cluster, VPC, subnets filled in here
    scaling: ReplicaScaling = ReplicaScaling()
    kms_key_arn: pulumi.Input[str] = ""  # log group, created secrets, root volumes
    log_group_name: str = ""  # e.g. /deepseek/<stack>/vllm
    log_retention_days: int = 30
    allowed_cidrs: tuple[str, ...] = ()  # who may reach the ALB; empty admits nobody
    certificate_arn: str = ""  # ACM certificate: HTTPS on 443 (+ HTTP→HTTPS redirect); empty: HTTP on 80 only
    http_redirect_listener: bool = True  # with a certificate, also redirect port 80 (prod: 443 only, ELB.18)
    api_key_secret_arn: str = ""  # adopt; empty creates an empty secret
    hf_token_secret_arn: str = ""
    # Days between rotations of the API-key secret this service creates (an ApiKeyRotation child); 0 = none.
    # An adopted secret is never rotated here: its owner rotates it.
    api_key_rotation_days: int = 0
    # KMS keys the adopted secrets are encrypted with (customer-managed, not the stack key): the execution
    # role may decrypt with them through Secrets Manager only. Not needed for aws/secretsmanager.
    secrets_kms_key_arns: tuple[str, ...] = ()
    deletion_protection: bool = False  # ALB deletion protection, retained log bucket without force_destroy (prod)
    # Pulumi protect + retain_on_delete on the stateful children: log group, created secrets, access-log
    # bucket (prod). Protected resources refuse `pulumi destroy`; retained ones outlive their removal.
    protect: bool = False
    secret_name_prefix: str = ""  # created secrets are <prefix>/vllm-api-key and <prefix>/hf-token
    secret_recovery_window_days: int = 7  # 0 deletes at once (dev: a re-created stack can reuse the name)
    access_log_retention_days: int = 90
    idle_timeout_seconds: int = 600  # long enough for a streamed reasoning answer between chunks/tokens
    # Spot notice is 120 s: ALB drain (deregistration delay) + container stop must finish inside it.
    deregistration_delay_seconds: int = 80
    deployment_minimum_healthy_percent: int = 100
    deployment_maximum_percent: int = 200
    # Permissions boundary of the execution and task roles (the node pool's role takes its own); "" = none.
    permissions_boundary_arn: str = ""
    # server.load_from "s3": the model bucket and the revision's prefix the task role may read (nothing else;
    # components/shared/model_bucket.py read_policy). Unused when the server loads from the Hub.
    model_bucket_arn: pulumi.Input[str] = ""
    model_prefix: str = ""
    # A tier behind the router (tiered serving): its Endpoint is an internal ALB in the private subnets.
    internal: bool = False
    # The ADOT collector sidecar (components/ecs/metrics_sidecar.py), pinned; "" = no vLLM metrics (and no
    # queue-depth scaling). Its EMF log group is <log_group_name>/metrics.
    collector_image: str = ""


def endpoint_args(args: ModelServiceArgs, moved_from: pulumi.Resource | None = None, **more: Any) -> EndpointArgs:
    """The service's Endpoint: public subnets, vLLM's port, the load balancer settings of `args`."""
    return EndpointArgs(
        vpc_id=args.vpc_id,
        subnet_ids=args.private_subnet_ids if args.internal else args.public_subnet_ids,
        internal=args.internal,
        target_port=vllm.PORT,
        allowed_cidrs=args.allowed_cidrs,
        certificate_arn=args.certificate_arn,
        http_redirect_listener=args.http_redirect_listener,
        idle_timeout_seconds=args.idle_timeout_seconds,
        deregistration_delay_seconds=args.deregistration_delay_seconds,
        deletion_protection=args.deletion_protection,
        protect=args.protect,
        access_log_retention_days=args.access_log_retention_days,
        moved_from=moved_from,
        **more,
    )


def secrets_args(args: ModelServiceArgs, moved_from: pulumi.Resource | None = None) -> ModelSecretsArgs:
    return ModelSecretsArgs(
        api_key_secret_arn=args.api_key_secret_arn,
        hf_token_secret_arn=args.hf_token_secret_arn,
        name_prefix=args.secret_name_prefix,
        kms_key_arn=args.kms_key_arn,
        recovery_window_days=args.secret_recovery_window_days,
        protect=args.protect,
        moved_from=moved_from,
        api_key_rotated=_rotates(args),
    )


class ModelService(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    endpoint_url: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    load_balancer_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    api_key_secret_arn: pulumi.Output[str]
    hf_token_secret_arn: pulumi.Output[str]
    hf_token_grant_arn: str | pulumi.Output[str]  # the ARN (pattern) an identity reading the token is granted
    task_role_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    access_log_bucket_id: pulumi.Output[str]  # the Endpoint's SSE-S3 bucket; takes S3 server access logs too
    node_pool: GpuNodePool
    endpoint: Endpoint
    target_group_name: str
    health_check_grace_seconds: int
    serving_metrics: ServingMetrics | None  # vLLM's series in CloudWatch (with a collector image)

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:ModelService", name, None, opts)
        _validate(args)
        self._child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        secrets = ModelSecrets(name, secrets_args(args, moved_from=self), opts=self._child)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enhanced"}],  # per-task GPU/memory metrics
            opts=self._child,
        )
        task_sg = self._task_security_group(name, args)
        self.endpoint = Endpoint(
            name, endpoint_args(args, moved_from=self, target_security_group_id=task_sg.id), opts=self._child
        )
        self._task_rules(name, task_sg, self.endpoint.security_group_id)
        capacity = self._capacity(name, args, cluster)
        task_definition = self._task_definition(name, args, log_group, secrets, cluster)
        service = self._service(name, args, cluster, task_definition, task_sg, capacity)
        self._rotation(name, args, secrets, cluster, service)
        self._autoscaling(name, args.scaling, cluster, service)
        self._expose(args, cluster, service, log_group, secrets)

    def _task_security_group(self, name: str, args: ModelServiceArgs) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{name}-tasks",
            vpc_id=args.vpc_id,
            description="vLLM tasks: the load balancer on the API port only",
            tags={"Name": f"{name}-tasks"},
            opts=self._child,
        )

    def _task_rules(self, name: str, task_sg: aws.ec2.SecurityGroup, alb_sg_id: pulumi.Input[str]) -> None:
        """The tasks take the API port from the load balancer only, and reach out on HTTPS only."""
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-from-alb",
            security_group_id=task_sg.id,
            referenced_security_group_id=alb_sg_id,
            ip_protocol="tcp",
            from_port=vllm.PORT,
            to_port=vllm.PORT,
            description="vLLM API from the load balancer only",
            opts=self._child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https-out",
            security_group_id=task_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Weights from the Hugging Face Hub over HTTPS (through NAT)",
            opts=self._child,
        )

    def _capacity(
        self, name: str, args: ModelServiceArgs, cluster: aws.ecs.Cluster
    ) -> aws.ecs.ClusterCapacityProviders:
        """The GPU node pool joined to this cluster, and the cluster's capacity provider strategy."""
        pool_args = replace(
            args.node_pool,
            cluster_name=cluster.name,
            vpc_id=args.vpc_id,
            subnet_ids=args.private_subnet_ids,
            kms_key_arn=args.kms_key_arn,
            container_stop_timeout_seconds=args.server.stop_timeout_seconds,
            extra_user_data=cache_dir_user_data() + args.node_pool.extra_user_data,
            prepull_image=args.server.image,  # what a warm-pool instance pulls before it is stopped
        )
        self.node_pool = GpuNodePool(f"{name}-pool", pool_args, opts=self._child)
        return aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=[self.node_pool.capacity_provider_name],
            default_capacity_provider_strategies=[
                {"capacity_provider": self.node_pool.capacity_provider_name, "weight": 1, "base": 0}
            ],
            opts=self._child,
        )

    def _task_definition(
        self,
        name: str,
        args: ModelServiceArgs,
        log_group: aws.cloudwatch.LogGroup,
        secrets: ModelSecrets,
        cluster: aws.ecs.Cluster,
    ) -> aws.ecs.TaskDefinition:
        server = args.server
        region = aws_scope(self).region
        execution_role, task_role = self._roles(name, args, secrets)
        self._metrics(name, args, region, cluster, task_role)
        keep_alive = vllm.keep_alive_seconds(args.idle_timeout_seconds)
        # The image (ServingImage's digest ref) and the S3 model URI may be Outputs: resolved here, so the
        # container definition is built from plain values (its structure never depends on them).
        rotated = _rotates(args)
        definitions = pulumi.Output.all(
            secrets.api_key_arn, secrets.hf_token_arn, log_group.name, server.image, server.model_uri, cluster.name
        ).apply(
            lambda a: json.dumps(
                container_definitions(
                    replace(server, image=a[3], model_uri=a[4]),
                    a[0],
                    a[1],
                    a[2],
                    region,
                    keep_alive,
                    rotated,
                    _sidecars(args, region, a[5], a[2]),
                )
            )
        )
        return aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{name}",
            network_mode="awsvpc",
            requires_compatibilities=["EC2"],
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=definitions,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            volumes=[{"name": HF_CACHE_VOLUME, "host_path": HOST_HF_CACHE}],
            opts=self._child,
        )

    def _metrics(
        self, name: str, args: ModelServiceArgs, region: str, cluster: aws.ecs.Cluster, task_role: aws.iam.Role
    ) -> None:
        """The collector sidecar's log group and the task role's grant on it (with a collector image)."""
        self.serving_metrics = None
        if not args.collector_image:
            return
        metrics = VllmMetrics(
            f"{name}-metrics",
            VllmMetricsArgs(
                collector_image=args.collector_image,
                region=region,
                cluster_name=cluster.name,
                task_role_name=task_role.name,
                log_group_name=metrics_log_group_name(args),
                log_retention_days=args.log_retention_days,
                kms_key_arn=args.kms_key_arn,
                protect=args.protect,
            ),
            opts=self._child,
        )
        self.serving_metrics = metrics.serving_metrics

    def _roles(self, name: str, args: ModelServiceArgs, secrets: ModelSecrets) -> tuple[aws.iam.Role, aws.iam.Role]:
        """The execution role (the ECS agent: image, logs, the two secrets) and the task role (vLLM's
        identity: loading from the Hub it holds no permissions, loading from S3 it reads one model revision;
        it exists so the containers never fall back to the instance role, and IMDS is blocked anyway)."""
        scope = aws_scope(self)
        account_id, region, partition = scope.account_id, scope.region, scope.partition
        trust = json.dumps(ecs_tasks_trust_policy(account_id, region, partition))
        execution_role = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=trust,
            description="ECS agent for the vLLM task: image pull, logs, the two secrets",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=self._child,
        )
        # Built from the explicit name, so the execution policy is known at plan time.
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{args.log_group_name}"
        policy = pulumi.Output.all(args.kms_key_arn, args.server.image).apply(
            lambda a: json.dumps(
                execution_policy(log_group_arn, secrets.grants, a[0], region, a[1], args.secrets_kms_key_arns)
            )
        )
        aws.iam.RolePolicy(f"{name}-execution", role=execution_role.name, policy=policy, opts=self._child)
        task_role = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=trust,
            description=(
                "vLLM container identity: read on its model revision in S3"
                if args.server.load_from == "s3"
                else "vLLM container identity: no AWS permissions"
            ),
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=self._child,
        )
        if args.server.load_from == "s3":
            self._model_read_grant(name, args, task_role, region)
        self.task_role_name = task_role.name
        return execution_role, task_role

    def _model_read_grant(self, name: str, args: ModelServiceArgs, task_role: aws.iam.Role, region: str) -> None:
        """The Run:ai streamer's S3 reads: the model revision's prefix, listed and read, decrypted through
        S3 only (the bucket's SSE-KMS stack key)."""
        aws.iam.RolePolicy(
            f"{name}-read-model",
            role=task_role.name,
            policy=pulumi.Output.all(args.model_bucket_arn, args.kms_key_arn).apply(
                lambda a: json.dumps(read_policy(a[0], args.model_prefix, a[1], region))
            ),
            opts=self._child,
        )

    def _service(
        self,
        name: str,
        args: ModelServiceArgs,
        cluster: aws.ecs.Cluster,
        task_definition: aws.ecs.TaskDefinition,
        task_sg: aws.ec2.SecurityGroup,
        capacity: aws.ecs.ClusterCapacityProviders,
    ) -> aws.ecs.Service:
        self.health_check_grace_seconds = vllm.health_check_grace_seconds(args.server.startup_seconds)
        return aws.ecs.Service(
            f"{name}-svc",
            cluster=cluster.arn,
            task_definition=task_definition.arn,
            desired_count=args.scaling.min_replicas,  # initial only: autoscaling owns it afterwards
            capacity_provider_strategies=[
                {"capacity_provider": self.node_pool.capacity_provider_name, "weight": 1, "base": 0}
            ],
            network_configuration={
                "subnets": args.private_subnet_ids,
                "security_groups": [task_sg.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": self.endpoint.target_group_arn,
                    "container_name": CONTAINER_NAME,
                    "container_port": vllm.PORT,
                }
            ],
            # Replicas in different AZs first; then fill instances so empty ones can be scaled in.
            ordered_placement_strategies=[
                {"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "binpack", "field": "memory"},
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=args.deployment_minimum_healthy_percent,
            deployment_maximum_percent=args.deployment_maximum_percent,
            health_check_grace_period_seconds=self.health_check_grace_seconds,
            # Rebalancing would stop warm replicas to start cold ones elsewhere: minutes of lost capacity.
            availability_zone_rebalancing="DISABLED",
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            wait_for_steady_state=False,  # first starts take many minutes; `pulumi up` should not block on them
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[capacity, *self.endpoint.listeners], ignore_changes=["desiredCount"]
            ),
        )

    def _rotation(
        self,
        name: str,
        args: ModelServiceArgs,
        secrets: ModelSecrets,
        cluster: aws.ecs.Cluster,
        service: aws.ecs.Service,
    ) -> None:
        """The created API-key secret rotates every api_key_rotation_days and redeploys this service."""
        if not _rotates(args):
            return
        ApiKeyRotation(
            f"{name}-key-rotation",
            ApiKeyRotationArgs(
                secret_arn=secrets.api_key_arn,
                cluster_arn=cluster.arn,
                service_name=service.name,
                service_arn=service.arn,
                rotation_days=args.api_key_rotation_days,
                kms_key_arn=args.kms_key_arn,
                function_name=f"{name}-api-key-rotation",
                log_group_name=f"{args.log_group_name}-api-key-rotation",
                log_retention_days=args.log_retention_days,
                permissions_boundary_arn=args.permissions_boundary_arn,
                protect=args.protect,
            ),
            opts=self._child,
        )

    def _autoscaling(
        self, name: str, scaling: ReplicaScaling, cluster: aws.ecs.Cluster, service: aws.ecs.Service
    ) -> None:
        ReplicaAutoscaling(
            f"{name}-scaling",
            ReplicaAutoscalingArgs(
                cluster_name=cluster.name,
                service_name=service.name,
                load_balancer_arn_suffix=self.endpoint.load_balancer_arn_suffix,
                target_group_arn_suffix=self.endpoint.target_group_arn_suffix,
                min_replicas=scaling.min_replicas,
                max_replicas=scaling.max_replicas,
                target_requests_per_second=scaling.target_requests_per_second,
                metric=scaling.metric,
                target_queue_depth=scaling.target_queue_depth,
                serving_metrics=self.serving_metrics,
                scale_out_cooldown_seconds=scaling.scale_out_cooldown_seconds,
                scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
                schedule=scaling.schedule,
            ),
            opts=self._child,
        )

    def _expose(
        self,
        args: ModelServiceArgs,
        cluster: aws.ecs.Cluster,
        service: aws.ecs.Service,
        log_group: aws.cloudwatch.LogGroup,
        secrets: ModelSecrets,
    ) -> None:
        self.cluster_name = cluster.name
        self.service_name = service.name
        self.log_group_name = log_group.name
        self.endpoint_url = self.endpoint.url
        self.load_balancer_arn_suffix = self.endpoint.load_balancer_arn_suffix
        self.load_balancer_arn = self.endpoint.load_balancer_arn  # what a web ACL is associated with
        self.target_group_arn_suffix = self.endpoint.target_group_arn_suffix
        self.target_group_name = self.endpoint.target_group_name
        self.api_key_secret_arn = secrets.api_key_arn
        self.hf_token_secret_arn = secrets.hf_token_arn
        self.hf_token_grant_arn = secrets.grants[1]
        self.cluster_arn = cluster.arn
        self.access_log_bucket_id = self.endpoint.access_log_bucket_id
        self.register_outputs(
            {
                "endpointUrl": self.endpoint_url,
                "clusterName": self.cluster_name,
                "serviceName": self.service_name,
                "logGroupName": self.log_group_name,
                "apiKeySecretArn": self.api_key_secret_arn,
            }
        )


def metrics_log_group_name(args: ModelServiceArgs) -> str:
    return f"{args.log_group_name}/metrics"


def _sidecars(args: ModelServiceArgs, region: str, cluster_name: str, log_group: str) -> tuple[dict[str, Any], ...]:
    """The task's non-essential containers: the metrics collector, with a collector image."""
    if not args.collector_image:
        return ()
    return (collector_container(args.collector_image, region, cluster_name, metrics_log_group_name(args), log_group),)


def _rotates(args: ModelServiceArgs) -> bool:
    """Whether this service rotates its API key: it created the secret and a rotation period is set."""
    return args.api_key_rotation_days > 0 and not args.api_key_secret_arn


# ModelSecrets' property paths as ModelServiceArgs names them (the Endpoint's are the same names).
_SECRETS_PATHS = {"namePrefix": "secretNamePrefix", "recoveryWindowDays": "secretRecoveryWindowDays"}


def _validate(args: ModelServiceArgs) -> None:
    """Every problem at once, the children's included, before anything is declared."""
    problems = ArgsProblems("ModelService")
    s = args.server
    problems.check(bool(s.hf_model_id), "server.hfModelId", "is required")
    problems.check(bool(s.served_model_name), "server.servedModelName", "is required")
    problems.check(
        not isinstance(s.image, str)  # an Output: ServingImage's digest ref
        or (bool(re.match(r"^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$", s.image)) and not s.image.endswith(":latest")),
        "server.image",
        "needs a pinned tag or digest, not latest",
    )
    if s.load_from == "s3":
        problems.check(bool(s.model_uri), "server.modelUri", "is required when loading from s3")
        problems.check(bool(args.model_bucket_arn), "modelBucketArn", "is required when the server loads from s3")
        problems.check(bool(args.model_prefix), "modelPrefix", "is required when the server loads from s3")
        problems.check(
            1 <= s.streamer_concurrency <= 256, "server.streamerConcurrency", "must be 1-256 streamer threads"
        )
    problems.check(s.tensor_parallel_size >= 1, "server.tensorParallelSize", "must be at least 1")
    problems.check(0 < s.gpu_memory_utilization <= 1, "server.gpuMemoryUtilization", "must be in (0, 1]")
    sidecar_mib = COLLECTOR_MEMORY_RESERVATION_MIB if args.collector_image else 0
    problems.check(
        s.memory_reservation_mib - sidecar_mib >= 1024,
        "server.memoryReservationMib",
        "must be at least 1024 (plus the metrics collector's reservation)",
    )
    problems.check(
        0 < s.shared_memory_mib <= s.memory_reservation_mib - sidecar_mib,
        "server.sharedMemoryMib",
        "must be above 0 and within the vLLM container's memory reservation",
    )
    problems.check(
        not args.collector_image or bool(re.match(r"^[\w./-]+(:v[\w.-]+|@sha256:[0-9a-f]{64})$", args.collector_image)),
        "collectorImage",
        "a pinned aws-otel-collector tag or digest (never latest)",
    )
    problems.check(args.scaling.metric in ("qps", "queueDepth"), "scaling.metric", "must be qps or queueDepth")
    problems.check(
        args.scaling.metric != "queueDepth" or bool(args.collector_image),
        "scaling.metric",
        "queueDepth needs vLLM's metrics: set collectorImage",
    )
    problems.check(2 <= s.stop_timeout_seconds <= 120, "server.stopTimeoutSeconds", "ECS allows 2-120 s")
    problems.check(
        args.deregistration_delay_seconds + s.stop_timeout_seconds < 120,
        "deregistrationDelaySeconds",
        "drain plus stop timeout must finish inside the 120 s spot interruption notice",
    )
    problems.check(bool(args.log_group_name.startswith("/")), "logGroupName", "must be an explicit /path name")
    problems.check(
        args.log_retention_days in _LOG_RETENTION_DAYS,
        "logRetentionDays",
        "must be a CloudWatch Logs retention value (e.g. 30, 90, 365)",
    )
    problems.check(
        all(KMS_KEY_ARN.match(k) for k in args.secrets_kms_key_arns),
        "secretsKmsKeyArns",
        "must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>; an alias is no IAM resource)",
    )
    problems.check(
        0 <= args.deployment_minimum_healthy_percent <= 100, "deploymentMinimumHealthyPercent", "must be 0-100"
    )
    problems.check(100 <= args.deployment_maximum_percent <= 200, "deploymentMaximumPercent", "must be 100-200")
    problems.errors += endpoint_problems(endpoint_args(args)).errors
    for error in secrets_problems(secrets_args(args)).errors:
        path = error["property_path"]
        problems.errors.append({**error, "property_path": _SECRETS_PATHS.get(path, path)})
    problems.raise_if_any()


_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
