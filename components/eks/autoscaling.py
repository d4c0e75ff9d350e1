"""QueueAutoscaling: vLLM's queue depth into Amazon Managed Service for Prometheus, and a KEDA ScaledObject.

  vLLM /metrics ──(AMP managed scraper, agentless: ENIs in the private subnets)──► AMP workspace
  KEDA operator (Pod Identity) ──query sum(vllm:num_requests_waiting)──► replicas = ⌈queue / target⌉
  ALB HTTPCode_ELB_503_Count (CloudWatch) ──► activation from zero (no pod reports a queue at zero)
  scaling.schedule ──► KEDA cron triggers (desiredReplicas = the rule's minReplicas until the next rule);
                       a rule's maxReplicas below scaling.maxReplicas ──► scalingModifiers formula (one metric)

The query is one aggregated number: KEDA's Prometheus scaler needs a single-element result, so a per-pod
query breaks once there are two pods. At zero replicas the target group has no target: the ALB answers
/v1/* with 503 (counted in HTTPCode_ELB_503_Count; RequestCount only counts requests that reached a
target), the CloudWatch trigger activates the ScaledObject and KEDA scales to one. The client sees 503s
until the first replica is healthy (minutes: the weights load): a retryable status (OpenAI SDKs retry it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.shared import vllm
from components.shared.validation import ArgsProblems

KEDA_API = "keda.sh/v1alpha1"
QUEUE_METRIC = "vllm:num_requests_waiting"
SUCCESS_METRIC = "vllm:request_success_total"
SCRAPER_USER = "aps-collector-user"  # the Kubernetes user AMP's scraper authenticates as (AMP user guide)
SCRAPE_INTERVAL = "15s"
POLLING_SECONDS = 15
AWS_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


@dataclass(frozen=True)
class CronWindow:
    name: str
    start: str  # standard 5-field cron, UTC
    end: str
    desired_replicas: int
    max_replicas: int | None = None  # the rule's cap in the window; None: the ScaledObject's maxReplicaCount


@dataclass(frozen=True)
class VllmMetricsArgs:
    cluster_arn: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    security_group_ids: tuple[pulumi.Input[str], ...] = ()  # reaches the pods' metrics port
    namespace: str = "deepseek-serving"
    pod_selector: dict[str, str] = field(default_factory=dict)  # labels of the pods that serve metrics
    # Tiered stacks: other tiers' vLLM pods (the same label keys, their own values) are scraped as well.
    more_pod_selectors: tuple[dict[str, str], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


class VllmMetrics(pulumi.ComponentResource):
    """The AMP workspace and its managed scraper reading the serving pods' /metrics."""

    workspace_arn: pulumi.Output[str]
    query_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: VllmMetricsArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:VllmMetrics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workspace = aws.amp.Workspace(f"{name}-amp", alias=name, tags=args.tags, opts=child)
        self._scraper_rbac(name, pulumi.ResourceOptions(parent=self, provider=provider))
        aws.amp.Scraper(
            f"{name}-scraper",
            alias=name,
            source={
                "eks": {
                    "cluster_arn": args.cluster_arn,
                    "subnet_ids": args.subnet_ids,
                    "security_group_ids": list(args.security_group_ids),
                }
            },
            destination={"amp": {"workspace_arn": workspace.arn}},
            scrape_configuration=scrape_configuration(args.namespace, args.pod_selector, args.more_pod_selectors),
            tags=args.tags,
            opts=child,
        )
        self.workspace_arn = workspace.arn
        # KEDA appends /api/v1/query; AMP's endpoint ends with a slash.
        self.query_url = workspace.prometheus_endpoint.apply(lambda url: url.rstrip("/"))
        self.register_outputs({"workspaceArn": self.workspace_arn, "queryUrl": self.query_url})

    def _scraper_rbac(self, name: str, kube: pulumi.ResourceOptions) -> None:
        """What the managed scraper may read in the cluster (AMP user guide, "Configuring your Amazon EKS
        cluster": a ClusterRole for the scraper's user, bound by name)."""
        verbs = ["describe", "get", "list", "watch"]
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-scraper",
            metadata={"name": "aps-collector-role"},
            rules=[
                {"apiGroups": [""], "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints",
                                                  "pods", "ingresses", "configmaps"], "verbs": verbs},
                {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses/status", "ingresses"],
                 "verbs": verbs},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ],
            opts=kube,
        )  # fmt: skip
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-scraper",
            metadata={"name": "aps-collector-user-role-binding"},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "aps-collector-role"},
            subjects=[{"kind": "User", "name": SCRAPER_USER, "apiGroup": "rbac.authorization.k8s.io"}],
            opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[role])),
        )


@dataclass(frozen=True)
class QueueAutoscalingArgs:
    namespace: str = "deepseek-serving"
    target: dict[str, str] = field(default_factory=dict)  # scaleTargetRef (apiVersion, kind, name)
    query_url: pulumi.Input[str] = ""  # the Prometheus-compatible query endpoint (AMP)
    region: str = ""
    metric: str = "queueDepth"  # | qps
    target_queue_depth: float = 5.0
    target_qps: float = 1.0
    min_replicas: int = 0
    max_replicas: int = 1
    scale_in_cooldown_seconds: int = 600
    load_balancer_arn_suffix: pulumi.Input[str] = ""
    target_group_arn_suffix: pulumi.Input[str] = ""
    schedule: tuple[CronWindow, ...] = ()
    # A tier behind the router (stacks/eks_tiers.py): its load is read from its own vLLM series (label
    # model_name = the served model name: every vLLM metric carries it), since the ALB's RequestCount counts
    # the router's traffic; nothing answers 503 for it at zero, so there is no wake trigger (minReplicas ≥ 1).
    model_name: str = ""
    behind_router: bool = False


class QueueAutoscaling(pulumi.ComponentResource):
    """KEDA's TriggerAuthentication and ScaledObject for the workload."""

    def __init__(
        self, name: str, args: QueueAutoscalingArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:QueueAutoscaling", name, None, opts)
        _validate(args)
        kube = pulumi.ResourceOptions(parent=self, provider=provider)
        auth = k8s.apiextensions.CustomResource(
            f"{name}-auth",
            api_version=KEDA_API,
            kind="TriggerAuthentication",
            metadata={"name": auth_name(args), "namespace": args.namespace},
            spec=trigger_authentication_spec(),
            opts=kube,
        )
        spec = pulumi.Output.all(args.query_url, args.load_balancer_arn_suffix, args.target_group_arn_suffix).apply(
            lambda v: scaled_object_spec(args, query_url=v[0], lb_suffix=v[1], tg_suffix=v[2], auth=auth_name(args))
        )
        scaled = k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version=KEDA_API,
            kind="ScaledObject",
            metadata={"name": args.target["name"], "namespace": args.namespace},
            spec=spec,
            opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[auth])),
        )
        self.register_outputs({"scaledObject": scaled.metadata["name"]})


def auth_name(args: QueueAutoscalingArgs) -> str:
    return f"{args.target['name']}-aws"


def scrape_configuration(
    namespace: str, pod_selector: dict[str, str], more_selectors: tuple[dict[str, str], ...] = ()
) -> str:
    """Prometheus scrape config: the serving pods' /metrics on vLLM's port, vLLM's own series only (a tiered
    stack's tiers: each label's values as alternatives)."""
    selectors = [pod_selector, *more_selectors]
    keep_pods = [
        {
            "source_labels": [f"__meta_kubernetes_pod_label_{_label_name(k)}"],
            "regex": "|".join(dict.fromkeys(re.escape(s[k]) for s in selectors)),
            "action": "keep",
        }
        for k in pod_selector
    ]
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL},
        "scrape_configs": [
            {
                "job_name": "vllm",
                "metrics_path": "/metrics",
                "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
                "relabel_configs": [
                    *keep_pods,
                    {"source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": str(vllm.PORT),
                     "action": "keep"},
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                ],
                # Only vLLM's series (vllm:*): AMP bills per sample ingested.
                "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "vllm:.*", "action": "keep"}],
            }
        ],
    }  # fmt: skip
    return yaml.safe_dump(config, sort_keys=False)


def _label_name(key: str) -> str:
    """Prometheus' sanitized form of a Kubernetes label key."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def trigger_authentication_spec() -> dict[str, Any]:
    """KEDA's operator queries AMP and CloudWatch with its own Pod Identity role."""
    return {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}


def _selector(namespace: str, model_name: str) -> str:
    return f'namespace="{namespace}"' + (f',model_name="{model_name}"' if model_name else "")


def queue_query(namespace: str, model_name: str = "") -> str:
    return f"sum({QUEUE_METRIC}{{{_selector(namespace, model_name)}}})"


def request_rate_query(namespace: str, model_name: str) -> str:
    """Finished requests a second (vLLM's vllm:request_success_total counter), summed over the tier's pods."""
    return f"sum(rate({SUCCESS_METRIC}{{{_selector(namespace, model_name)}}}[2m]))"


def _cloudwatch(metric: str, dims: dict[str, str], target: float, activation: float, region: str, auth: str) -> dict:
    return {
        "type": "aws-cloudwatch",
        "name": metric.lower().replace("_", "-"),
        "authenticationRef": {"name": auth},
        "metadata": {
            "namespace": "AWS/ApplicationELB",
            "metricName": metric,
            "dimensionName": ";".join(dims),
            "dimensionValue": ";".join(dims.values()),
            "metricStat": "Sum",
            "metricStatPeriod": "60",
            "metricCollectionTime": "120",
            "targetMetricValue": f"{target:g}",
            "activationTargetMetricValue": f"{activation:g}",
            "minMetricValue": "0",
            "awsRegion": region,
        },
    }


def triggers(args: QueueAutoscalingArgs, query_url: str, lb_suffix: str, tg_suffix: str, auth: str) -> list[dict]:
    """The load trigger (queue depth or request rate), the from-zero activation, the schedule's windows."""
    if args.metric == "queueDepth" or args.behind_router:
        queue = args.metric == "queueDepth"
        load = {
            "type": "prometheus",
            "name": "queue-depth" if queue else "request-rate",
            "authenticationRef": {"name": auth},
            "metadata": {
                "serverAddress": query_url,
                "query": queue_query(args.namespace, args.model_name)
                if queue
                else request_rate_query(args.namespace, args.model_name),
                "threshold": f"{args.target_queue_depth if queue else args.target_qps:g}",
                "activationThreshold": "0",
                "awsRegion": args.region,
            },
        }
    else:  # qps: requests a minute on the target group, AverageValue over replicas
        load = _cloudwatch(
            "RequestCount", {"TargetGroup": tg_suffix, "LoadBalancer": lb_suffix}, args.target_qps * 60, 0,
            args.region, auth,
        )  # fmt: skip
    # Activation only: any 503 the ALB answered itself (no healthy target) wakes the workload; the huge
    # target never asks for more than one replica from this trigger.
    wake = _cloudwatch("HTTPCode_ELB_503_Count", {"LoadBalancer": lb_suffix}, 1_000_000, 0, args.region, auth)
    crons = [
        {
            "type": "cron",
            "name": f"schedule-{w.name.lower()}",
            "metadata": {
                "timezone": "Etc/UTC",
                "start": w.start,
                "end": w.end,
                "desiredReplicas": str(w.desired_replicas),
            },
        }
        for w in args.schedule
        if w.desired_replicas > 0
    ]
    return [load, *([] if args.behind_router else [wake]), *crons]


def capped_windows(args: QueueAutoscalingArgs) -> list[CronWindow]:
    """The schedule's windows whose maxReplicas is below the ScaledObject's maxReplicaCount."""
    return [w for w in args.schedule if w.max_replicas is not None and w.max_replicas < args.max_replicas]


def _nest(fn: str, terms: list[str]) -> str:
    """fn(a, fn(b, c)): two-argument calls only (expr-lang's min/max builtins)."""
    return terms[0] if len(terms) == 1 else f"{fn}({terms[0]}, {_nest(fn, terms[1:])})"


def replicas_formula(args: QueueAutoscalingArgs) -> str:
    """KEDA scalingModifiers formula that IS the replica count (target 1, AverageValue: HPA replicas =
    ceil(value / 1)): the load's ceil(load / per-replica target), at least 1 while the ALB answers 503s
    (wake from zero), at least each active window's minReplicas (its cron trigger `min_i` reads minReplicas in
    the window, 0 outside), and at most each active window's maxReplicas: trigger `cap_i` reads
    maxReplicas + 1 in the window (a cron trigger's desiredReplicas must be ≥ 1) and 0 outside, so
    M - min(cap_i, 1) * (M + 1 - cap_i) is maxReplicas inside and M (maxReplicaCount) outside. Arithmetic and
    two-argument min/max and ceil only (expr-lang "Number functions": min(n1, n2), max(n1, n2), ceil(n);
    KEDA v2.20.2's go.mod pins expr v1.17.8), so it evaluates the same in Python (the tests run it)."""
    per_replica = args.target_queue_depth if args.metric == "queueDepth" else args.target_qps * 60
    m = args.max_replicas
    lower = [f"ceil(load / {per_replica:g})", "min(ceil(wake), 1)"]
    lower += [f"min_{i}" for i, w in enumerate(args.schedule) if w.desired_replicas > 0]
    caps = [
        f"{m} - min(cap_{i}, 1) * ({m + 1} - cap_{i})" for i, w in enumerate(args.schedule) if w in capped_windows(args)
    ]
    return _nest("min", [_nest("max", lower), *caps])


def modifier_triggers(args: QueueAutoscalingArgs, plain: list[dict]) -> list[dict]:
    """The same triggers renamed as formula variables (expr-lang identifiers: no hyphens), plus one cap cron
    trigger per capped window."""
    load, wake = ({**t, "name": n} for t, n in zip(plain[:2], ("load", "wake"), strict=True))
    crons = []
    for i, w in enumerate(args.schedule):
        window = {"timezone": "Etc/UTC", "start": w.start, "end": w.end}
        if w.desired_replicas > 0:
            crons.append(
                {"type": "cron", "name": f"min_{i}", "metadata": {**window, "desiredReplicas": str(w.desired_replicas)}}
            )
        if w in capped_windows(args):
            cap = str((w.max_replicas or 0) + 1)
            crons.append({"type": "cron", "name": f"cap_{i}", "metadata": {**window, "desiredReplicas": cap}})
    return [load, wake, *crons]


def scaled_object_spec(args: QueueAutoscalingArgs, query_url: str, lb_suffix: str, tg_suffix: str, auth: str) -> dict:
    spec = _scaled_object_spec(args, query_url, lb_suffix, tg_suffix, auth)
    if capped_windows(args):
        # A window's maxReplicas below maxReplicaCount (scaling.schedule): KEDA composes every trigger into
        # one metric with the formula (advanced.scalingModifiers, KEDA docs "Scaling Modifiers"; v2.20.2
        # pkg/scaling/modifiers/formula.go) and re-derives activity from it against activationTarget
        # (pkg/scaling/scale_handler.go), so the cap also holds against the wake trigger.
        spec["triggers"] = modifier_triggers(args, spec["triggers"])
        spec["advanced"]["scalingModifiers"] = {
            "formula": replicas_formula(args),
            "target": "1",
            "activationTarget": "0",
            "metricType": "AverageValue",
        }
    return spec


def _scaled_object_spec(args: QueueAutoscalingArgs, query_url: str, lb_suffix: str, tg_suffix: str, auth: str) -> dict:
    return {
        "scaleTargetRef": dict(args.target),
        "pollingInterval": POLLING_SECONDS,
        "cooldownPeriod": args.scale_in_cooldown_seconds,  # last activity → scale to zero
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": args.max_replicas,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # Scale in one replica at a time after the cooldown; out as fast as the trigger asks.
                    "scaleDown": {
                        "stabilizationWindowSeconds": args.scale_in_cooldown_seconds,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    },
                }
            }
        },
        "triggers": triggers(args, query_url, lb_suffix, tg_suffix, auth),
    }


def cron_windows(rules: list[tuple[str, str, int, int | None]]) -> tuple[CronWindow, ...]:
    """(name, AWS cron, minReplicas, maxReplicas) rules → windows: each rule's bounds hold until the next
    rule's time."""
    out = []
    for i, (name, cron, minimum, maximum) in enumerate(rules):
        following = rules[(i + 1) % len(rules)][1]
        out.append(CronWindow(name, standard_cron(cron), standard_cron(following), minimum, maximum))
    return tuple(out)


def standard_cron(aws_cron: str) -> str:
    """Application Auto Scaling's cron(m h dom mon dow year) as a 5-field cron: `?` → `*`, numeric days of
    week 1-7 (SUN=1) → 0-6 (SUN=0); names (MON-FRI) mean the same in both."""
    match = AWS_CRON.match(aws_cron)
    if match is None:
        raise ValueError(f"not an AWS cron expression: {aws_cron}")
    minute, hour, dom, month, dow, _year = match.groups()
    dow = re.sub(r"\d", lambda m: str(int(m.group()) - 1), dow)
    return " ".join(f.replace("?", "*") for f in (minute, hour, dom, month, dow))


def _validate(args: QueueAutoscalingArgs) -> None:
    problems = ArgsProblems("QueueAutoscaling")
    problems.check(args.metric in ("queueDepth", "qps"), "metric", "queueDepth or qps")
    problems.check(0 <= args.min_replicas <= args.max_replicas, "minReplicas", "0 to maxReplicas")
    problems.check(args.target_queue_depth > 0, "targetQueueDepth", "above 0")
    problems.check(args.target_qps > 0, "targetQps", "above 0")
    problems.check(set(args.target) == {"apiVersion", "kind", "name"}, "target", "apiVersion, kind and name")
    problems.check(bool(args.region), "region", "required")
    problems.check(
        not args.behind_router or args.min_replicas >= 1,
        "minReplicas",
        "at least 1 behind the router (nothing wakes a tier from zero)",
    )
    problems.check(not args.behind_router or bool(args.model_name), "modelName", "required behind the router")
    problems.raise_if_any()
