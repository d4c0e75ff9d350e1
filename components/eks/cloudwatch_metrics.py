"""CloudWatchMetrics: vLLM's queue depth, KV-cache usage and time to first token, and the GPUs' utilization,
as CloudWatch metrics, so an EKS stack gets the same dashboard panels and GPU alarms as an ECS one.

  vLLM pods :8000/metrics ─┐
  dcgm-exporter :9400 ─────┴─ AWS Distro for OpenTelemetry collector (Deployment, Pod Identity)
                                 prometheus receiver → awsemf exporter ─► CloudWatch Logs (EMF) ─► metrics

Why this collector. The CloudWatch agent's Prometheus support drops histogram metrics ("The CloudWatch agent
supports the counter, gauge, and summary metric types ... histogram metric type are dropped", CloudWatch user
guide, ContainerInsights-Prometheus-metrics-conversion), and vLLM's TTFT is a histogram. The ADOT collector's
awsemf exporter keeps it as a statistic set with per-period deltas of Sum and Count (awsemfexporter
datapoint.go, histogramDataPointSlice.CalculateDeltaDatapoints), so CloudWatch's Average is the mean TTFT;
percentiles are not possible from a statistic set (aws-observability/aws-otel-collector#918). The
configuration comes from the generator ECS's sidecar uses too (components/shared/metrics_collector.py); the
collector and its Prometheus-to-EMF configuration follow ADOT's own EKS template (deployment-template/eks/
otel-container-insights-prometheus.yaml and config/eks/prometheus/*.yaml at v0.49.0).

Least privilege. EMF metrics are written with CloudWatch Logs calls, not PutMetricData: the collector's
Pod Identity role may create streams in and put events to the one log group declared here (encrypted with
the stack key, with a retention), nothing else; it discovers pods with namespaced Roles (list/watch pods in
the serving namespace and in kube-system, where dcgm-exporter runs), not a ClusterRole.

Metric names in CloudWatch are Prometheus' (`vllm:num_requests_waiting`, ...). KV-cache usage is
`vllm:kv_cache_usage_perc` (vLLM V1 PrometheusStatLogger, vllm/v1/metrics/loggers.py; the older
`vllm:gpu_cache_usage_perc` was deprecated in its favour and is no longer registered there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.eks.addons import GPU_TOLERATION, Chart
from components.eks.gpu_capacity import GPU_POOL, POOL_LABEL
from components.eks.pod_identity import associate, pod_identity_trust
from components.shared.metrics_collector import (
    GPU_UTILIZATION,
    KV_CACHE_USAGE,
    QUEUE_DEPTH,
    RESOURCE_ATTRIBUTES_ENV,
    TTFT,
    VLLM_KEEP,
    VLLM_METRICS,
    collector_policy,
    resource_attributes,
)
from components.shared.metrics_collector import collector_config as shared_collector_config
from components.shared.serving_metrics import ServingMetrics
from components.shared.validation import ArgsProblems

NAMESPACE = "DeepSeek/EKS"  # CloudWatch namespace of every series below
DIMENSION = "ClusterName"  # the one dimension: alarms and dashboard read the whole endpoint's series
METRICS = (*VLLM_METRICS, GPU_UTILIZATION)
COLLECTOR = "adot-collector"
COLLECTOR_NAMESPACE = "kube-system"
DCGM_NAME = "dcgm-exporter"  # the chart's app.kubernetes.io/name
DCGM_PORT = 9400
CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class CloudWatchMetricsArgs:
    cluster_name: str = ""
    region: str = ""
    serving_namespace: str = "deepseek-serving"
    pod_selector: dict[str, str] = field(default_factory=dict)  # labels of the vLLM pods
    metrics_port: int = 8000  # vLLM serves /metrics on its API port
    collector_image: str = ""  # public.ecr.aws/aws-observability/aws-otel-collector:vX.Y.Z (pinned)
    dcgm_exporter: Chart = field(default_factory=lambda: Chart("", ""))
    kms_key_arn: pulumi.Input[str] = ""
    log_retention_days: int = 30
    permissions_boundary_arn: str = ""
    log_group_name: str = ""  # where the EMF events go (the deploy role may create /deepseek/<stack>/...)
    tags: dict[str, str] = field(default_factory=dict)


class CloudWatchMetrics(pulumi.ComponentResource):
    """The collector (IAM, RBAC, config, Deployment), its log group and the dcgm-exporter DaemonSet."""

    serving_metrics: ServingMetrics
    log_group_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: CloudWatchMetricsArgs,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("deepseek:eks:CloudWatchMetrics", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-emf",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=args.tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-collector",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description="ADOT collector (EKS Pod Identity): EMF metrics into one log group",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-collector",
            role=role.name,
            policy=log_group.arn.apply(lambda arn: json.dumps(collector_policy(arn))),
            opts=child,
        )
        association = associate(f"{name}-collector", args.cluster_name, COLLECTOR_NAMESPACE, COLLECTOR, role.arn, child)
        dcgm = k8s.helm.v3.Release(
            f"{name}-dcgm-exporter",
            name=DCGM_NAME,
            chart=args.dcgm_exporter.chart,
            repository_opts={"repo": args.dcgm_exporter.repo},
            version=args.dcgm_exporter.version,
            namespace=COLLECTOR_NAMESPACE,
            values=dcgm_exporter_values(),
            opts=k8s_opts,
        )
        for obj in collector_objects(args):
            kind, meta = obj["kind"], obj["metadata"]
            cls = KINDS[kind]
            extra = {SNAKE.get(k, k): v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            depends = [association, log_group, dcgm] if kind == "Deployment" else []
            cls(
                f"{name}-{kind.lower()}-{meta['namespace']}"
                if kind in ("Role", "RoleBinding")
                else f"{name}-{kind.lower()}",
                metadata=meta,
                **extra,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends),
            )
        self.log_group_name = log_group.name
        self.serving_metrics = ServingMetrics(
            namespace=NAMESPACE,
            dimensions={DIMENSION: args.cluster_name},
            queue_depth=QUEUE_DEPTH,
            kv_cache_usage=KV_CACHE_USAGE,
            ttft=TTFT,
            gpu_utilization=GPU_UTILIZATION,
        )
        self.register_outputs({"logGroupName": self.log_group_name, "namespace": NAMESPACE})


SNAKE = {"roleRef": "role_ref"}  # the SDK's keyword for the manifest's top-level field
KINDS: dict[str, Any] = {
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "Role": k8s.rbac.v1.Role,
    "RoleBinding": k8s.rbac.v1.RoleBinding,
    "ConfigMap": k8s.core.v1.ConfigMap,
    "Deployment": k8s.apps.v1.Deployment,
}


def _scrape_job(job: str, namespace: str, labels: dict[str, str], port: int, keep: str) -> dict[str, Any]:
    """Prometheus pod discovery in one namespace: pods with `labels`, their container port `port`; only the
    series matching `keep` are kept (everything else costs EMF bytes and is never charted)."""
    relabel = [
        {
            "action": "keep",
            "source_labels": [f"__meta_kubernetes_pod_label_{_label_name(key)}"],
            "regex": value,
        }
        for key, value in labels.items()
    ]
    relabel.append(
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(port)}
    )
    return {
        "job_name": job,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": relabel,
        "metric_relabel_configs": [{"action": "keep", "source_labels": ["__name__"], "regex": keep}],
    }


def _label_name(key: str) -> str:
    """Prometheus' sanitized form of a Kubernetes label key in __meta_kubernetes_pod_label_<name>."""
    return "".join(c if c.isalnum() else "_" for c in key)


def collector_config(args: CloudWatchMetricsArgs) -> dict[str, Any]:
    """The shared ADOT configuration (components/shared/metrics_collector.py) with two pod-discovery jobs."""
    return shared_collector_config(
        [
            _scrape_job("vllm", args.serving_namespace, args.pod_selector, args.metrics_port, VLLM_KEEP),
            _scrape_job("dcgm", COLLECTOR_NAMESPACE, {"app.kubernetes.io/name": DCGM_NAME}, DCGM_PORT, GPU_UTILIZATION),
        ],
        region=args.region,
        namespace=NAMESPACE,
        dimensions=[DIMENSION],
        metrics=METRICS,
        log_group_name=args.log_group_name,
        log_stream_name=COLLECTOR,
    )


def _pod_reader(namespace: str) -> list[dict[str, Any]]:
    meta = {"name": f"{COLLECTOR}-pods", "namespace": namespace}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": meta["name"]},
            "subjects": [{"kind": "ServiceAccount", "name": COLLECTOR, "namespace": COLLECTOR_NAMESPACE}],
        },
    ]


def collector_objects(args: CloudWatchMetricsArgs) -> list[dict[str, Any]]:
    """ServiceAccount, pod-reading Roles, the config and the Deployment (plain manifests: tests validate them)."""
    meta = {"name": COLLECTOR, "namespace": COLLECTOR_NAMESPACE, "labels": {"app.kubernetes.io/name": COLLECTOR}}
    config = yaml.safe_dump(collector_config(args), sort_keys=False)
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        *_pod_reader(args.serving_namespace),
        *_pod_reader(COLLECTOR_NAMESPACE),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {CONFIG_FILE: config}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": collector_deployment_spec(args)},
    ]


def collector_deployment_spec(args: CloudWatchMetricsArgs) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": COLLECTOR}
    container = {
        "name": COLLECTOR,
        "image": args.collector_image,
        "command": ["/awscollector"],
        "args": ["--config", f"/conf/{CONFIG_FILE}"],
        "env": [
            {"name": "AWS_REGION", "value": args.region},
            {"name": RESOURCE_ATTRIBUTES_ENV, "value": resource_attributes({DIMENSION: args.cluster_name})},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 4317,  # the image's user `aoc` (cmd/awscollector/Dockerfile USER_UID 4317)
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/conf", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "replicas": 1,  # one scraper: two would publish every datapoint twice
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": COLLECTOR,
                "containers": [container],
                "volumes": [
                    {"name": "config", "configMap": {"name": COLLECTOR}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ],
            },
        },
    }


def dcgm_exporter_values() -> dict[str, Any]:
    """On GPU nodes only (our pool label; the GPU taint tolerated). No ServiceMonitor (no Prometheus
    operator here: the collector discovers the pods). Without SYS_ADMIN: the chart adds it only for the
    profiling counters (DCGM_FI_PROF_*, values.yaml comment); GPU utilization is a device counter."""
    return {
        "nodeSelector": {POOL_LABEL: GPU_POOL},
        "tolerations": [GPU_TOLERATION],
        "serviceMonitor": {"enabled": False},
        "securityContext": {
            "runAsNonRoot": False,
            "runAsUser": 0,
            "capabilities": {"add": [], "drop": ["ALL"]},
            "allowPrivilegeEscalation": False,
        },
    }


def _validate(args: CloudWatchMetricsArgs) -> None:
    problems = ArgsProblems("CloudWatchMetrics")
    problems.check(bool(args.cluster_name), "clusterName", "required: the metrics' ClusterName dimension")
    problems.check(bool(args.region), "region", "required")
    problems.check(args.log_group_name.startswith("/"), "logGroupName", "an absolute log group name")
    problems.check(bool(args.pod_selector), "podSelector", "the vLLM pods' labels: an empty selector scrapes nothing")
    problems.check(
        ":v" in args.collector_image and not args.collector_image.endswith(":latest"),
        "collectorImage",
        "a pinned aws-otel-collector tag (never latest)",
    )
    problems.check(bool(args.dcgm_exporter.version), "dcgmExporter.version", "a pinned chart version")
    problems.raise_if_any()
