"""ModelService: the vLLM OpenAI-compatible server on ECS (EC2 launch type, GPU) behind an ALB.

One component owns the serving path end to end:
  cluster (Container Insights) → GPU node pool (child GpuNodePool, joins this cluster) → capacity
  provider association → task definition (vLLM, GPUs = tensor-parallel degree) → service (awsvpc,
  circuit breaker) ← ALB (HTTPS when a certificate is given) ← clients; plus the log group, the API
  key / HF token secrets (adopted or created, never with values), least-privilege roles, the ALB
  access-log bucket and request-rate autoscaling (child ReplicaAutoscaling).

Network mode awsvpc: each task gets its own ENI and security group, so the tasks' security group
admits only the ALB on the container port and the ALB targets task IPs (target type ip). Each task
uses one of the instance's ENIs (the instance's own is one more); GPU types carry more ENIs than GPUs
except g5.48xlarge (8 GPUs, 7 ENIs: at most 6 single-GPU replicas).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.replica_autoscaling import ReplicaAutoscaling, ReplicaAutoscalingArgs, ScheduledCapacity
from components.validation import ArgsProblems

CONTAINER_NAME = "vllm"
CONTAINER_PORT = 8000  # vLLM's default; /health and /v1/* on one port
HF_CACHE = "/root/.cache/huggingface"  # HF_HOME of the image's root user
HOST_HF_CACHE = "/var/lib/deepseek/hf-cache"  # survives task restarts on the instance; shared by its replicas

# Start-up estimate (weights download + load + engine start). Stated assumptions, not measurements:
DOWNLOAD_MB_PER_S = 100  # Hugging Face Hub through a NAT gateway, conservative (a first start)
ENGINE_INIT_SECONDS = 120  # torch.compile, CUDA graph capture, KV-cache profiling (vLLM V1)
GRACE_MARGIN = 1.5  # the health-check grace covers the estimate with half again as margin
ECS_MAX_START_PERIOD = 300  # ECS caps a container health check's startPeriod at 300 s

ELB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The only paths the load balancer forwards: the OpenAI API, every route of which vLLM guards with
# VLLM_API_KEY. ALB path patterns are case-sensitive, `*` matches any characters (including /) and the
# query string is not part of the match (ALB user guide, "Listener rules", path conditions).
API_PATH_PATTERNS = ("/v1/*",)
API_RULE_PRIORITY = 100
NOT_FOUND_ACTION = {
    "type": "fixed-response",
    "fixed_response": {
        "content_type": "application/json",
        "message_body": '{"error":{"message":"not found","type":"invalid_request_error","code":404}}',
        "status_code": "404",
    },
}
# uvicorn's keep-alive (vLLM default 5 s, envs.py VLLM_HTTP_TIMEOUT_KEEP_ALIVE, seconds; vLLM PR #18472)
# must outlast the ALB idle timeout, else the ALB reuses a socket vLLM already closed: a 502. The ALB
# user guide ("Connection idle timeout") asks for a target keep-alive above the load balancer's.
KEEP_ALIVE_MARGIN_SECONDS = 15
SECRET_ARN = re.compile(r"^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$")
KMS_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")
CERT_ARN = re.compile(r"^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate/[\w-]+$")

# ALB access logs: Regions that existed before August 2022 grant a regional Elastic Load Balancing
# account; newer Regions grant the log-delivery service principal instead (ALB user guide, "Enable
# access logs for your Application Load Balancer", step 2).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
}
ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"


def estimate_startup_seconds(weights_bytes: float, load_mib_per_s: int) -> int:
    """Seconds from container start to a ready /health on a fresh instance: download the weights,
    read them from the root volume into GPU memory, start the engine."""
    megabytes = weights_bytes / 1e6
    load_mb_per_s = load_mib_per_s * 1.048576
    return math.ceil(megabytes / DOWNLOAD_MB_PER_S + megabytes / load_mb_per_s + ENGINE_INIT_SECONDS)


def health_check_grace_seconds(startup_seconds: int) -> int:
    """The service ignores ELB and container health checks this long after a task starts: the
    estimate plus margin, in whole minutes."""
    return math.ceil(startup_seconds * GRACE_MARGIN / 60) * 60


@dataclass(frozen=True)
class VllmServer:
    """What the container runs: `vllm serve <model>` with the sizing's parallelism and memory."""

    image: pulumi.Input[str] = "vllm/vllm-openai:v0.31.0"  # a digest-pinned ECR ref (ServingImage.image_ref)
    hf_model_id: str = ""
    # What `vllm serve` loads: "" = hf_model_id from the Hub; s3://<bucket>/<hf id>/<revision> with extra_args
    # `--load-format runai_streamer` streams it from the model bucket (components/shared/model_bucket.py).
    model: pulumi.Input[str] = ""
    extra_env: tuple[tuple[str, str], ...] = ()
    served_model_name: str = ""
    tensor_parallel_size: int = 1  # = GPUs reserved per task
    max_model_len: int = 8192
    gpu_memory_utilization: float = 0.9
    memory_reservation_mib: int = 4096  # soft limit, used for placement; no hard limit (no OOM kill on load)
    shared_memory_mib: int = 8192  # /dev/shm: PyTorch/NCCL pass tensors between TP workers through it
    startup_seconds: int = 300  # estimate_startup_seconds(...)
    stop_timeout_seconds: int = 30  # SIGTERM→SIGKILL; vLLM exits in seconds once drained
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplicaScaling:
    min_replicas: int = 1
    max_replicas: int = 1
    target_requests_per_second: float = 1.0
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 600
    schedule: tuple[ScheduledCapacity, ...] = ()


@dataclass(frozen=True)
class ModelServiceArgs:
    vpc_id: pulumi.Input[str] = ""
    public_subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # the ALB
    private_subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # instances and tasks
    server: VllmServer = VllmServer()
    node_pool: GpuNodePoolArgs = field(default_factory=GpuNodePoolArgs)  # cluster, VPC, subnets filled in here
    scaling: ReplicaScaling = ReplicaScaling()
    kms_key_arn: pulumi.Input[str] = ""  # log group, created secrets, root volumes
    log_group_name: str = ""  # e.g. /deepseek/<stack>/vllm
    log_retention_days: int = 30
    allowed_cidrs: tuple[str, ...] = ()  # who may reach the ALB; empty admits nobody
    certificate_arn: str = ""  # ACM certificate: HTTPS on 443 and HTTP→HTTPS; empty: HTTP on 80 only
    api_key_secret_arn: str = ""  # adopt; empty creates an empty secret
    hf_token_secret_arn: str = ""
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
    node_pool: GpuNodePool
    target_group_name: str
    health_check_grace_seconds: int

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:ModelService", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        stateful = _stateful(self, args)
        server = args.server
        account_id = aws.get_caller_identity().account_id
        region = aws.get_region().region
        partition = aws.get_partition().partition

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=stateful,
        )
        # Each secret: (ARN the container reads, ARN pattern the execution role may read).
        api_key_arn, api_key_grant = self._secret(
            name,
            "vllm-api-key",
            args.api_key_secret_arn,
            args,
            "Bearer token clients send to the vLLM OpenAI API (vLLM reads VLLM_API_KEY)",
            (account_id, region, partition),
        )
        hf_token_arn, hf_token_grant = self._secret(
            name,
            "hf-token",
            args.hf_token_secret_arn,
            args,
            "Hugging Face read token for downloading model weights (HF_TOKEN)",
            (account_id, region, partition),
        )
        # Built from the explicit name, so the execution policy is known at plan time.
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{args.log_group_name}"

        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enhanced"}],  # per-task GPU/memory metrics
            opts=child,
        )

        # --- security groups -------------------------------------------------------------------
        alb_sg = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            description="vLLM load balancer: clients from the allowed CIDRs only",
            tags={"Name": f"{name}-alb", "deepseek:role": "load-balancer"},
            opts=child,
        )
        task_sg = aws.ec2.SecurityGroup(
            f"{name}-tasks",
            vpc_id=args.vpc_id,
            description="vLLM tasks: the load balancer on the API port only",
            tags={"Name": f"{name}-tasks"},
            opts=child,
        )
        listener_ports = (80, 443) if args.certificate_arn else (80,)
        for cidr in args.allowed_cidrs:
            for port in listener_ports:
                slug = cidr.replace(".", "-").replace("/", "-")
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{slug}",
                    security_group_id=alb_sg.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"Clients in {cidr} to the {'HTTPS' if port == 443 else 'HTTP'} listener",
                    opts=child,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-tasks",
            security_group_id=alb_sg.id,
            referenced_security_group_id=task_sg.id,
            ip_protocol="tcp",
            from_port=CONTAINER_PORT,
            to_port=CONTAINER_PORT,
            description="Load balancer to vLLM tasks (requests and /health checks)",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-from-alb",
            security_group_id=task_sg.id,
            referenced_security_group_id=alb_sg.id,
            ip_protocol="tcp",
            from_port=CONTAINER_PORT,
            to_port=CONTAINER_PORT,
            description="vLLM API from the load balancer only",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https-out",
            security_group_id=task_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Weights from the Hugging Face Hub over HTTPS (through NAT)",
            opts=child,
        )

        # --- GPU capacity ------------------------------------------------------------------------
        pool_args = GpuNodePoolArgs(
            **{
                **_fields(args.node_pool),
                "cluster_name": cluster.name,
                "vpc_id": args.vpc_id,
                "subnet_ids": args.private_subnet_ids,
                "kms_key_arn": args.kms_key_arn,
                "container_stop_timeout_seconds": server.stop_timeout_seconds,
            }
        )
        self.node_pool = GpuNodePool(f"{name}-pool", pool_args, opts=child)
        capacity = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=[self.node_pool.capacity_provider_name],
            default_capacity_provider_strategies=[
                {"capacity_provider": self.node_pool.capacity_provider_name, "weight": 1, "base": 0}
            ],
            opts=child,
        )

        # --- IAM -------------------------------------------------------------------------------
        trust = json.dumps(_ecs_tasks_trust_policy(account_id, region, partition))
        execution_role = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=trust,
            description="ECS agent for the vLLM task: image pull, logs, the two secrets",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=execution_role.name,
            policy=pulumi.Output.all(args.kms_key_arn, server.image).apply(
                lambda a: json.dumps(
                    execution_policy(
                        log_group_arn,
                        [api_key_grant, hf_token_grant],
                        a[0],
                        region,
                        a[1],
                        secrets_kms_key_arns=args.secrets_kms_key_arns,
                    )
                )
            ),
            opts=child,
        )
        # The task role: the identity vLLM runs as. Loading from the Hub it holds no permissions; loading
        # from S3 the stack grants it read on one model prefix (ModelBucket.grant on task_role_name).
        # It exists so the containers never fall back to the instance role (IMDS is blocked anyway).
        task_role = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=trust,
            description="vLLM container identity: at most read on its model revision in S3",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )

        # --- task definition -----------------------------------------------------------------------
        definitions = pulumi.Output.all(
            api_key_arn, hf_token_arn, log_group.name, server.image, server.model or server.hf_model_id
        ).apply(
            lambda a: json.dumps(
                container_definitions(
                    server,
                    a[0],
                    a[1],
                    a[2],
                    region,
                    args.idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS,
                    image=a[3],
                    model=a[4],
                )
            )
        )
        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=f"{name}",
            network_mode="awsvpc",
            requires_compatibilities=["EC2"],
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=definitions,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            volumes=[{"name": "hf-cache", "host_path": HOST_HF_CACHE}],
            opts=child,
        )

        # --- load balancer ---------------------------------------------------------------------
        log_bucket = self._access_log_bucket(name, args, account_id, region, partition)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=args.public_subnet_ids,
            security_groups=[alb_sg.id],
            drop_invalid_header_fields=True,  # no request smuggling through malformed headers (ELB.4)
            idle_timeout=args.idle_timeout_seconds,
            enable_deletion_protection=args.deletion_protection,
            access_logs={"bucket": log_bucket.id, "prefix": "alb", "enabled": True},  # a bucket's id is its name
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._log_bucket_policy]),
        )
        self.target_group_name = f"{name}-tg"
        target_group = aws.lb.TargetGroup(
            self.target_group_name,
            target_type="ip",  # awsvpc tasks register by ENI address
            port=CONTAINER_PORT,
            protocol="HTTP",
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            # Requests differ by orders of magnitude in length; send each to the least busy replica.
            load_balancing_algorithm_type="least_outstanding_requests",
            health_check={
                "enabled": True,
                "path": "/health",  # 200 once the engine is up; not behind the API key
                "port": "traffic-port",
                "protocol": "HTTP",
                "matcher": "200",
                "interval": 15,
                "timeout": 5,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,  # ~45 s to pull a dead replica out of rotation
            },
            opts=child,
        )
        listeners = self._listeners(name, args, alb, target_group)

        # --- service ---------------------------------------------------------------------------
        self.health_check_grace_seconds = health_check_grace_seconds(server.startup_seconds)
        service = aws.ecs.Service(
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
                    "target_group_arn": target_group.arn,
                    "container_name": CONTAINER_NAME,
                    "container_port": CONTAINER_PORT,
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
                parent=self, depends_on=[capacity, *listeners], ignore_changes=["desiredCount"]
            ),
        )

        scaling = args.scaling
        ReplicaAutoscaling(
            f"{name}-scaling",
            ReplicaAutoscalingArgs(
                cluster_name=cluster.name,
                service_name=service.name,
                load_balancer_arn_suffix=alb.arn_suffix,
                target_group_arn_suffix=target_group.arn_suffix,
                min_replicas=scaling.min_replicas,
                max_replicas=scaling.max_replicas,
                target_requests_per_second=scaling.target_requests_per_second,
                scale_out_cooldown_seconds=scaling.scale_out_cooldown_seconds,
                scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
                schedule=scaling.schedule,
            ),
            opts=child,
        )

        scheme = "https" if args.certificate_arn else "http"
        self.cluster_name = cluster.name
        self.service_name = service.name
        self.log_group_name = log_group.name
        self.endpoint_url = pulumi.Output.concat(f"{scheme}://", alb.dns_name)
        self.load_balancer_arn_suffix = alb.arn_suffix
        self.load_balancer_arn = alb.arn  # what a web ACL (components/web_acl.py) is associated with
        self.target_group_arn_suffix = target_group.arn_suffix
        self.api_key_secret_arn = pulumi.Output.from_input(api_key_arn)
        self.hf_token_secret_arn = pulumi.Output.from_input(hf_token_arn)
        self.hf_token_grant_arn = hf_token_grant  # the ARN pattern an identity reading the token is granted
        self.security_group_ids = {"alb": alb_sg.id, "tasks": task_sg.id}
        self.task_role_name = task_role.name
        self.cluster_arn = cluster.arn
        self.access_log_bucket_id = log_bucket.id  # SSE-S3; also takes the model bucket's S3 access logs
        self.register_outputs(
            {
                "endpointUrl": self.endpoint_url,
                "clusterName": self.cluster_name,
                "serviceName": self.service_name,
                "logGroupName": self.log_group_name,
                "apiKeySecretArn": self.api_key_secret_arn,
            }
        )

    def _secret(
        self,
        name: str,
        kind: str,
        existing: str,
        args: ModelServiceArgs,
        description: str,
        where: tuple[str, str, str],
    ) -> tuple[pulumi.Input[str], str]:
        """Adopt an existing secret by ARN, or create an empty one; values never enter code or state.
        Returns the ARN to reference and the ARN (pattern) to grant."""
        if existing:
            return existing, existing
        account_id, region, partition = where
        secret_name = f"{args.secret_name_prefix}/{kind}"
        secret = aws.secretsmanager.Secret(
            f"{name}-{kind}",
            name=secret_name,  # a stable name users can find: README says put the value here
            description=f"{description}. Set its value with `aws secretsmanager put-secret-value`.",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=args.secret_recovery_window_days,
            opts=_stateful(self, args),
        )
        # Secrets Manager appends "-" and six random characters to the name in the ARN.
        return secret.arn, f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{secret_name}-??????"

    def _access_log_bucket(
        self, name: str, args: ModelServiceArgs, account_id: str, region: str, partition: str
    ) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-alb-logs",
            force_destroy=not args.deletion_protection,  # dev/staging logs go with the stack
            opts=_stateful(self, args, retain=args.deletion_protection),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-alb-logs",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs off; the account owns every log object
            opts=child,
        )
        # ALB access logs support only SSE-S3 (ALB user guide, bucket requirements), not SSE-KMS.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-alb-logs", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": args.access_log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 7},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        self._log_bucket_policy = aws.s3.BucketPolicy(
            f"{name}-alb-logs",
            bucket=bucket.id,
            # A bucket's id is its name; S3 ARNs carry neither region nor account.
            policy=bucket.id.apply(
                lambda bucket_name: json.dumps(
                    access_log_bucket_policy(f"arn:{partition}:s3:::{bucket_name}", account_id, region, partition)
                )
            ),
            opts=child,
        )
        return bucket

    def _listeners(
        self, name: str, args: ModelServiceArgs, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup
    ) -> list[pulumi.Resource]:
        """The listener that serves (HTTPS, or HTTP without a certificate) answers every path with a fixed
        404 from the load balancer; one rule forwards the OpenAI API paths (API_PATH_PATTERNS) to vLLM.
        vLLM checks VLLM_API_KEY only on paths starting with /v1 (its api_server authentication
        middleware), so /invocations, /metrics, /tokenize, /version ... must never reach it (vLLM issues
        #58144, #18892). HTTP with a certificate only redirects to HTTPS, where the same rules apply."""
        child = pulumi.ResourceOptions(parent=self)
        serving = aws.lb.Listener(
            f"{name}-https" if args.certificate_arn else f"{name}-http",
            load_balancer_arn=alb.arn,
            default_actions=[NOT_FOUND_ACTION],
            opts=child,
            **(
                {
                    "port": 443,
                    "protocol": "HTTPS",
                    "ssl_policy": ELB_TLS_POLICY,  # TLS 1.3 and 1.2 with forward-secret ciphers only
                    "certificate_arn": args.certificate_arn,
                }
                if args.certificate_arn
                else {"port": 80, "protocol": "HTTP"}
            ),
        )
        api = aws.lb.ListenerRule(
            f"{name}-api",
            listener_arn=serving.arn,
            priority=API_RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": list(API_PATH_PATTERNS)}}],
            actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            opts=child,
        )
        if not args.certificate_arn:
            return [serving, api]
        redirect = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
            ],
            opts=child,
        )
        return [serving, api, redirect]


# --- documents (pure: tested and validated against AWS's own models) --------------------------------


def container_definitions(
    server: VllmServer,
    api_key_arn: str,
    hf_token_arn: str,
    log_group: str,
    region: str,
    keep_alive_seconds: int = 600 + KEEP_ALIVE_MARGIN_SECONDS,
    image: str = "",
    model: str = "",
) -> list[dict[str, Any]]:
    """The ECS container definition of the vLLM server (RegisterTaskDefinition shape). `image` and `model`:
    the resolved server.image and server.model (Outputs in the component)."""
    # The image's entrypoint is `vllm serve`; the model is positional (`--model` is deprecated there).
    command = [
        model or server.hf_model_id,
        "--served-model-name", server.served_model_name,
        "--tensor-parallel-size", str(server.tensor_parallel_size),
        "--max-model-len", str(server.max_model_len),
        "--gpu-memory-utilization", str(server.gpu_memory_utilization),
        "--port", str(CONTAINER_PORT),
        *server.extra_args,
    ]  # fmt: skip
    probe = f"import urllib.request; urllib.request.urlopen('http://localhost:{CONTAINER_PORT}/health', timeout=4)"
    return [
        {
            "name": CONTAINER_NAME,
            "image": image or server.image,
            "essential": True,
            "command": command,
            "portMappings": [
                {"containerPort": CONTAINER_PORT, "protocol": "tcp", "name": "http", "appProtocol": "http"}
            ],
            "resourceRequirements": [{"type": "GPU", "value": str(server.tensor_parallel_size)}],
            "memoryReservation": server.memory_reservation_mib,
            "environment": [
                {"name": "HF_HOME", "value": HF_CACHE},
                {"name": "VLLM_NO_USAGE_STATS", "value": "1"},  # no usage reports to vLLM's collector
                {"name": "DO_NOT_TRACK", "value": "1"},
                {"name": "VLLM_HTTP_TIMEOUT_KEEP_ALIVE", "value": str(keep_alive_seconds)},
                *({"name": k, "value": v} for k, v in server.extra_env),
            ],
            # vLLM requires VLLM_API_KEY on /v1/* when set; the Hub client reads HF_TOKEN.
            "secrets": [
                {"name": "VLLM_API_KEY", "valueFrom": api_key_arn},
                {"name": "HF_TOKEN", "valueFrom": hf_token_arn},
            ],
            "mountPoints": [{"sourceVolume": "hf-cache", "containerPath": HF_CACHE, "readOnly": False}],
            "linuxParameters": {
                "sharedMemorySize": server.shared_memory_mib,
                "initProcessEnabled": True,  # reaps the TP worker processes, forwards SIGTERM
            },
            "ulimits": [
                {"name": "memlock", "softLimit": -1, "hardLimit": -1},  # pinned host memory for CUDA/NCCL
                {"name": "nofile", "softLimit": 65535, "hardLimit": 65535},  # one socket per streamed request
            ],
            # python3 is in every vLLM image (curl is too, but it is not the server's dependency).
            "healthCheck": {
                "command": ["CMD", "python3", "-c", probe],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": min(ECS_MAX_START_PERIOD, server.startup_seconds),
            },
            "stopTimeout": server.stop_timeout_seconds,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                    "mode": "non-blocking",  # a slow log pipe must never stall token generation
                    "max-buffer-size": "25m",
                },
            },
        }
    ]


def execution_policy(
    log_group_arn: str,
    secret_arns: list[str],
    kms_key_arn: str,
    region: str,
    image: str,
    secrets_kms_key_arns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What the ECS agent needs for this task and nothing else. `secrets_kms_key_arns`: the keys of
    adopted secrets encrypted with another customer-managed key (GetSecretValue decrypts with the
    secret's key under the caller's permissions, Secrets Manager user guide "Secret encryption and
    decryption"); granted through Secrets Manager only, like the stack key."""
    decrypt_keys = sorted({kms_key_arn, *secrets_kms_key_arns})
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteThisTasksLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:log-stream:*",
        },
        {
            "Sid": "ReadTheTwoSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted(set(secret_arns)),
        },
        {
            "Sid": "DecryptSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": decrypt_keys if len(decrypt_keys) > 1 else kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]
    registry = re.match(r"^(\d{12})\.dkr\.ecr\.([\w-]+)\.amazonaws\.com/([^:@]+)", image)
    if registry:  # an ECR image (e.g. a pull-through cache of Docker Hub): pull rights on that repository
        account, ecr_region, repository = registry.groups()
        statements += [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullTheServerImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": f"arn:aws:ecr:{ecr_region}:{account}:repository/{repository}",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _ecs_tasks_trust_policy(account_id: str, region: str, partition: str) -> dict[str, Any]:
    # Confused-deputy guard: only ECS acting for this account's tasks in this region.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account_id}:*"},
                },
            }
        ],
    }


def access_log_bucket_policy(bucket_arn: str, account_id: str, region: str, partition: str) -> dict[str, Any]:
    """ELB may write this account's access logs under alb/; nobody may use plain HTTP."""
    logs = f"{bucket_arn}/alb/AWSLogs/{account_id}/*"
    elb_account = ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:{partition}:iam::{elb_account}:root"} if elb_account else {"Service": ELB_LOG_DELIVERY_PRINCIPAL}
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbAccessLogDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": logs,
            },
            {
                # S3 server access logs of this account's buckets (the model bucket) under s3/ (S3 user
                # guide, "Permissions for log delivery": the logging service principal, source account).
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/s3/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def _stateful(parent: pulumi.Resource, args: ModelServiceArgs, retain: bool = False) -> pulumi.ResourceOptions:
    """Options of a child that holds data (logs, secrets): protected and retained when `args.protect`."""
    return pulumi.ResourceOptions(parent=parent, protect=args.protect, retain_on_delete=args.protect or retain)


def _fields(args: Any) -> dict[str, Any]:
    return {name: getattr(args, name) for name in args.__dataclass_fields__}


def _validate(args: ModelServiceArgs) -> None:
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
    problems.check(s.tensor_parallel_size >= 1, "server.tensorParallelSize", "must be at least 1")
    problems.check(0 < s.gpu_memory_utilization <= 1, "server.gpuMemoryUtilization", "must be in (0, 1]")
    problems.check(s.memory_reservation_mib >= 1024, "server.memoryReservationMib", "must be at least 1024")
    problems.check(
        0 < s.shared_memory_mib <= s.memory_reservation_mib,
        "server.sharedMemoryMib",
        "must be above 0 and within the memory reservation",
    )
    problems.check(2 <= s.stop_timeout_seconds <= 120, "server.stopTimeoutSeconds", "ECS allows 2-120 s")
    problems.check(
        args.deregistration_delay_seconds + s.stop_timeout_seconds < 120,
        "deregistrationDelaySeconds",
        "drain plus stop timeout must finish inside the 120 s spot interruption notice",
    )
    problems.check(0 <= args.deregistration_delay_seconds <= 3600, "deregistrationDelaySeconds", "ALB allows 0-3600")
    problems.check(1 <= args.idle_timeout_seconds <= 4000, "idleTimeoutSeconds", "ALB allows 1-4000 s")
    problems.check(bool(args.log_group_name.startswith("/")), "logGroupName", "must be an explicit /path name")
    problems.check(
        args.log_retention_days in _LOG_RETENTION_DAYS,
        "logRetentionDays",
        "must be a CloudWatch Logs retention value (e.g. 30, 90, 365)",
    )
    problems.check(
        not args.certificate_arn or bool(CERT_ARN.match(args.certificate_arn)),
        "certificateArn",
        "must be an ACM certificate ARN",
    )
    for key, arn in (("apiKeySecretArn", args.api_key_secret_arn), ("hfTokenSecretArn", args.hf_token_secret_arn)):
        problems.check(not arn or bool(SECRET_ARN.match(arn)), key, "must be a Secrets Manager secret ARN")
    problems.check(
        all(KMS_KEY_ARN.match(k) for k in args.secrets_kms_key_arns),
        "secretsKmsKeyArns",
        "must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>; an alias is no IAM resource)",
    )
    for i, cidr in enumerate(args.allowed_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            problems.check(False, f"allowedCidrs[{i}]", "must be an IPv4 CIDR block")
    problems.check(
        args.secret_recovery_window_days == 0 or 7 <= args.secret_recovery_window_days <= 30,
        "secretRecoveryWindowDays",
        "Secrets Manager allows 0 (no recovery) or 7-30",
    )
    needs_name = not (args.api_key_secret_arn and args.hf_token_secret_arn)
    problems.check(
        not needs_name or bool(re.match(r"^[\w/+=.@-]{1,480}$", args.secret_name_prefix)),
        "secretNamePrefix",
        "is required to create secrets and may hold letters, digits and /_+=.@-",
    )
    problems.check(
        0 <= args.deployment_minimum_healthy_percent <= 100, "deploymentMinimumHealthyPercent", "must be 0-100"
    )
    problems.check(100 <= args.deployment_maximum_percent <= 200, "deploymentMaximumPercent", "must be 100-200")
    problems.raise_if_any()


_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
