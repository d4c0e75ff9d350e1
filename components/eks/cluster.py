"""EksCluster: the EKS control plane and what every node needs before Karpenter can add GPUs.

- Control plane (aws.eks.Cluster): API authentication mode (access entries only, no aws-auth ConfigMap),
  Kubernetes secrets envelope-encrypted with the stack key (Security Hub EKS.3), api/audit/authenticator
  logs to a KMS-encrypted log group (EKS.8), private endpoint always on, public endpoint off or limited to
  the given CIDRs (EKS.1).
- Access entries: each admin principal (the deployer, an operator role) gets AmazonEKSClusterAdminPolicy
  cluster-wide. Nothing is granted through the creator bootstrap, so a change of deploy role is a diff.
- Managed add-ons, each version pinned by the caller: vpc-cni, kube-proxy, eks-pod-identity-agent, coredns.
- A small on-demand AL2023 managed node group for system pods (Karpenter, CoreDNS), from a launch
  template with IMDSv2 (hop limit 1) and a CMK-encrypted gp3 root volume (system_node_group.py).
- A pulumi_kubernetes Provider built from the cluster's outputs: kubeconfig text, never a file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.eks.system_node_group import SystemNodeGroup, SystemNodeGroupArgs
from components.shared.validation import ArgsProblems

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")  # EKS CreateCluster name pattern


@dataclass(frozen=True)
class EksClusterArgs:
    cluster_name: str = ""  # the EKS name; known at plan time so Karpenter's IAM conditions can name it
    kubernetes_version: str = ""  # "1.35": a minor version EKS offers
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # private subnets, two AZs or more
    kms_key_arn: pulumi.Input[str] = ""  # secrets envelope encryption, control-plane log group, node volumes
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()  # required when the public endpoint is on
    admin_principal_arns: tuple[pulumi.Input[str], ...] = ()  # IAM roles/users granted cluster-admin
    addon_versions: dict[str, str] = field(default_factory=dict)  # EKS add-on name -> pinned version
    system_nodes: SystemNodeGroupArgs = field(default_factory=SystemNodeGroupArgs)
    log_retention_days: int = 30
    permissions_boundary_arn: str = ""
    protect: bool = False  # prod: the cluster (and everything running on it) is not deleted by accident


class EksCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:eks:Cluster", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            # EKS writes to exactly this name; creating it first sets retention and the key (EKS would
            # otherwise create it unencrypted with no expiry).
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        role = _cluster_role(name, args, child)
        cluster = aws.eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            vpc_config={
                "subnet_ids": args.subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": args.endpoint_public_access,
                "public_access_cidrs": list(args.public_access_cidrs) if args.endpoint_public_access else None,
            },
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": args.kms_key_arn}},
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            # Standard support only: after it ends EKS bills extended support ($0.60/h instead of $0.10/h).
            upgrade_policy={"support_type": "STANDARD"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group], protect=args.protect),
        )
        admins = _admin_access(name, cluster, args, child)
        addons_before_nodes = _addons(
            self, name, cluster, args, ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"), []
        )
        nodes = SystemNodeGroup(
            f"{name}-system",
            _with_cluster(args.system_nodes, cluster, args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=addons_before_nodes),
        )
        # CoreDNS is a Deployment: without a node it stays degraded and the add-on creation times out.
        _addons(self, name, cluster, args, ("coredns",), [nodes])
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig(cluster.name, cluster.endpoint, cluster.certificate_authority.data),
            # Nothing may be applied before the deployer's access entry can authorise it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=admins),
        )
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.node_role_name = nodes.role_name
        self.node_role_arn = nodes.role_arn
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterArn": self.cluster_arn,
                "endpoint": self.endpoint,
                "clusterSecurityGroupId": self.cluster_security_group_id,
            }
        )


def _cluster_role(name: str, args: EksClusterArgs, child: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(
        f"{name}-cluster",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ],
            }
        ),
        description="EKS control plane service role",
        permissions_boundary=args.permissions_boundary_arn or None,
        opts=child,
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-cluster-policy",
        role=role.name,
        policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        opts=child,
    )
    # Envelope encryption of secrets uses the key as the cluster role; AmazonEKSClusterPolicy has no KMS
    # rights (terraform-aws-eks attaches the same four actions as its "cluster encryption" policy).
    aws.iam.RolePolicy(
        f"{name}-cluster-encryption",
        role=role.name,
        policy=pulumi.Output.from_input(args.kms_key_arn).apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                            "Resource": arn,
                        }
                    ],
                }
            )
        ),
        opts=child,
    )
    return role


def _admin_access(
    name: str, cluster: aws.eks.Cluster, args: EksClusterArgs, child: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """One access entry + cluster-admin policy association per admin principal."""
    made: list[pulumi.Resource] = []
    for i, principal in enumerate(args.admin_principal_arns):
        entry = aws.eks.AccessEntry(
            f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", opts=child
        )
        made.append(
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope={"type": "cluster"},
                opts=child,
            )
        )
    return made


def _addons(
    parent: pulumi.Resource,
    name: str,
    cluster: aws.eks.Cluster,
    args: EksClusterArgs,
    names: tuple[str, ...],
    after: list[pulumi.Resource],
) -> list[pulumi.Resource]:
    return [
        aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=args.addon_versions[addon],
            # EKS installs self-managed vpc-cni/kube-proxy/coredns at creation; the managed add-on takes them over.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
        )
        for addon in names
    ]


def _with_cluster(nodes: SystemNodeGroupArgs, cluster: aws.eks.Cluster, args: EksClusterArgs) -> SystemNodeGroupArgs:
    return replace(
        nodes,
        cluster_name=cluster.name,
        kubernetes_version=cluster.version,
        subnet_ids=args.subnet_ids,
        kms_key_arn=args.kms_key_arn,
        permissions_boundary_arn=args.permissions_boundary_arn,
    )


def kubeconfig(
    cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str]
) -> pulumi.Output[str]:
    """kubeconfig text for the provider: token from `aws eks get-token` (the deployer's own credentials)."""

    def render(values: list[str]) -> str:
        name, server, ca = values
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca}}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
                "users": [
                    {
                        "name": name,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": ["eks", "get-token", "--cluster-name", name, "--output", "json"],
                                "interactiveMode": "Never",
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(cluster_name, endpoint, ca_data).apply(render)


def _validate(args: EksClusterArgs) -> None:
    problems = ArgsProblems("EksCluster")
    problems.check(bool(CLUSTER_NAME.match(args.cluster_name)), "clusterName", "1-100 letters, digits, - and _")
    problems.check(bool(re.match(r"^1\.\d+$", args.kubernetes_version)), "kubernetesVersion", "a minor such as 1.35")
    problems.check(
        not args.endpoint_public_access or bool(args.public_access_cidrs),
        "publicAccessCidrs",
        "required when the public endpoint is on (EKS would open it to 0.0.0.0/0)",
    )
    problems.check(
        args.endpoint_public_access or not args.public_access_cidrs,
        "publicAccessCidrs",
        "set without endpointPublicAccess",
    )
    missing = {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns"} - set(args.addon_versions)
    problems.check(not missing, "addonVersions", f"no pinned version for {', '.join(sorted(missing))}")
    problems.check(bool(args.admin_principal_arns), "adminPrincipalArns", "at least one principal must administer")
    for i, arn in enumerate(args.admin_principal_arns):
        problems.check(
            not isinstance(arn, str) or bool(ROLE_ARN.match(arn)), f"adminPrincipalArns[{i}]", "an IAM role ARN"
        )
    problems.raise_if_any()
