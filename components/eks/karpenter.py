"""Karpenter: its AWS side (IAM, interruption queue, EventBridge rules, node role) and its Helm release.

The IAM policies, the queue and the rules are the ones Karpenter's own getting-started CloudFormation
declares for the pinned release (data/karpenter-cloudformation-v1.14.1.yaml, copied from
aws/karpenter-provider-aws @ c88abbbad "Stable Release updates Release v1.14.1",
website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml), read here
rather than retyped, plus one statement for launching volumes encrypted with the stack key.
The controller gets its credentials through EKS Pod Identity (no OIDC provider, no IRSA annotation).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.eks.pod_identity import associate, pod_identity_trust
from components.eks.system_node_group import node_role
from components.shared.validation import ArgsProblems

CLOUDFORMATION = Path(__file__).with_name("data") / "karpenter-cloudformation-v1.14.1.yaml"
CONTROLLER_POLICIES = (
    "NodeLifecyclePolicy",
    "IAMIntegrationPolicy",
    "EKSIntegrationPolicy",
    "InterruptionPolicy",
    "ResourceDiscoveryPolicy",
)
# The EventBridge rules that feed the interruption queue, by the CloudFormation resource they copy.
INTERRUPTION_RULES = {
    "spot-interruption": "SpotInterruptionRule",
    "rebalance": "RebalanceRule",
    "instance-state-change": "InstanceStateChangeRule",
    "scheduled-change": "ScheduledChangeRule",
}
NAMESPACE = "kube-system"  # Karpenter's documented namespace; its service account is `karpenter`
SERVICE_ACCOUNT = "karpenter"


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: str = ""  # known at plan time: the IAM conditions name it
    cluster_endpoint: pulumi.Input[str] = ""
    region: str = ""
    account_id: str = ""
    partition: str = "aws"
    kms_key_arn: pulumi.Input[str] = ""  # the EC2NodeClass encrypts root volumes with it
    chart: str = ""  # oci://public.ecr.aws/karpenter/karpenter
    chart_version: str = ""
    replicas: int = 2
    permissions_boundary_arn: str = ""


class Karpenter(pulumi.ComponentResource):
    node_role_name: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: KarpenterArgs,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("deepseek:eks:Karpenter", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        queue = self._interruption_queue(name, args, child)
        nodes = node_role(f"{name}-node", "GPU nodes launched by Karpenter", args.permissions_boundary_arn, child)
        node_entry = aws.eks.AccessEntry(
            f"{name}-node", cluster_name=args.cluster_name, principal_arn=nodes.arn, type="EC2_LINUX", opts=child
        )
        controller = self._controller_role(name, args, nodes, queue, child)
        association = associate(
            f"{name}-controller", args.cluster_name, NAMESPACE, SERVICE_ACCOUNT, controller.arn, child
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-chart",
            name="karpenter",
            chart=args.chart,
            version=args.chart_version,
            namespace=NAMESPACE,
            values=chart_values(args, queue.name),
            # Karpenter starts without credentials if the association is not there yet.
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[association, node_entry]),
        )
        self.node_role_name = nodes.name
        self.queue_name = queue.name
        self.register_outputs({"nodeRoleName": self.node_role_name, "queueName": self.queue_name})

    def _interruption_queue(self, name: str, args: KarpenterArgs, child: pulumi.ResourceOptions) -> aws.sqs.Queue:
        template = load_template()["Resources"]
        queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=args.cluster_name,  # Karpenter's convention: the queue is named after the cluster
            message_retention_seconds=template["KarpenterInterruptionQueue"]["Properties"]["MessageRetentionPeriod"],
            sqs_managed_sse_enabled=True,  # SSE-SQS, as upstream: EventBridge needs no key grant
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruption", queue_url=queue.url, policy=queue.arn.apply(queue_policy), opts=child
        )
        for short, resource in INTERRUPTION_RULES.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{short}",
                description=f"Karpenter interruption queue: {short}",
                event_pattern=json.dumps(template[resource]["Properties"]["EventPattern"]),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{short}",
                rule=rule.name,
                arn=queue.arn,
                target_id="KarpenterInterruptionQueueTarget",
                opts=child,
            )
        return queue

    def _controller_role(
        self,
        name: str,
        args: KarpenterArgs,
        nodes: aws.iam.Role,
        queue: aws.sqs.Queue,
        child: pulumi.ResourceOptions,
    ) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-controller",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description="Karpenter controller (EKS Pod Identity)",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        documents = pulumi.Output.all(nodes.arn, queue.arn, args.kms_key_arn).apply(
            lambda v: controller_policies(args, node_role_arn=v[0], queue_arn=v[1], kms_key_arn=v[2])
        )
        for policy_name in (*CONTROLLER_POLICIES, "VolumeKeyPolicy"):
            policy = aws.iam.Policy(
                f"{name}-{policy_name}",
                description=f"Karpenter controller: {policy_name}",
                policy=documents.apply(lambda docs, n=policy_name: json.dumps(docs[n])),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(f"{name}-{policy_name}", role=role.name, policy_arn=policy.arn, opts=child)
        return role


def chart_values(args: KarpenterArgs, queue_name: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "replicas": args.replicas,
        "settings": {
            "clusterName": args.cluster_name,
            "clusterEndpoint": args.cluster_endpoint,
            "interruptionQueue": queue_name,
            # Replace GPU nodes that go NotReady (kubelet/driver failure) instead of keeping them; see
            # docs/eks.md "A GPU node that never becomes ready".
            "featureGates": {"nodeRepair": True},
        },
        "controller": {
            # Hop limit 1 on the system nodes: the region comes from here, not from IMDS.
            "env": [{"name": "AWS_REGION", "value": args.region}],
            # Karpenter's documented sizing for small clusters: 1 vCPU, 1 GiB, requests = limits.
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
    }


def load_template() -> dict[str, Any]:
    """The pinned upstream CloudFormation template, parsed once per process (three readers per program
    run); each caller gets its own copy."""
    return copy.deepcopy(_parsed_template())


@functools.cache
def _parsed_template() -> dict[str, Any]:
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser where PyYAML has it
        pass

    def tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None

    Loader.add_multi_constructor("!", tag)
    return yaml.load(CLOUDFORMATION.read_text(), Loader=Loader)


def controller_policies(args: KarpenterArgs, node_role_arn: str, queue_arn: str, kms_key_arn: str) -> dict[str, Any]:
    """The upstream policy documents with their ${...} filled in, plus the volume-key statement."""
    values = {
        "AWS::Partition": args.partition,
        "AWS::Region": args.region,
        "AWS::AccountId": args.account_id,
        "AWS::URLSuffix": "amazonaws.com",
        "ClusterName": args.cluster_name,
        "KarpenterNodeRole.Arn": node_role_arn,
        "KarpenterInterruptionQueue.Arn": queue_arn,
    }
    resources = load_template()["Resources"]
    docs = {}
    for policy in CONTROLLER_POLICIES:
        text = resources[policy]["Properties"]["PolicyDocument"]
        docs[policy] = json.loads(re.sub(r"\$\{([\w:.]+)\}", lambda m: values[m.group(1)], text))
    docs["VolumeKeyPolicy"] = volume_key_policy(args.region, kms_key_arn)
    return docs


def volume_key_policy(region: str, kms_key_arn: str) -> dict[str, Any]:
    """CreateFleet launches root volumes encrypted with the stack key as the controller: EC2 needs the
    caller's grant on the key ("Required AWS KMS key policy for use with encrypted volumes")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowEc2VolumesWithTheStackKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey", "kms:ReEncrypt*"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"}},
            },
            {
                "Sid": "AllowEc2GrantsOnTheStackKey",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": kms_key_arn,
                "Condition": {
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                    "StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"},
                },
            },
        ],
    }


def queue_policy(queue_arn: str) -> str:
    statements = load_template()["Resources"]["KarpenterInterruptionQueuePolicy"]["Properties"]["PolicyDocument"]
    rendered = json.loads(json.dumps(statements).replace('"KarpenterInterruptionQueue.Arn"', json.dumps(queue_arn)))
    for statement in rendered["Statement"]:
        statement["Resource"] = queue_arn
        for operator in (statement.get("Condition") or {}).values():
            # YAML reads `false` as a boolean; IAM condition values are strings.
            operator.update({k: str(v).lower() if isinstance(v, bool) else v for k, v in operator.items()})
    rendered["Version"] = "2012-10-17"
    return json.dumps(rendered)


def _validate(args: KarpenterArgs) -> None:
    problems = ArgsProblems("Karpenter")
    problems.check(bool(args.cluster_name), "clusterName", "required (known at plan time)")
    problems.check(bool(re.match(r"^\d{12}$", args.account_id)), "accountId", "a 12-digit AWS account id")
    problems.check(bool(args.region), "region", "required")
    problems.check(args.chart.startswith("oci://"), "chart", "Karpenter's OCI chart reference")
    problems.check(bool(re.match(r"^\d+\.\d+\.\d+$", args.chart_version)), "chartVersion", "an exact x.y.z version")
    problems.check(1 <= args.replicas <= 3, "replicas", "1 to 3")
    problems.raise_if_any()
