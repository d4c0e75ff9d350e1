"""TierRouter: the LiteLLM proxy (components/shared/router.py) as a Fargate service behind the public Endpoint,
in front of the tiers' internal load balancers.

  clients → public ALB (/v1/* only) → router tasks (Fargate, awsvpc, port 4000) → each tier's internal ALB
  (HTTP 80, /v1/* only, admits the router's security group only) → the tier's vLLM tasks.

Why internal ALBs and not ECS Service Connect: each tier keeps a target group, so its ALB health checks
(vLLM's /health), the ALBRequestCountPerTarget autoscaling and the target-group alarms the stack already has
work unchanged per tier; Service Connect publishes its own metrics (AWS/ECS, DiscoveryName) that none of those
use ("Amazon ECS Service Connect metrics", ECS developer guide). The cost is one internal ALB per tier.

The router logs one JSON line per tier attempt (components/shared/deepseek_router.py); metric filters on its log
group turn them into per-tier Requests, Errors, LatencyMs and Fallbacks (namespace METRIC_NAMESPACE, dimension
Tier), which the dashboard draws and the fallback alarm watches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws

from components.ecs.autoscaling import ReplicaAutoscaling, ReplicaAutoscalingArgs
from components.ecs.task import ecs_tasks_trust_policy, execution_policy
from components.shared import router, router_metrics, vllm
from components.shared.aws_scope import aws_scope
from components.shared.endpoint import Endpoint, EndpointArgs
from components.shared.validation import ArgsProblems

CONTAINER_NAME = "router"
TMP_VOLUME = "router-tmp"
# Chainguard's non-root uid: the LiteLLM image is built on cgr.dev/chainguard/python (assumption from its
# Dockerfile, not re-read); any non-root uid can read the installed proxy and write the /tmp volume.
CONTAINER_USER = "65532"
METRIC_NAMESPACE = router_metrics.METRIC_NAMESPACE


@dataclass(frozen=True)
class RouterTierLink:
    name: str
    api_key_secret_arn: pulumi.Input[str]
    load_balancer_security_group_id: pulumi.Input[str]  # the tier's internal ALB: admits the router on 80
    load_balancer_arn_suffix: pulumi.Input[str] = ""  # with target_group_arn_suffix: the tier's health alarm
    target_group_arn_suffix: pulumi.Input[str] = ""
    asg_name: pulumi.Input[str] = ""  # with min_size > 0: the tier's capacity alarm
    min_size: int = 0


@dataclass(frozen=True)
class TierRouterArgs:
    cluster_name: pulumi.Input[str] = ""
    vpc_id: pulumi.Input[str] = ""
    private_subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    endpoint: EndpointArgs = field(default_factory=EndpointArgs)  # the public ALB (subnets, CIDRs, TLS)
    spec: router.RouterSpec | None = None  # api_base of each tier replaced by tier_urls (Outputs)
    tier_urls: tuple[pulumi.Input[str], ...] = ()  # each spec tier's base URL (http://<internal ALB>/v1), in order
    tiers: tuple[RouterTierLink, ...] = ()
    master_key_secret_arn: pulumi.Input[str] = ""  # what clients send (the stack's API key)
    kms_key_arn: pulumi.Input[str] = ""
    log_group_name: str = ""
    log_retention_days: int = 30
    cpu: int = 1024
    memory_mib: int = 2048
    min_replicas: int = 1
    max_replicas: int = 2
    target_requests_per_second: float = 20.0
    fallback_alarm_threshold: int = 10  # fallbacks in 5 minutes
    alarm_topic_arn: pulumi.Input[str] | None = None
    region: str = "us-east-1"
    image: str = router.IMAGE
    permissions_boundary_arn: str = ""
    protect: bool = False


def _validate(args: TierRouterArgs) -> None:
    problems = ArgsProblems("TierRouter")
    problems.check(args.log_group_name.startswith("/"), "logGroupName", "must be an explicit /path name")
    problems.check(1 <= args.min_replicas <= args.max_replicas, "minReplicas", "must be 1..maxReplicas")
    problems.check(bool(args.tiers), "tiers", "at least one tier")
    problems.check(args.spec is not None and len(args.tier_urls) == len(args.spec.tiers), "tierUrls", "one per tier")
    problems.check("@sha256:" in args.image, "image", "must be pinned by digest")
    problems.raise_if_any()


class TierRouter(pulumi.ComponentResource):
    endpoint: Endpoint
    service_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    fallback_alarm_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: TierRouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:serving:TierRouter", name, None, opts)
        _validate(args)
        self._child = pulumi.ResourceOptions(parent=self)
        sg = self._security_group(name, args)
        self.endpoint = Endpoint(
            name,
            EndpointArgs(
                **{**args.endpoint.__dict__, "target_security_group_id": sg.id, "target_port": router.PORT},
            ),
            opts=self._child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-alb",
            security_group_id=sg.id,
            referenced_security_group_id=self.endpoint.security_group_id,
            ip_protocol="tcp",
            from_port=router.PORT,
            to_port=router.PORT,
            description="The router's port from the public load balancer only",
            opts=self._child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        task = self._task_definition(name, args, log_group)
        service = aws.ecs.Service(
            f"{name}-svc",
            cluster=args.cluster_name,
            task_definition=task.arn,
            desired_count=args.min_replicas,
            launch_type="FARGATE",
            network_configuration={
                "subnets": args.private_subnet_ids,
                "security_groups": [sg.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": self.endpoint.target_group_arn,
                    "container_name": CONTAINER_NAME,
                    "container_port": router.PORT,
                }
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=60,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            wait_for_steady_state=False,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.endpoint.listeners, ignore_changes=["desiredCount"]
            ),
        )
        ReplicaAutoscaling(
            f"{name}-scaling",
            ReplicaAutoscalingArgs(
                cluster_name=args.cluster_name,
                service_name=service.name,
                load_balancer_arn_suffix=self.endpoint.load_balancer_arn_suffix,
                target_group_arn_suffix=self.endpoint.target_group_arn_suffix,
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
                target_requests_per_second=args.target_requests_per_second,
            ),
            opts=self._child,
        )
        self._metrics(name, args, log_group)
        self._health_alarms(name, args)
        self.service_name = service.name
        self.log_group_name = log_group.name
        self.security_group_id = sg.id
        self.register_outputs(
            {
                "endpointUrl": self.endpoint.url,
                "serviceName": self.service_name,
                "fallbackAlarmArn": self.fallback_alarm_arn,
                "dashboardName": self.dashboard_name,
            }
        )

    def _security_group(self, name: str, args: TierRouterArgs) -> aws.ec2.SecurityGroup:
        """In from the public ALB on 4000; out to each tier's internal ALB on 80 (and their ingress from it)."""
        sg = aws.ec2.SecurityGroup(
            f"{name}-tasks",
            vpc_id=args.vpc_id,
            description="Tier router tasks: the public load balancer in, the tiers' internal load balancers out",
            tags={"Name": f"{name}-tasks"},
            opts=self._child,
        )
        for tier in args.tiers:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-{tier.name}",
                security_group_id=sg.id,
                referenced_security_group_id=tier.load_balancer_security_group_id,
                ip_protocol="tcp",
                from_port=80,
                to_port=80,
                description=f"Router to the {tier.name} tier's internal load balancer",
                opts=self._child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-into-{tier.name}",
                security_group_id=tier.load_balancer_security_group_id,
                referenced_security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=80,
                to_port=80,
                description="The tier router only",
                opts=self._child,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Image pull, Secrets Manager and CloudWatch Logs endpoints over HTTPS (through NAT)",
            opts=self._child,
        )
        return sg

    def _task_definition(
        self, name: str, args: TierRouterArgs, log_group: aws.cloudwatch.LogGroup
    ) -> aws.ecs.TaskDefinition:
        scope = aws_scope(self)
        account_id, partition = scope.account_id, scope.partition
        trust = json.dumps(ecs_tasks_trust_policy(account_id, args.region, partition))
        execution = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=trust,
            description="ECS agent for the tier router: image pull, logs, the API key secrets",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=self._child,
        )
        log_group_arn = f"arn:{partition}:logs:{args.region}:{account_id}:log-group:{args.log_group_name}"
        secret_arns = [args.master_key_secret_arn, *(t.api_key_secret_arn for t in args.tiers)]
        policy = pulumi.Output.all(args.kms_key_arn, *secret_arns).apply(
            lambda a: json.dumps(execution_policy(log_group_arn, list(a[1:]), a[0], args.region, args.image))
        )
        aws.iam.RolePolicy(f"{name}-execution", role=execution.name, policy=policy, opts=self._child)
        task_role = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=trust,
            description="Tier router container identity: no AWS permissions",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=self._child,
        )
        n = len(args.tier_urls)
        definitions = pulumi.Output.all(log_group.name, *args.tier_urls, *secret_arns).apply(
            lambda a: json.dumps(self._containers(args, _served_spec(args, a[1 : 1 + n]), a[0], a[1 + n], a[2 + n :]))
        )
        return aws.ecs.TaskDefinition(
            f"{name}-task",
            family=name,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(args.cpu),
            memory=str(args.memory_mib),
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn,
            container_definitions=definitions,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            volumes=[{"name": TMP_VOLUME}],  # Fargate task storage: the only writable path
            opts=self._child,
        )

    @staticmethod
    def _containers(args: TierRouterArgs, spec: router.RouterSpec, log_group: str, master: str, keys: list[str]):
        env = router.environment(spec)
        secrets = [{"name": router.MASTER_KEY_ENV, "valueFrom": master}]
        by_tier = {t.name: t for t in spec.tiers}
        secrets += [
            {"name": by_tier[link.name].api_key_env, "valueFrom": key}
            for link, key in zip(args.tiers, keys, strict=True)
        ]
        probe = f"import urllib.request; urllib.request.urlopen('http://localhost:{router.PORT}{router.HEALTH_PATH}')"
        return [
            {
                "name": CONTAINER_NAME,
                "image": args.image,
                "essential": True,
                "entryPoint": router.command(),
                "portMappings": [{"containerPort": router.PORT, "protocol": "tcp", "name": "http"}],
                "user": CONTAINER_USER,
                "readonlyRootFilesystem": True,
                "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
                "secrets": secrets,
                "mountPoints": [{"sourceVolume": TMP_VOLUME, "containerPath": "/tmp", "readOnly": False}],
                "healthCheck": {
                    "command": ["CMD", "python3", "-c", probe],
                    "interval": 30,
                    "timeout": 5,
                    "retries": 3,
                    "startPeriod": 60,
                },
                "stopTimeout": 30,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": args.region,
                        "awslogs-stream-prefix": CONTAINER_NAME,
                        "mode": "non-blocking",
                        "max-buffer-size": "25m",
                    },
                },
            }
        ]

    def _health_alarms(self, name: str, args: TierRouterArgs) -> None:
        """Unhealthy targets behind the router's ALB and each tier's internal ALB; a tier's instances below its
        minimum (the stack's other alarms watch the default tier's GPU pool in depth)."""
        targets = [("router", self.endpoint.load_balancer_arn_suffix, self.endpoint.target_group_arn_suffix)]
        targets += [
            (t.name, t.load_balancer_arn_suffix, t.target_group_arn_suffix)
            for t in args.tiers
            if t.target_group_arn_suffix
        ]
        for label, lb, tg in targets:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{label}-unhealthy",
                alarm_description=f"{label}: a target failed its health checks for 5 minutes (docs/alarms.md)",
                namespace="AWS/ApplicationELB",
                metric_name="UnHealthyHostCount",
                dimensions={"LoadBalancer": lb, "TargetGroup": tg},
                statistic="Maximum",
                period=60,
                evaluation_periods=5,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                treat_missing_data="notBreaching",
                **_alarm_actions(args),
                opts=self._child,
            )
        for t in args.tiers:
            if not t.min_size:
                continue
            aws.cloudwatch.MetricAlarm(
                f"{name}-{t.name}-pool-below-min",
                alarm_description=f"{t.name}: fewer in-service instances than its minSize for 15 minutes",
                namespace="AWS/AutoScaling",
                metric_name="GroupInServiceInstances",
                dimensions={"AutoScalingGroupName": t.asg_name},
                statistic="Minimum",
                period=60,
                evaluation_periods=15,
                comparison_operator="LessThanThreshold",
                threshold=t.min_size,
                treat_missing_data="breaching",
                **_alarm_actions(args),
                opts=self._child,
            )

    def _metrics(self, name: str, args: TierRouterArgs, log_group: aws.cloudwatch.LogGroup) -> None:
        """Per-tier metrics from the router's JSON lines, the fallback alarm and the dashboard (shared with EKS)."""
        alarm, dashboard = router_metrics.route_metrics(
            name,
            log_group.name,
            [t.name for t in args.tiers],
            args.fallback_alarm_threshold,
            args.region,
            args.alarm_topic_arn,
            self._child,
        )
        self.fallback_alarm_arn = alarm.arn
        self.dashboard_name = dashboard.dashboard_name


def _alarm_actions(args: TierRouterArgs) -> dict:
    return router_metrics.alarm_actions(args.alarm_topic_arn)


def _served_spec(args: TierRouterArgs, urls) -> router.RouterSpec:
    """The spec the container runs: each tier's resolved URL, and a keep-alive above its ALB's idle timeout."""
    assert args.spec is not None
    tiers = tuple(replace(t, api_base=url) for t, url in zip(args.spec.tiers, urls, strict=True))
    keep_alive = vllm.keep_alive_seconds(args.endpoint.idle_timeout_seconds)
    return replace(args.spec, tiers=tiers, keep_alive_seconds=keep_alive)


tier_dashboard = router_metrics.tier_dashboard  # where callers found it before the move
