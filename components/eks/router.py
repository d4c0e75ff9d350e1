"""EksTierRouter: the LiteLLM proxy (components/shared/router.py, the same pinned image and the same generated
config as the ECS TierRouter) as a Kubernetes Deployment in front of the tiers' ClusterIP Services.

  clients → the stack's public ALB (/v1/* only) → TargetGroupBinding → router pods (port 4000)
  → http://<tier Service>.<namespace>.svc.cluster.local:8000/v1 → the tier's vLLM pods (never internet-facing)

- config: the generator's three documents (config.yaml, the routing hook, the rules) in a ConfigMap, read into
  the variables the container's bootstrap writes out (router.environment: the same values ECS passes inline);
  the pod template carries their checksum, so a config change rolls the pods;
- keys: the master key (the stack's API key secret, as on ECS) and each tier's vLLM key are Secrets Manager
  values the Secrets Store CSI driver mounts as files with the pods' EKS Pod Identity (as the vLLM pods'
  SecretProviderClass, components/eks/workload.py); the bootstrap reads them into the environment
  (router.SECRET_FILES_ENV). No value is ever in a manifest, a Kubernetes Secret or Pulumi state;
- scaling: KEDA on the router target group's RequestCount (components/eks/autoscaling.py, metric qps: the ECS
  router's ALBRequestCountPerTarget target); the cluster runs no metrics-server, so no CPU HPA;
- Pod Security "restricted": non-root, read-only root, no capabilities, RuntimeDefault seccomp;
- drain: a preStop sleep as long as the target group's deregistration delay, then the proxy's own stop.
- per-tier Requests/Errors/LatencyMs/Fallbacks, the fallback alarm and dashboard: components/shared/router_metrics,
  on the Container Insights application log group; components/eks/router_logs.py (Fluent Bit on the nodes of
  `node_selector`) ships the pods' stdout there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.eks import workload
from components.eks.model_server import SPC_API, LoadBalancerLink, bind_load_balancer, secrets_policy
from components.eks.pod_identity import associate, pod_identity_trust
from components.shared import router, router_metrics, vllm
from components.shared.validation import ArgsProblems

NAME = "router"
SECRET_PROVIDER_CLASS = "router-secrets"
CONFIG_MAP = "router-config"
MASTER_KEY_FILE = "master-key"
# The LiteLLM image's non-root uid (Chainguard python base; as the ECS TierRouter's CONTAINER_USER).
CONTAINER_USER = 65532
CONFIG_FILES = {
    router.CONFIG_ENV: "config.yaml",
    router.HOOK_ENV: f"{router.HOOK_MODULE}.py",
    router.ROUTING_ENV: "routing.json",
}
CHECKSUM_ANNOTATION = "deepseek.ai/router-config-sha256"


@dataclass(frozen=True)
class EksTierRouterArgs:
    spec: router.RouterSpec | None = None  # api_base of each tier: its in-cluster Service URL
    tier_key_secret_arns: tuple[pulumi.Input[str], ...] = ()  # each spec tier's vLLM API key, in order
    master_key_secret_arn: pulumi.Input[str] = ""  # what clients send (the stack's API key)
    kms_key_arns: tuple[pulumi.Input[str], ...] = ()  # keys the secrets are encrypted with
    cluster_name: pulumi.Input[str] = ""
    region: str = ""
    namespace: str = "deepseek-serving"
    target_group_arn: pulumi.Input[str] = ""  # the public Endpoint's (target port router.PORT)
    load_balancer_security_group_id: pulumi.Input[str] = ""
    node_security_group_id: pulumi.Input[str] = ""  # the pods' (= the nodes') security group
    drain_seconds: int = 80  # = the target group's deregistration delay
    stop_seconds: int = 30
    idle_timeout_seconds: int = 600  # the ALB's: the proxy's keep-alive outlasts it
    cpu: int = 1024  # CPU units, as the Fargate task (1024 = 1 vCPU)
    memory_mib: int = 2048
    min_replicas: int = 1
    max_replicas: int = 2
    log_group_name: str = ""  # where the pods' stdout is shipped (Container Insights application log group)
    log_retention_days: int = 30
    kms_key_arn: pulumi.Input[str] = ""  # encrypts the log group
    fallback_alarm_threshold: int = 10
    alarm_topic_arn: pulumi.Input[str] | None = None
    image: str = router.IMAGE
    permissions_boundary_arn: str = ""
    # The nodes the pods run on: where the log shipper tails them (stacks/eks_tiers.py, the system nodes).
    node_selector: dict[str, str] = field(default_factory=dict)


def _validate(args: EksTierRouterArgs) -> None:
    problems = ArgsProblems("EksTierRouter")
    problems.check(args.spec is not None, "spec", "required")
    if args.spec is not None:
        router.spec_problems(args.spec).raise_if_any()
        problems.check(len(args.tier_key_secret_arns) == len(args.spec.tiers), "tierKeySecretArns", "one per tier")
    problems.check("@sha256:" in args.image, "image", "must be pinned by digest")
    problems.check(1 <= args.min_replicas <= args.max_replicas, "minReplicas", "must be 1..maxReplicas")
    problems.check(args.log_group_name.startswith("/"), "logGroupName", "must be an explicit /path name")
    problems.check(bool(args.region), "region", "required")
    problems.check(bool(args.kms_key_arns), "kmsKeyArns", "at least the stack key")
    problems.check(
        args.drain_seconds + args.stop_seconds < workload.SPOT_NOTICE_SECONDS,
        "drainSeconds",
        f"drain plus stop must finish inside the {workload.SPOT_NOTICE_SECONDS} s spot notice",
    )
    problems.raise_if_any()


class EksTierRouter(pulumi.ComponentResource):
    fallback_alarm_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]  # what the log shipper writes to (components/eks/router_logs.py)

    def __init__(
        self, name: str, args: EksTierRouterArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:TierRouter", name, None, opts)
        _validate(args)
        assert args.spec is not None
        child = pulumi.ResourceOptions(parent=self)
        kube = pulumi.ResourceOptions(parent=self, provider=provider)
        meta = {"name": NAME, "namespace": args.namespace, "labels": labels()}
        role = self._secrets_role(name, args, child)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta, automount_service_account_token=False, opts=kube
        )
        association = associate(f"{name}-secrets", args.cluster_name, args.namespace, NAME, role.arn, child)
        spc = k8s.apiextensions.CustomResource(
            f"{name}-secrets",
            api_version=SPC_API,
            kind="SecretProviderClass",
            metadata={"name": SECRET_PROVIDER_CLASS, "namespace": args.namespace},
            spec=pulumi.Output.all(args.master_key_secret_arn, *args.tier_key_secret_arns).apply(
                lambda arns: secret_provider_class_spec(args.spec, arns[0], list(arns[1:]), args.region)
            ),
            opts=kube,
        )
        data = config_map_data(served_spec(args))
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata={**meta, "name": CONFIG_MAP}, data=data, opts=kube)
        after = pulumi.ResourceOptions(depends_on=[account, association, spc, config])
        k8s.apps.v1.Deployment(
            f"{name}-deploy",
            metadata=meta,
            spec=pulumi.Output.all(args.master_key_secret_arn, *args.tier_key_secret_arns).apply(
                lambda arns: deployment_spec(args, data, arns[0], list(arns[1:]))
            ),
            # KEDA (stacks/eks_tiers.py) owns the replica count after the first apply.
            opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])).merge(
                after
            ),
        )
        k8s.core.v1.Service(f"{name}-svc", metadata=meta, spec=service_spec(), opts=kube)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=pdb_spec(), opts=kube)
        bind_load_balancer(
            name,
            LoadBalancerLink(
                args.node_security_group_id,
                args.load_balancer_security_group_id,
                router.PORT,
                "The tier router's port on the pods from the load balancer only",
            ),
            meta,
            pulumi.Output.from_input(args.target_group_arn).apply(target_group_binding_spec),
            kube,
            child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        alarm, dashboard = router_metrics.route_metrics(
            name,
            log_group.name,
            [t.name for t in args.spec.tiers],
            args.fallback_alarm_threshold,
            args.region,
            args.alarm_topic_arn,
            child,
            fields=router_metrics.EKS_FIELDS,
        )
        self.fallback_alarm_arn = alarm.arn
        self.dashboard_name = dashboard.dashboard_name
        self.role_arn = role.arn
        self.log_group_arn = log_group.arn
        self.register_outputs(
            {"deployment": NAME, "fallbackAlarmArn": alarm.arn, "dashboardName": dashboard.dashboard_name}
        )

    def _secrets_role(self, name: str, args: EksTierRouterArgs, child: pulumi.ResourceOptions) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-secrets",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description="Tier router pods (EKS Pod Identity): read the master key and the tiers' API keys only",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        n = len(args.kms_key_arns)
        policy = pulumi.Output.all(*args.kms_key_arns, args.master_key_secret_arn, *args.tier_key_secret_arns).apply(
            lambda a: json.dumps(secrets_policy(list(a[n:]), list(a[:n]), args.region))
        )
        aws.iam.RolePolicy(f"{name}-secrets", role=role.name, policy=policy, opts=child)
        return role


def labels() -> dict[str, str]:
    return {workload.APP_LABEL: NAME}


def tier_key_file(tier: str) -> str:
    return f"tier-{tier}-key"


def service_url(service: str, namespace: str, port: int = vllm.PORT) -> str:
    """A tier's base URL for the router: its ClusterIP Service's cluster DNS name."""
    return f"http://{service}.{namespace}.svc.cluster.local:{port}/v1"


def served_spec(args: EksTierRouterArgs) -> router.RouterSpec:
    """The spec the pods run: a keep-alive above the ALB's idle timeout (as the ECS router's)."""
    assert args.spec is not None
    return replace(args.spec, keep_alive_seconds=vllm.keep_alive_seconds(args.idle_timeout_seconds))


def config_map_data(spec: router.RouterSpec) -> dict[str, str]:
    """The generator's documents (router.environment), one ConfigMap key each."""
    env = router.environment(spec)
    return {key: env[variable] for variable, key in CONFIG_FILES.items()}


def secret_files(spec: router.RouterSpec) -> dict[str, str]:
    """{environment variable: mounted file}: the master key and each tier's key."""
    files = {router.MASTER_KEY_ENV: f"{workload.SECRETS_DIR}/{MASTER_KEY_FILE}"}
    files.update({t.api_key_env: f"{workload.SECRETS_DIR}/{tier_key_file(t.name)}" for t in spec.tiers})
    return files


def secret_provider_class_spec(
    spec: router.RouterSpec, master_arn: str, tier_arns: list[str], region: str
) -> dict[str, Any]:
    """The AWS provider fetches the keys with the pods' Pod Identity role, one file per key (objectAlias). The
    provider rejects a secret listed twice, and on ECS the master key IS the default tier's key: listed once."""
    objects = [{"objectName": master_arn, "objectType": "secretsmanager", "objectAlias": MASTER_KEY_FILE}]
    seen = {master_arn}
    for tier, arn in zip(spec.tiers, tier_arns, strict=True):
        if arn not in seen:
            seen.add(arn)
            objects.append({"objectName": arn, "objectType": "secretsmanager", "objectAlias": tier_key_file(tier.name)})
    return {
        "provider": "aws",
        "parameters": {"objects": yaml.safe_dump(objects, sort_keys=False), "usePodIdentity": "true", "region": region},
    }


def environment(spec: router.RouterSpec, master_arn: str, tier_arns: list[str]) -> list[dict[str, Any]]:
    """Plain variables inline, the generated documents from the ConfigMap, the secret files' map."""
    env = router.environment(spec)
    files = secret_files(spec)
    # A tier whose key is the master key (the default tier) reads the master key's file.
    for tier, arn in zip(spec.tiers, tier_arns, strict=True):
        if arn == master_arn:
            files[tier.api_key_env] = files[router.MASTER_KEY_ENV]
    out: list[dict[str, Any]] = []
    for k, v in sorted(env.items()):
        if k in CONFIG_FILES:
            out.append({"name": k, "valueFrom": {"configMapKeyRef": {"name": CONFIG_MAP, "key": CONFIG_FILES[k]}}})
        else:
            out.append({"name": k, "value": v})
    out.append({"name": router.SECRET_FILES_ENV, "value": json.dumps(files, sort_keys=True, separators=(",", ":"))})
    return out


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": router.HEALTH_PATH, "port": router.PORT},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def container(
    args: EksTierRouterArgs, spec: router.RouterSpec, master_arn: str, tier_arns: list[str]
) -> dict[str, Any]:
    millicores = f"{args.cpu * 1000 // 1024}m"
    return {
        "name": NAME,
        "image": args.image,
        "command": router.command(),
        "ports": [{"name": "http", "containerPort": router.PORT, "protocol": "TCP"}],
        "env": environment(spec, master_arn, tier_arns),
        "resources": {
            "requests": {"cpu": millicores, "memory": f"{args.memory_mib}Mi"},
            "limits": {"memory": f"{args.memory_mib}Mi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "secrets", "mountPath": workload.SECRETS_DIR, "readOnly": True},
        ],
        # The ECS router's container check cadence; startup allows its start period (60 s) twice over.
        "startupProbe": _probe(5, 24),
        "readinessProbe": _probe(
            vllm.LOAD_BALANCER_HEALTH.interval_seconds, vllm.LOAD_BALANCER_HEALTH.unhealthy_threshold
        ),
        "livenessProbe": _probe(30, 3),
        "lifecycle": {"preStop": {"sleep": {"seconds": args.drain_seconds}}},
    }


def deployment_spec(
    args: EksTierRouterArgs, data: dict[str, str], master_arn: str, tier_arns: list[str]
) -> dict[str, Any]:
    """The router pods (`data`: the ConfigMap's, checksummed into the template; the resolved secret ARNs)."""
    spec = served_spec(args)
    checksum = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return {
        "replicas": args.min_replicas,
        "selector": {"matchLabels": labels()},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": labels(), "annotations": {CHECKSUM_ANNOTATION: checksum}},
            "spec": {
                "serviceAccountName": NAME,
                "automountServiceAccountToken": False,  # the proxy never calls the Kubernetes API
                "terminationGracePeriodSeconds": args.drain_seconds + args.stop_seconds,
                "securityContext": {
                    "runAsUser": CONTAINER_USER,
                    "runAsGroup": CONTAINER_USER,
                    "fsGroup": CONTAINER_USER,
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                # Two replicas on two nodes when there are two (the system nodes): one node's loss keeps one.
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": labels()},
                    }
                ],
                **({"nodeSelector": dict(args.node_selector)} if args.node_selector else {}),
                "containers": [container(args, spec, master_arn, tier_arns)],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                    {
                        "name": "secrets",
                        "csi": {
                            "driver": workload.CSI_DRIVER,
                            "readOnly": True,
                            "volumeAttributes": {"secretProviderClass": SECRET_PROVIDER_CLASS},
                        },
                    },
                ],
            },
        },
    }


def service_spec() -> dict[str, Any]:
    return {
        "type": "ClusterIP",
        "selector": labels(),
        "ports": [{"name": "http", "port": router.PORT, "targetPort": router.PORT, "protocol": "TCP"}],
    }


def pdb_spec() -> dict[str, Any]:
    return {"maxUnavailable": 1, "selector": {"matchLabels": labels()}}


def target_group_binding_spec(target_group_arn: str) -> dict[str, Any]:
    """The public Endpoint's target group now holds the router's pods (target type ip, port router.PORT)."""
    return {"serviceRef": {"name": NAME, "port": router.PORT}, "targetGroupARN": target_group_arn, "targetType": "ip"}
