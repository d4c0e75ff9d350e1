"""RouterLogs: ships the tier router's container logs to the Container Insights application log group, where
the router's metric filters, fallback alarm and dashboard read them (components/shared/router_metrics.py).

  router pods' stdout → /var/log/containers/router-*_<ns>_router-*.log on the system nodes
  → Fluent Bit (aws-for-fluent-bit chart from aws/eks-charts, a DaemonSet on the system nodes only)
      tail (multiline docker, cri) → kubernetes filter (Merge_Log under `log_processed`) → cloudwatch_logs
  → /aws/containerinsights/<cluster>/application (the group the router declares, encrypted with the stack key)

Why this agent and not the amazon-cloudwatch-observability add-on: the add-on's Fluent Bit tails every
container on every node into three log groups and brings the CloudWatch agent and its operator; this DaemonSet
tails only the router's containers, on the nodes the router runs on, into the one group, and its whole Fluent
Bit configuration is the chart's configmap.yaml at the pinned version (tests/data/charts), so the record it
writes is known from source (tests/test_router_logs.py builds it and matches the metric filters against it).

The record (Fluent Bit v4.2.2, the engine of aws-for-fluent-bit 3.2.1, the chart's default image; source read
2026-12-01): the `cri` multiline parser splits a containerd line into time/stream/_p/log, keeping `time`
(src/multiline/flb_ml_parser_cri.c); the kubernetes filter parses `log` as JSON and, with Merge_Log_Key,
nests the fields under that key, dropping `log` when Keep_Log is Off (plugins/filter_kubernetes/kubernetes.c,
pack_map_content), then appends `kubernetes`; cloudwatch_logs without log_key sends the whole record as JSON
(plugins/out_cloudwatch_logs/cloudwatch_api.c, process_event). Its only API calls there are CreateLogGroup
(auto_create_group, off here), PutRetentionPolicy (log_retention_days, unset), CreateLogStream and
PutLogEvents: the Pod Identity role may do the last two, on the one group. EKS Pod Identity credentials: Fluent
Bit's HTTP provider reads AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (the
EKS container host 169.254.170.23, src/aws/flb_aws_credentials_http.c).

Namespace: its own, PSA "privileged": a log tailer needs hostPath /var/log (for the tail position DB and the
logs), which "baseline" (enforced on the serving namespace) forbids. Its own namespace rather than kube-system:
the Pod Identity association and the PSA exception cover this DaemonSet alone. It drops every capability and
cannot escalate, with a read-only root filesystem. It runs as root because containerd (root) creates the log
files under /var/log/pods and the tail DB goes into the root-owned /var/log (the files' exact mode was not
checked here); a non-root uid would need both relaxed on the node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.eks.addons import Chart
from components.eks.pod_identity import associate, pod_identity_trust
from components.shared.validation import ArgsProblems

NAMESPACE = "router-logs"
RELEASE = "router-logs"
SERVICE_ACCOUNT = "router-logs"
MERGE_LOG_KEY = "log_processed"  # Container Insights' key: the router's filters read $.log_processed.*
TAIL_DB = "/var/log/flb_router_logs.db"  # on the node (hostPath /var/log): tail offsets survive restarts
PRIORITY_CLASS = "system-node-critical"  # allowed outside kube-system since Kubernetes 1.17 (cilium/cilium#12151)


@dataclass(frozen=True)
class RouterLogsArgs:
    cluster_name: pulumi.Input[str] = ""
    region: str = ""
    chart: Chart = field(default_factory=lambda: Chart("", ""))
    log_group_name: str = ""  # the router's (Container Insights application) group
    log_group_arn: pulumi.Input[str] = ""
    source_namespace: str = "deepseek-serving"  # the router pods'
    pod_prefix: str = "router"  # the router Deployment's name: its pods are router-<hash>-<id>
    container: str = "router"
    node_selector: dict[str, str] = field(default_factory=dict)  # where the router runs
    permissions_boundary_arn: str = ""


def tail_path(args: RouterLogsArgs) -> str:
    """The kubelet's /var/log/containers/<pod>_<namespace>_<container>-<container id>.log of the router only."""
    return f"/var/log/containers/{args.pod_prefix}-*_{args.source_namespace}_{args.container}-*.log"


def writer_policy(log_group_arn: str) -> dict[str, Any]:
    """CreateLogStream and PutLogEvents on the one group (no CreateLogGroup: it is declared, with its key and
    retention; no DescribeLogStreams: the plugin never calls it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ShipRouterLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }


def chart_values(args: RouterLogsArgs) -> dict[str, Any]:
    """Values of the aws-for-fluent-bit chart (keys: tests/data/charts/aws-for-fluent-bit-0.2.0-*)."""
    return {
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "input": {"path": tail_path(args), "db": TAIL_DB},
        "filter": {
            "mergeLog": "On",
            "mergeLogKey": MERGE_LOG_KEY,
            "keepLog": "Off",  # the parsed JSON replaces the raw line (a line that is not JSON keeps `log`)
            # No pod annotation may pick another parser or drop the router's lines.
            "k8sLoggingParser": "Off",
            "k8sLoggingExclude": "Off",
            # Lines into the kubernetes filter section: labels and annotations are not needed per event.
            "extraFilters": "Labels              Off\nAnnotations         Off",
        },
        "cloudWatchLogs": {
            "enabled": True,
            "region": args.region,
            "logGroupName": args.log_group_name,
            "logStreamPrefix": "router.",
            "autoCreateGroup": False,
        },
        "nodeSelector": dict(args.node_selector),
        "priorityClassName": PRIORITY_CLASS,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        # /var/log only (containerd: the logs are under /var/log/pods); not the chart's /var/lib/docker mount.
        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
        "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
    }


class RouterLogs(pulumi.ComponentResource):
    """Namespace, Pod Identity role (CreateLogStream/PutLogEvents on one group), the Fluent Bit release."""

    def __init__(
        self, name: str, args: RouterLogsArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:RouterLogs", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={
                "name": NAMESPACE,
                "labels": {
                    # hostPath /var/log: "baseline" forbids it (module docstring).
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        role = aws.iam.Role(
            f"{name}-writer",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description="Fluent Bit (EKS Pod Identity): the tier router's container logs into one log group",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-writer",
            role=role.name,
            policy=pulumi.Output.from_input(args.log_group_arn).apply(lambda arn: json.dumps(writer_policy(arn))),
            opts=child,
        )
        association = associate(f"{name}-writer", args.cluster_name, NAMESPACE, SERVICE_ACCOUNT, role.arn, child)
        k8s.helm.v3.Release(
            f"{name}-fluent-bit",
            name=RELEASE,
            chart=args.chart.chart,
            version=args.chart.version,
            repository_opts={"repo": args.chart.repo},
            namespace=NAMESPACE,
            values=chart_values(args),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace, association]),
        )
        self.register_outputs({"namespace": NAMESPACE, "roleArn": role.arn})


def _validate(args: RouterLogsArgs) -> None:
    problems = ArgsProblems("RouterLogs")
    problems.check(bool(args.region), "region", "required")
    problems.check(args.log_group_name.startswith("/"), "logGroupName", "an absolute log group name")
    problems.check(bool(args.node_selector), "nodeSelector", "the router's nodes: an empty selector tails every node")
    problems.check(bool(args.chart.chart and args.chart.repo), "chart", "the aws-for-fluent-bit chart and its repo")
    problems.check(
        args.chart.version.count(".") == 2 and args.chart.version.replace(".", "").isdigit(),
        "chart.version",
        "an exact x.y.z chart version",
    )
    problems.raise_if_any()
