"""ServingAddons: the controllers the vLLM workload needs, each a pinned Helm release.

- AWS Load Balancer Controller: registers pods into the Pulumi-declared target group (TargetGroupBinding).
  Pod Identity role with the controller's upstream IAM policy, vendored unchanged from the pinned tag
  (data/aws-load-balancer-controller-iam-policy-v3.5.0.json, SOURCE there). Region and VPC are given
  because IMDS is unreachable from pods (hop limit 1).
- Secrets Store CSI driver + its AWS provider: mount Secrets Manager values into pods with the pod's own
  Pod Identity (the driver requests a token for the `pods.eks.amazonaws.com` audience); both DaemonSets
  tolerate the GPU taint, because the vLLM pods run there.
- KEDA: scales the workload on queue depth (Prometheus) and ALB requests (CloudWatch); its operator reads
  metrics with its own Pod Identity role (TriggerAuthentication identityOwner keda).
- LeaderWorkerSet controller: only when a replica spans nodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.eks.gpu_capacity import GPU_TAINT
from components.eks.pod_identity import associate, pod_identity_trust
from components.shared.validation import ArgsProblems

LB_CONTROLLER_POLICY = Path(__file__).with_name("data") / "aws-load-balancer-controller-iam-policy-v3.5.0.json"
LB_CONTROLLER_SA = "aws-load-balancer-controller"
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_SA = "keda-operator"
GPU_TOLERATION = {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}


@dataclass(frozen=True)
class Chart:
    chart: str
    version: str
    repo: str = ""  # empty for an oci:// chart


@dataclass(frozen=True)
class ServingAddonsArgs:
    cluster_name: pulumi.Input[str] = ""
    region: str = ""
    vpc_id: pulumi.Input[str] = ""
    lb_controller: Chart = Chart("", "")
    csi_driver: Chart = Chart("", "")
    csi_aws_provider: Chart = Chart("", "")
    keda: Chart = Chart("", "")
    lws: Chart | None = None  # installed only for multi-node replicas
    prometheus_workspace_arn: pulumi.Input[str] = ""  # what KEDA's operator may query
    permissions_boundary_arn: str = ""


class ServingAddons(pulumi.ComponentResource):
    releases: list[k8s.helm.v3.Release]  # what the workload's custom resources wait for

    def __init__(
        self, name: str, args: ServingAddonsArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:ServingAddons", name, None, opts)
        _validate(args)
        self._name, self._args, self._provider = name, args, provider
        self.releases = [self._lb_controller(), *self._secrets_store(), self._keda()]
        if args.lws is not None:
            self.releases.append(self._release("lws", args.lws, "lws-system", {}))
        self.register_outputs({"releases": [r.name for r in self.releases]})

    def _release(
        self, short: str, chart: Chart, namespace: str, values: dict[str, Any], depends_on: list[Any] | None = None
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._name}-{short}",
            name=short,
            chart=chart.chart,
            version=chart.version,
            repository_opts={"repo": chart.repo} if chart.repo else None,
            namespace=namespace,
            create_namespace=namespace != "kube-system",
            values=values,
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=depends_on or []),
        )

    def _pod_identity_role(self, short: str, description: str, namespace: str, sa: str, policy: Any) -> Any:
        """A role only `namespace/sa` assumes (EKS Pod Identity), with one inline policy."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-{short}",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description=description,
            permissions_boundary=self._args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(f"{self._name}-{short}", role=role.name, policy=policy, opts=child)
        return associate(f"{self._name}-{short}", self._args.cluster_name, namespace, sa, role.arn, child)

    def _lb_controller(self) -> k8s.helm.v3.Release:
        a = self._args
        association = self._pod_identity_role(
            "lbc",
            "AWS Load Balancer Controller (EKS Pod Identity): upstream policy v3.5.0",
            "kube-system",
            LB_CONTROLLER_SA,
            LB_CONTROLLER_POLICY.read_text(),
        )
        values = {
            "clusterName": a.cluster_name,
            "region": a.region,
            "vpcId": a.vpc_id,
            "serviceAccount": {"create": True, "name": LB_CONTROLLER_SA},
        }
        return self._release("aws-load-balancer-controller", a.lb_controller, "kube-system", values, [association])

    def _secrets_store(self) -> list[k8s.helm.v3.Release]:
        a = self._args
        driver = self._release("secrets-store-csi-driver", a.csi_driver, "kube-system", csi_driver_values())
        provider = self._release(
            "secrets-provider-aws", a.csi_aws_provider, "kube-system", csi_provider_values(a.region), [driver]
        )
        return [driver, provider]

    def _keda(self) -> k8s.helm.v3.Release:
        a = self._args
        policy = pulumi.Output.from_input(a.prometheus_workspace_arn).apply(lambda arn: json.dumps(keda_policy(arn)))
        association = self._pod_identity_role(
            "keda",
            "KEDA operator (EKS Pod Identity): query AMP and CloudWatch",
            KEDA_NAMESPACE,
            KEDA_OPERATOR_SA,
            policy,
        )
        return self._release("keda", a.keda, KEDA_NAMESPACE, {}, [association])


def csi_driver_values() -> dict[str, Any]:
    """The driver hands the AWS provider a token for Pod Identity's audience (ASCP README, "Separate CSI
    Driver Installation"); no syncing into Kubernetes Secrets (the chart's default, kept explicit)."""
    return {
        "tokenRequests": [{"audience": "pods.eks.amazonaws.com"}],
        "syncSecret": {"enabled": False},
        "linux": {"tolerations": [GPU_TOLERATION]},
    }


def csi_provider_values(region: str) -> dict[str, Any]:
    return {
        "awsRegion": region,
        "secrets-store-csi-driver": {"install": False},  # its dependency floats ("^1"): installed pinned above
        "tolerations": [GPU_TOLERATION],
    }


def keda_policy(workspace_arn: str) -> dict[str, Any]:
    """Queue depth from the stack's AMP workspace; ALB request counts from CloudWatch (GetMetricData has
    no resource-level permissions: Resource "*" is the only form IAM accepts)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "QueryQueueDepth", "Effect": "Allow", "Action": "aps:QueryMetrics", "Resource": workspace_arn},
            {"Sid": "ReadRequestCounts", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"},
        ],
    }


def _validate(args: ServingAddonsArgs) -> None:
    problems = ArgsProblems("ServingAddons")
    problems.check(bool(args.region), "region", "required")
    for key, chart in (
        ("lbController", args.lb_controller),
        ("csiDriver", args.csi_driver),
        ("csiAwsProvider", args.csi_aws_provider),
        ("keda", args.keda),
        *((("lws", args.lws),) if args.lws else ()),
    ):
        problems.check(bool(chart.chart), f"{key}.chart", "required")
        problems.check(
            chart.version.count(".") == 2 and chart.version.replace(".", "").isdigit(),
            f"{key}.version",
            "an exact x.y.z chart version",
        )
    problems.raise_if_any()
