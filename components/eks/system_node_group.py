"""SystemNodeGroup: a small on-demand AL2023 managed node group for the cluster's own pods.

Karpenter must not run on capacity it manages (its chart's affinity keeps it off Karpenter nodes), and
CoreDNS needs a node before any GPU exists: these nodes are that home. On-demand only: a spot reclaim
would take Karpenter down exactly when it must react to the spot reclaim of GPU nodes.

The launch template sets only what EKS lets a managed node group override: IMDSv2 with hop limit 1 and a
gp3 root encrypted with the stack key. EKS still chooses the AMI (ami_type) and writes the node bootstrap.
Hop limit 1 keeps pods in their own network namespace from reading the node role's credentials through
IMDS; pods that need AWS use Pod Identity. The pods that run with hostNetwork (aws-node, kube-proxy,
eks-pod-identity-agent) are one hop away like the node itself, so none needs hop limit 2; Karpenter's
controller gets AWS_REGION from its chart values instead of IMDS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.shared.ebs import GP3_MAX_GIB
from components.shared.validation import ArgsProblems

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    # vpc-cni's aws-node runs with the node role (AWS's default set-up); Pod Identity for it is a later step.
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",  # Session Manager instead of SSH
)
SYSTEM_LABEL = ("deepseek.ai/node-pool", "system")


@dataclass(frozen=True)
class SystemNodeGroupArgs:
    instance_type: str = "m7i.large"  # 2 vCPU / 8 GiB: Karpenter (1 vCPU, 1 GiB requested) + CoreDNS
    size: int = 2  # two nodes: Karpenter's two replicas spread by hostname; one node can drain at a time
    cluster_name: pulumi.Input[str] = ""
    kubernetes_version: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)
    kms_key_arn: pulumi.Input[str] = ""
    root_volume_gib: int = 40
    permissions_boundary_arn: str = ""


def node_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def node_role(name: str, description: str, boundary: str, opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """An EC2 node role with the four policies every EKS node needs (shared with Karpenter's nodes)."""
    role = aws.iam.Role(
        name,
        assume_role_policy=node_trust_policy(),
        description=description,
        permissions_boundary=boundary or None,
        opts=opts,
    )
    for policy in NODE_POLICIES:
        suffix = policy.rsplit("/", 1)[1].lower().replace("_", "-")
        aws.iam.RolePolicyAttachment(f"{name}-{suffix}", role=role.name, policy_arn=policy, opts=opts)
    return role


class SystemNodeGroup(pulumi.ComponentResource):
    role_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: SystemNodeGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:eks:SystemNodeGroup", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        role = node_role(f"{name}-node", "EKS system nodes (Karpenter, CoreDNS)", args.permissions_boundary_arn, child)
        lt = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description="EKS system node group: IMDSv2 hop limit 1, encrypted gp3 root",
            update_default_version=True,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",  # AL2023 EKS AMI root device
                    "ebs": {
                        "volume_type": "gp3",
                        "volume_size": args.root_volume_gib,
                        "encrypted": "true",
                        "kms_key_id": args.kms_key_arn,
                        "delete_on_termination": "true",
                    },
                }
            ],
            tag_specifications=[{"resource_type": "instance", "tags": {"Name": f"{name}-node"}}],
            opts=child,
        )
        group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            # A prefix, not a name: a replacement (new instance type) is created before the old group goes.
            node_group_name_prefix=f"{name}-",
            version=args.kubernetes_version,
            node_role_arn=role.arn,
            subnet_ids=args.subnet_ids,
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            instance_types=[args.instance_type],
            launch_template={"id": lt.id, "version": lt.latest_version.apply(str)},
            scaling_config={"min_size": args.size, "max_size": args.size, "desired_size": args.size},
            update_config={"max_unavailable": 1},
            labels=dict([SYSTEM_LABEL]),
            opts=child,
        )
        self.role_name = role.name
        self.role_arn = role.arn
        self.node_group_name = group.node_group_name
        self.register_outputs({"roleArn": self.role_arn, "nodeGroupName": self.node_group_name})


def _validate(args: SystemNodeGroupArgs) -> None:
    problems = ArgsProblems("SystemNodeGroup")
    problems.check(1 <= args.size <= 10, "size", "1 to 10 nodes")
    problems.check(20 <= args.root_volume_gib <= GP3_MAX_GIB, "rootVolumeGib", "the AL2023 AMI needs 20 GiB or more")
    problems.check(bool(args.instance_type), "instanceType", "required")
    problems.raise_if_any()
