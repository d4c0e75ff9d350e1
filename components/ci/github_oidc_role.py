"""GitHub Actions → AWS without stored keys: GitHub's OIDC provider and the roles CI assumes.

- preview role: read-only. Assumable from pull requests of this repository and from the allowed refs, so
  `pulumi preview` can read what exists, the project's stack state and its secrets — and change nothing.
- one deploy role per GitHub environment: assumable only by a job running in that environment
  (`repo:<owner>/<name>:environment:<env>`, never a `ref:` subject), whose reviewers gate it. Environment
  <env> deploys the stack named <env>: its role writes only resources named for that stack ("ds-<env>-…",
  "deepseek/<env>/…"), deletes EC2/KMS resources only when they carry the project's and the environment's
  tags, and writes only that stack's state. A job in `dev` can't assume the prod role, and the dev role
  can't rename, delete or re-tag prod's named resources, even when every stack shares one account.

Policies are plain dicts → json.dumps: no invoke, so previews and unit tests need no AWS.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.validation import ArgsProblems

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks GitHub for
# The CI roles live under their own path: the deploy role's IAM rights (name prefix) can never reach them,
# and an explicit Deny makes that hold even if someone picks an overlapping prefix.
CI_ROLE_PATH = "/github-ci/"
TRUST_POLICY_LIMIT = 2048  # IAM's default quota for a role trust policy, in characters

# Services whose service-linked roles the first deploy into a fresh account has to create.
SERVICE_LINKED_ROLES = (
    "autoscaling.amazonaws.com",
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "spot.amazonaws.com",
    # EKS: the cluster's (created with the first cluster), managed node groups', and the AMP scraper's
    # (https://docs.aws.amazon.com/eks/latest/userguide/using-service-linked-roles.html,
    # https://docs.aws.amazon.com/prometheus/latest/userguide/using-service-linked-roles.html).
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "scraper.aps.amazonaws.com",
)
# EC2 calls that tag what they create (TagSpecifications): ec2:CreateTags is allowed with these as ec2:CreateAction
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
EC2_TAG_ON_CREATE = (
    "AllocateAddress",
    "CreateInternetGateway",
    "CreateLaunchTemplate",
    "CreateLaunchTemplateVersion",
    "CreateNatGateway",
    "CreateRouteTable",
    "CreateSecurityGroup",
    "CreateSubnet",
    "CreateVpc",
    "CreateVpcEndpoint",
    "CreateFlowLogs",
    "CreatePlacementGroup",
    "RunInstances",
    "AuthorizeSecurityGroupEgress",
    "AuthorizeSecurityGroupIngress",
)
# Who may receive the project's roles: ECS tasks (task/execution roles), EC2 (GPU hosts' instance profile, EKS
# node roles), VPC Flow Logs (its delivery role, components/network.py VpcFlowLogs), EKS (the cluster role) and
# EKS Pod Identity (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html: pods.eks.amazonaws.com).
PASS_ROLE_TO = (
    "ecs-tasks.amazonaws.com",
    "ec2.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "eks.amazonaws.com",
    "pods.eks.amazonaws.com",
    "lambda.amazonaws.com",  # the API-key rotation function (components/ecs/api_key_rotation.py)
)

# Read-only calls `pulumi preview` makes (data sources, provider checks) on the services the stack uses.
# Describe/List APIs mostly don't support resource-level permissions, hence Resource "*".
READ_ACTIONS = (
    "application-autoscaling:Describe*",
    "autoscaling:Describe*",
    "application-autoscaling:ListTagsForResource",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "ec2:Describe*",
    # The image build's registry login (aws.ecr.get_authorization_token); no resource-level permissions
    # (Service Authorization Reference, ECR). A token alone pulls nothing without repository rights.
    "ecr:GetAuthorizationToken",
    "ecs:Describe*",
    "ecs:List*",
    "eks:DescribeAddonVersions",  # no resource-level permissions (Service Authorization Reference, Amazon EKS)
    "elasticloadbalancing:Describe*",
    "events:DescribeRule",
    # The service-linked-role preflight (stacks/account.py) lists /aws-service-role/ roles; ListRoles has no
    # resource-level permissions (Service Authorization Reference, IAM), so it needs "*".
    "iam:ListRoles",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "logs:DescribeLogGroups",
    "logs:DescribeMetricFilters",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "secretsmanager:DescribeSecret",  # metadata only: never GetSecretValue
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecrets",
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
)
IAM_READ_ACTIONS = (
    "iam:GetInstanceProfile",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REF = re.compile(r"^refs/(heads|tags)/[^\s*?\[\]]+$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_PROVIDER_ARN = re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$")
_NAME_PREFIX = re.compile(r"^[A-Za-z0-9+=,.@_-][A-Za-z0-9+=,.@_/-]{1,63}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_BOUNDARY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


@dataclass(frozen=True)
class GithubOidcRoleArgs:
    # "owner/name" exactly as GitHub spells it: AWS compares the token's sub claim case-sensitively.
    repository: str
    # Workflows on these refs may assume the preview role (the reviewers' previews of main). Deploy roles
    # never trust a ref: any workflow on main could claim one.
    allowed_refs: tuple[str, ...] = ("refs/heads/main",)
    # One deploy role each: only jobs declaring `environment: <name>` may assume it (reviewers on the
    # environment gate it), and it manages the stack named <name>.
    allowed_environments: tuple[str, ...] = ("dev", "staging", "prod")
    # Further stacks a deploy role manages, as (stack, environment) pairs: a stack whose
    # `deepseek-cloud:environment` is not its name (Pulumi.hybrid.yaml: ("hybrid", "staging")). Its names
    # ("ds-<stack>-", "deepseek/<stack>/") and state files join that environment's role; its resources carry
    # that environment's tag. () = each role manages the stack named like its environment only.
    extra_stacks: tuple[tuple[str, str], ...] = ()
    # Pull requests (same-repo branches; forks get no token) may assume the read-only preview role.
    pull_request_previews: bool = True
    # The account's existing GitHub provider ARN to adopt (there can be only one per account); "" = create it.
    oidc_provider_arn: str = ""
    # Names the deploy role may create and manage. "ds-": StackContext.short_name ("ds-<stack>-…": IAM, ECS, ELB,
    # alarms, topics, buckets, KMS aliases); "deepseek/": log groups and secrets ("/deepseek/<stack>/…").
    # A prefix with "/" is used only where names may contain one (log groups, secrets, alarms, KMS aliases).
    # A deploy role gets them narrowed to its stack: "ds-" → "ds-<env>-", "deepseek/" → "deepseek/<env>/".
    managed_name_prefixes: tuple[str, ...] = ("ds-", "deepseek/")
    # Tag every stack resource carries (stacks/tagging.py); EC2 deletes and KMS key changes require it.
    owner_tag_key: str = "project"
    owner_tag_value: str = "deepseek-cloud"
    # Tag whose value is the stack's environment (stacks/config.py StackContext.tags); a deploy role's deletes
    # and KMS key changes also require it to be the role's environment.
    environment_tag_key: str = "environment"
    # The Pulumi project whose stacks CI previews and deploys: the self-managed backend keeps its state under
    # .pulumi/{stacks,history,backups,locks}/<project>/, which is all the CI roles may read or write.
    stack_project: str = "deepseek-cloud"
    # Self-managed backend: the S3 bucket holding state; "" = Pulumi Cloud holds it.
    state_bucket: str = ""
    # ARN of the awskms:// secrets provider's key (IAM can't name a key by alias); "" = no KMS secrets provider.
    state_kms_key: str = ""
    # When set, roles the deploy role creates must carry this permissions boundary (closes CreateRole+PassRole
    # escalation); the stack's roles must then set `permissions_boundary` to it.
    permissions_boundary_arn: str = ""
    # Regions regional writes may target; () = any region.
    regions: tuple[str, ...] = ()
    # Longest CI session; a GPU stack's first `up` can take a while.
    max_session_seconds: int = 3600
    # Extra tags on the provider, the roles and their policies.
    tags: Mapping[str, str] = field(default_factory=dict)


# --- policy documents (pure: the tests and parliament read exactly what the component sends) ----------


def _statement(sid: str, actions, resources, condition: dict | None = None, effect: str = "Allow") -> dict:
    stmt: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        stmt["Condition"] = condition
    return stmt


def _document(statements: list[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": statements}


def arn_parts(arn: str) -> tuple[str, str]:
    """(partition, account) of any ARN: the provider's ARN tells us both without an invoke."""
    parts = arn.split(":")
    return parts[1], parts[4]


def _names(args: GithubOidcRoleArgs, pattern: str, slash: bool = False) -> list[str]:
    """`pattern` filled with each managed prefix ({p}); prefixes with "/" only where names may hold one."""
    return [pattern.format(p=prefix) for prefix in args.managed_name_prefixes if slash or "/" not in prefix]


def subjects(args: GithubOidcRoleArgs, role: str) -> list[str]:
    """The `sub` claims a role trusts ("preview" or "deploy-<env>"). Without an environment GitHub sends
    `ref:<ref>`, in a job with one `environment:<name>`, and on pull requests `pull_request`
    (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims).
    A deploy role trusts its environment only: with a `ref:` subject too, any job on main could assume it
    without passing the environment's reviewers."""
    repo = f"repo:{args.repository}"
    if role == "preview":
        refs = [f"{repo}:ref:{ref}" for ref in args.allowed_refs]
        return refs + ([f"{repo}:pull_request"] if args.pull_request_previews else [])
    env = role.removeprefix("deploy-")
    return [f"{repo}:environment:{env}"]


def role_stacks(args: GithubOidcRoleArgs, env: str) -> tuple[str, ...]:
    """The stacks environment `env`'s deploy role manages: the one named `env`, then its extra_stacks."""
    return (env, *(stack for stack, environment in args.extra_stacks if environment == env))


def environment_prefixes(args: GithubOidcRoleArgs, env: str) -> tuple[str, ...]:
    """The managed name prefixes narrowed to the role's stacks: "ds-" → "ds-prod-", "deepseek/" →
    "deepseek/prod/" (and "ds-hybrid-", "deepseek/hybrid/" for an extra stack of that environment)."""
    return tuple(
        f"{p}{stack}/" if p.endswith("/") else f"{p}{stack}-"
        for p in args.managed_name_prefixes
        for stack in role_stacks(args, env)
    )


def trust_policy(provider_arn: str, allowed_subjects: list[str]) -> dict:
    return _document(
        [
            {
                "Sid": "GithubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                # Exact matches only: a wildcard here would let any branch, fork or repository in.
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": allowed_subjects,
                    }
                },
            }
        ]
    )


def _state_statements(args: GithubOidcRoleArgs, partition: str, account: str, env: str | None) -> list[dict]:
    """State access: the preview role (env None) reads the project's stacks; a deploy role reads and writes
    its own stack's files only. Pulumi's self-managed backend, project layout (pulumi/pulumi
    pkg/backend/diy/store.go projectReferenceStore): .pulumi/stacks/<project>/<stack>.json,
    .pulumi/history/<project>/<stack>/, .pulumi/backups/<project>/<stack>/, .pulumi/locks/…/<project>/<stack>/,
    and .pulumi/meta.yaml (the layout version). A preview takes no lock and writes no history
    (diyBackend.Preview → apply with DryRun)."""
    out = []
    if args.state_bucket:
        bucket = f"arn:{partition}:s3:::{args.state_bucket}"
        project = args.stack_project
        out.append(_statement("StateList", ["s3:ListBucket"], bucket))
        out.append(_statement("StateLayout", ["s3:GetObject"], f"{bucket}/.pulumi/meta.yaml"))
        if env is None:
            out.append(_statement("StateObjects", ["s3:GetObject"], f"{bucket}/.pulumi/stacks/{project}/*"))
        else:
            out.append(
                _statement(
                    "StateObjects",
                    ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                    [
                        path
                        for stack in role_stacks(args, env)
                        for path in (
                            f"{bucket}/.pulumi/stacks/{project}/{stack}.json*",
                            f"{bucket}/.pulumi/history/{project}/{stack}/*",
                            f"{bucket}/.pulumi/backups/{project}/{stack}/*",
                            f"{bucket}/.pulumi/locks/*{project}/{stack}/*",
                        )
                    ],
                )
            )
    if args.state_kms_key:
        # Preview only decrypts the stack's secrets; up also encrypts new ones.
        actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:Encrypt", "kms:GenerateDataKey"] if env else [])
        out.append(_statement("StateSecrets", actions, args.state_kms_key))
    return out


def _read_statements(args: GithubOidcRoleArgs, partition: str, account: str) -> list[dict]:
    iam = f"arn:{partition}:iam::{account}"
    return [
        _statement("ReadStackServices", READ_ACTIONS, "*"),
        _statement(
            "ReadProjectIam",
            IAM_READ_ACTIONS,
            _names(args, f"{iam}:role/{{p}}*")
            + _names(args, f"{iam}:instance-profile/{{p}}*")
            + _names(args, f"{iam}:policy/{{p}}*"),
        ),
        # aws.iam.get_session_context (stacks/eks.py deployer_arn) reads the caller's own role to learn its path
        # (terraform-provider-aws internal/service/iam/session_context_data_source.go): the CI roles' own only.
        _statement("ReadOwnRole", ["iam:GetRole"], f"{iam}:role{CI_ROLE_PATH}*"),
        # Public parameters only (e.g. the ECS GPU AMI id), never the account's own parameters.
        _statement(
            "ReadPublicParameters",
            ["ssm:GetParameter", "ssm:GetParameters"],
            f"arn:{partition}:ssm:*:*:parameter/aws/service/*",
        ),
    ]


def preview_policy(args: GithubOidcRoleArgs, partition: str, account: str) -> dict:
    return _document(_read_statements(args, partition, account) + _state_statements(args, partition, account, None))


# The deploy role's rights, split by theme into managed policies: together they exceed IAM's 10,240-character
# budget for a role's inline policies, and each theme stays under the 6,144 a managed policy may hold.
# Statements per managed policy (each at most MANAGED_POLICY_LIMIT): a stack in extra_stacks adds its names to
# most statements, so log groups, image repositories and web ACLs sit in the smaller parts (validate checks
# every part's size with the longest partition).
DEPLOY_POLICY_PARTS = {
    "read": (
        "ReadStackServices",
        "ReadProjectIam",
        "ReadPublicParameters",
        "ReadOwnRole",
        "StateList",
        "StateLayout",
        "StateObjects",
        "StateSecrets",
        "LogGroups",
    ),
    "network": (
        "Ec2Build",
        "Ec2TagOnCreate",
        "Ec2TagOwned",
        "Ec2DeleteOwnedOnly",
        "LoadBalancer",
        "ProjectBuckets",
        "ProjectBucketObjects",
    ),
    "serving": (
        "EcsServing",
        "GpuAutoScalingGroups",
        "ReplicaAutoscaling",
        "Alarms",
        "EventRules",
        "AlarmTopics",
        "ProjectSecrets",
        "WritesWithoutResourceScope",
        "DeployReads",
    ),
    "identity": (
        "KmsCreateTaggedKeys",
        "KmsTagOnCreate",
        "KmsOwnedKeys",
        "KmsProjectAliases",
        "IamProjectRolesWithBoundary",
        "IamProjectRoles",
        "IamProjectProfilesAndPolicies",
        "IamPassProjectRoles",
        "IamServiceLinkedRoles",
        "NoChangesToCiRoles",
        "ImageRepositories",
        "WebAcls",
    ),
    "eks": (
        "EksClusters",
        "EksCreateTagged",
        "AmpOwned",
        "Queues",
        "PlacementGroups",
        "KmsGrantsForAwsServices",
        # Not EKS, but the part with room under MANAGED_POLICY_LIMIT: the API-key rotation function, WAF logging.
        "RotationFunctions",
        "WafLogging",
        "WafLogDelivery",
    ),
}
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted


def deploy_policies(args: GithubOidcRoleArgs, partition: str, account: str, env: str) -> dict[str, dict]:
    """{part: policy document} for environment `env`'s deploy role, parts as in DEPLOY_POLICY_PARTS."""
    scoped = dataclasses.replace(args, managed_name_prefixes=environment_prefixes(args, env))
    statements = {s["Sid"]: s for s in _deploy_statements(scoped, partition, account, env)}
    return {
        part: _document([statements[sid] for sid in sids if sid in statements])
        for part, sids in DEPLOY_POLICY_PARTS.items()
    }


def _stems(args: GithubOidcRoleArgs) -> list[str]:
    """Names a stack gives without a suffix: "ds-<stack>" (the EKS cluster, the interruption queue)."""
    return [p[:-1] for p in args.managed_name_prefixes if "/" not in p and p.endswith("-")]


def _eks_statements(args: GithubOidcRoleArgs, p: str, acct: str, regional: dict, owned: dict, tagged: dict) -> list:
    """EKS platform (components/eks/): cluster, node groups, add-ons, access entries and Pod Identity associations
    of clusters named "ds-<stack>"; AMP workspace and scraper; Karpenter's interruption queue; placement groups;
    the grant EKS makes on the stack's key for secrets encryption. Kubernetes objects and Helm releases go
    through the cluster's API (the deployer's access entry), not IAM."""
    eks = f"arn:{p}:eks:*:{acct}"
    clusters = [f"{eks}:cluster/{stem}" for stem in _stems(args)] + [
        f"{eks}:{kind}/{stem}/*"
        for kind in ("nodegroup", "addon", "access-entry", "podidentityassociation")
        for stem in _stems(args)
    ]
    aps = [f"arn:{p}:aps:*:{acct}:{kind}/*" for kind in ("workspace", "scraper")]

    def also_region(condition: dict) -> dict:
        return {**condition, "StringEquals": {**condition["StringEquals"], **regional.get("StringEquals", {})}}

    return [
        _statement(
            "EksClusters",
            [
                f"eks:{a}"
                for a in (
                    "AssociateAccessPolicy",
                    "CreateAccessEntry",
                    "CreateAddon",
                    "CreateNodegroup",
                    "CreatePodIdentityAssociation",
                    "DeleteAccessEntry",
                    "DeleteAddon",
                    "DeleteCluster",
                    "DeleteNodegroup",
                    "DeletePodIdentityAssociation",
                    "DescribeAccessEntry",
                    "DescribeAddon",
                    "DescribeCluster",
                    "DescribeNodegroup",
                    "DescribePodIdentityAssociation",
                    "DescribeUpdate",
                    "DisassociateAccessPolicy",
                    "ListAssociatedAccessPolicies",
                    "ListTagsForResource",
                    "ListUpdates",
                    "TagResource",
                    "UntagResource",
                    "UpdateAccessEntry",
                    "UpdateAddon",
                    "UpdateClusterConfig",
                    "UpdateClusterVersion",
                    "UpdateNodegroupConfig",
                    "UpdateNodegroupVersion",
                    "UpdatePodIdentityAssociation",
                )
            ],
            clusters,
        ),
        # No resource-level permissions for CreateCluster/CreateWorkspace (Service Authorization Reference; the
        # scraper's is its source cluster and workspace, named by id): only with the owner tags, in the regions.
        _statement(
            "EksCreateTagged",
            ["eks:CreateCluster", "aps:CreateWorkspace", "aps:CreateScraper", "aps:TagResource"],
            "*",
            also_region(tagged),
        ),
        _statement(
            "AmpOwned",
            [
                "aps:DeleteScraper",
                "aps:DeleteWorkspace",
                "aps:DescribeLoggingConfiguration",
                "aps:DescribeScraper",
                "aps:DescribeWorkspace",
                "aps:ListTagsForResource",
                "aps:TagResource",
                "aps:UntagResource",
                "aps:UpdateScraper",
                "aps:UpdateWorkspaceAlias",
            ],
            aps,
            also_region(owned),
        ),
        _statement(
            "Queues",
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            [f"arn:{p}:sqs:*:{acct}:{stem}" for stem in _stems(args)] + _names(args, f"arn:{p}:sqs:*:{acct}:{{p}}*"),
        ),
        _statement(
            "PlacementGroups",
            ["ec2:CreatePlacementGroup", "ec2:DeletePlacementGroup"],
            _names(args, f"arn:{p}:ec2:*:{acct}:placement-group/{{p}}*"),
        ),
        # Secrets encryption: EKS creates a grant on the stack's key with the caller's rights
        # (https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html); only for AWS services, owned keys.
        _statement(
            "KmsGrantsForAwsServices",
            ["kms:CreateGrant"],
            f"arn:{p}:kms:*:{acct}:key/*",
            {**also_region(owned), "Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def _deploy_statements(args: GithubOidcRoleArgs, partition: str, account: str, env: str) -> list[dict]:
    p, acct = partition, account
    regional = {"StringEquals": {"aws:RequestedRegion": list(args.regions)}} if args.regions else {}
    tags = {args.owner_tag_key: args.owner_tag_value, args.environment_tag_key: env}
    owned = {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tags.items()}}
    tagged_on_create = {"StringEquals": {f"aws:RequestTag/{k}": v for k, v in tags.items()}}
    iam = f"arn:{p}:iam::{acct}"

    def scoped(condition: dict) -> dict:
        return {**condition, "StringEquals": {**condition.get("StringEquals", {}), **regional.get("StringEquals", {})}}

    iam_roles = [
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ]
    # With a boundary, every call that shapes a role's permissions must keep that boundary on it.
    boundary_bound = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"}
    iam_statements = []
    if args.permissions_boundary_arn:
        iam_statements.append(
            _statement(
                "IamProjectRolesWithBoundary",
                sorted(boundary_bound),
                _names(args, f"{iam}:role/{{p}}*"),
                {"ArnEquals": {"iam:PermissionsBoundary": args.permissions_boundary_arn}},
            )
        )
        iam_roles = [a for a in iam_roles if a not in boundary_bound]
    iam_statements += [
        _statement("IamProjectRoles", iam_roles, _names(args, f"{iam}:role/{{p}}*")),
        _statement(
            "IamProjectProfilesAndPolicies",
            [
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            _names(args, f"{iam}:instance-profile/{{p}}*") + _names(args, f"{iam}:policy/{{p}}*"),
        ),
        _statement(
            "IamPassProjectRoles",
            ["iam:PassRole"],
            _names(args, f"{iam}:role/{{p}}*"),
            {"StringEquals": {"iam:PassedToService": list(PASS_ROLE_TO)}},
        ),
        _statement(
            "IamServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            f"{iam}:role/aws-service-role/*",
            {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        ),
    ]

    statements = [
        *_read_statements(args, p, acct),
        *_state_statements(args, p, acct, env),
        # Building the network and GPU hosts. Creates can't be scoped by ARN (ids are random) and may touch an
        # adopted VPC, so only the region bounds them; RunInstances is what an ASG launch template is checked with.
        _statement(
            "Ec2Build",
            [
                "ec2:AllocateAddress",
                "ec2:AssociateRouteTable",
                "ec2:AttachInternetGateway",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateFlowLogs",
                "ec2:CreateInternetGateway",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateNatGateway",
                "ec2:CreateRoute",
                "ec2:CreateRouteTable",
                "ec2:CreateSecurityGroup",
                "ec2:CreateSubnet",
                "ec2:CreateVpc",
                "ec2:CreateVpcEndpoint",
                "ec2:DetachInternetGateway",
                "ec2:DisassociateAddress",
                "ec2:DisassociateRouteTable",
                "ec2:ModifyLaunchTemplate",
                "ec2:ModifySecurityGroupRules",
                "ec2:ModifySubnetAttribute",
                "ec2:ModifyVpcAttribute",
                "ec2:ModifyVpcEndpoint",
                "ec2:ReplaceRoute",
                "ec2:ReplaceRouteTableAssociation",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RunInstances",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ],
            "*",
            regional or None,
        ),
        # Tags: on create (ec2:CreateAction names the creating call), or on what this environment already owns —
        # so no role can re-tag another environment's resource into its own and then delete it.
        _statement(
            "Ec2TagOnCreate",
            ["ec2:CreateTags"],
            "*",
            scoped({"StringEquals": {"ec2:CreateAction": list(EC2_TAG_ON_CREATE)}}),
        ),
        _statement("Ec2TagOwned", ["ec2:CreateTags", "ec2:DeleteTags"], "*", scoped(owned)),
        # Deletes only what the project tagged: a bad diff can't remove another team's VPC in the same account.
        _statement(
            "Ec2DeleteOwnedOnly",
            [
                "ec2:DeleteFlowLogs",
                "ec2:DeleteInternetGateway",
                "ec2:DeleteLaunchTemplate",
                "ec2:DeleteLaunchTemplateVersions",
                "ec2:DeleteNatGateway",
                "ec2:DeleteRoute",
                "ec2:DeleteRouteTable",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteSubnet",
                "ec2:DeleteVpc",
                "ec2:DeleteVpcEndpoints",
                "ec2:ReleaseAddress",
            ],
            "*",
            scoped(owned),
        ),
        _statement(
            "EcsServing",
            [
                "ecs:CreateCluster",
                "ecs:CreateService",
                "ecs:DeleteCapacityProvider",
                "ecs:DeleteCluster",
                "ecs:DeleteService",
                "ecs:DeleteTaskDefinitions",
                "ecs:PutClusterCapacityProviders",
                "ecs:RegisterTaskDefinition",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateCapacityProvider",
                "ecs:UpdateCluster",
                "ecs:UpdateClusterSettings",
                "ecs:UpdateService",
            ],
            [
                arn
                for kind in ("cluster/{p}*", "service/{p}*", "capacity-provider/{p}*", "task-definition/{p}*:*")
                for arn in _names(args, f"arn:{p}:ecs:*:{acct}:{kind}")
            ],
        ),
        _statement(
            "GpuAutoScalingGroups",
            [
                "autoscaling:AttachTrafficSources",
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:DeleteLifecycleHook",
                "autoscaling:DeletePolicy",
                "autoscaling:DeleteScheduledAction",
                "autoscaling:DeleteTags",
                "autoscaling:DeleteWarmPool",
                "autoscaling:DetachTrafficSources",
                "autoscaling:DisableMetricsCollection",
                "autoscaling:EnableMetricsCollection",
                "autoscaling:PutLifecycleHook",
                "autoscaling:PutScalingPolicy",
                "autoscaling:PutScheduledUpdateGroupAction",
                "autoscaling:PutWarmPool",
                "autoscaling:ResumeProcesses",
                "autoscaling:SetInstanceProtection",
                "autoscaling:SuspendProcesses",
                "autoscaling:UpdateAutoScalingGroup",
            ],
            _names(args, f"arn:{p}:autoscaling:*:{acct}:autoScalingGroup:*:autoScalingGroupName/{{p}}*"),
        ),
        _statement(
            "ReplicaAutoscaling",
            [
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:DeleteScheduledAction",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
                "application-autoscaling:PutScheduledAction",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:TagResource",
                "application-autoscaling:UntagResource",
            ],
            f"arn:{p}:application-autoscaling:*:{acct}:scalable-target/*",
            regional or None,
        ),
        _statement(
            "LoadBalancer",
            [
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetRulePriorities",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            [
                arn
                for kind in (
                    "loadbalancer/app",
                    "loadbalancer/net",
                    "listener/app",
                    "listener/net",
                    "listener-rule/app",
                    "listener-rule/net",
                    "targetgroup",
                )
                for arn in _names(args, f"arn:{p}:elasticloadbalancing:*:{acct}:{kind}/{{p}}*")
            ],
        ),
        # The load balancer's access-log bucket: configuration, plus the reads the provider makes after
        # writing it.
        _statement(
            "ProjectBuckets",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetAccelerateConfiguration",
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketLogging",  # the model bucket logs to the access-log bucket
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            _names(args, f"arn:{p}:s3:::{{p}}*"),
        ),
        # Deletes: a bucket with force_destroy (dev/staging) goes with its stack. Get/Put: whoever writes a
        # bucket's policy controls its objects anyway, so the grant says so openly instead of hiding it.
        _statement(
            "ProjectBucketObjects",
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:PutObject"],
            _names(args, f"arn:{p}:s3:::{{p}}*/*"),
        ),
        # The stack's serving-image repository (deepseek/<env>/vllm): create and configure it, and push the
        # image pulumi-docker-build builds (the ECR push sequence: ECR user guide, "Pushing a Docker image";
        # the token comes from ecr:GetAuthorizationToken, granted without a resource scope below).
        _statement(
            "ImageRepositories",
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:CreateRepository",
                "ecr:DeleteLifecyclePolicy",
                "ecr:DeleteRepository",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetLifecyclePolicy",
                "ecr:InitiateLayerUpload",
                "ecr:ListTagsForResource",
                "ecr:PutImage",
                "ecr:PutImageScanningConfiguration",
                "ecr:PutLifecyclePolicy",
                "ecr:TagResource",
                "ecr:UntagResource",
                "ecr:UploadLayerPart",
            ],
            _names(args, f"arn:{p}:ecr:*:{acct}:repository/{{p}}*", slash=True),
        ),
        _statement(
            "LogGroups",
            [
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteMetricFilter",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:PutMetricFilter",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            # With or without a leading "/": "/deepseek/<stack>/vllm".
            _names(args, f"arn:{p}:logs:*:{acct}:log-group:{{p}}*", slash=True)
            + _names(args, f"arn:{p}:logs:*:{acct}:log-group:/{{p}}*", slash=True)
            # EKS control-plane logs go to /aws/eks/<cluster>/cluster, a name EKS fixes
            # (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html).
            + [f"arn:{p}:logs:*:{acct}:log-group:/aws/eks/{stem}/cluster:*" for stem in _stems(args)]
            # Container Insights writes a cluster's container logs to /aws/containerinsights/<cluster>/application
            # (CloudWatch user guide, "Send logs to CloudWatch Logs" for Container Insights on EKS); the tiered
            # EKS stack declares that group (retention, key) for the router's metric filters (stacks/eks_tiers.py).
            + [f"arn:{p}:logs:*:{acct}:log-group:/aws/containerinsights/{stem}/*" for stem in _stems(args)]
            # AWS WAF logs only to groups named aws-waf-logs-* (components/shared/web_acl.py).
            + _names(args, f"arn:{p}:logs:*:{acct}:log-group:aws-waf-logs-{{p}}*", slash=True),
        ),
        _statement(
            "Alarms",
            [
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DeleteDashboards",
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:EnableAlarmActions",
                "cloudwatch:GetDashboard",
                "cloudwatch:PutCompositeAlarm",
                "cloudwatch:PutDashboard",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            _names(args, f"arn:{p}:cloudwatch:*:{acct}:alarm:{{p}}*", slash=True)
            # Alarms Application Auto Scaling creates for a target-tracking policy, with the caller's
            # permissions: TargetTracking-service/<cluster>/<service>-AlarmHigh-… (Application Auto Scaling
            # user guide, target tracking: "permissions ... cloudwatch:PutMetricAlarm, DescribeAlarms, DeleteAlarms").
            + _names(args, f"arn:{p}:cloudwatch:*:{acct}:alarm:TargetTracking-service/{{p}}*")
            + _names(args, f"arn:{p}:cloudwatch::{acct}:dashboard/{{p}}*"),
        ),
        _statement(
            "EventRules",
            [
                "events:DeleteRule",
                "events:DisableRule",
                "events:EnableRule",
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:TagResource",
                "events:UntagResource",
            ],
            _names(args, f"arn:{p}:events:*:{acct}:rule/{{p}}*"),
        ),
        _statement(
            "AlarmTopics",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            _names(args, f"arn:{p}:sns:*:{acct}:{{p}}*"),
        ),
        # Secrets the stack creates (API key, HF token). GetSecretValue: the provider reads a version back
        # after writing it.
        _statement(
            "ProjectSecrets",
            [
                "secretsmanager:CancelRotateSecret",
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteResourcePolicy",
                "secretsmanager:DeleteSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutResourcePolicy",
                "secretsmanager:PutSecretValue",
                "secretsmanager:RestoreSecret",
                "secretsmanager:RotateSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ],
            _names(args, f"arn:{p}:secretsmanager:*:{acct}:secret:{{p}}*", slash=True),
        ),
        # The load balancer's WAF web ACL (components/shared/web_acl.py). CreateWebACL also names the AWS managed rule
        # groups the ACL references (Service Authorization Reference, AWS WAF V2: CreateWebACL resource types
        # webacl*, managedruleset); AssociateWebACL names the ALB too and needs elasticloadbalancing:SetWebAcl,
        # which has no resource-level permissions (parliament's copy of the reference: Resource "*").
        _statement(
            "WebAcls",
            [
                "wafv2:AssociateWebACL",
                "wafv2:CreateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:DisassociateWebACL",
                "wafv2:GetWebACL",
                "wafv2:GetWebACLForResource",
                "wafv2:ListTagsForResource",
                "wafv2:TagResource",
                "wafv2:UntagResource",
                "wafv2:UpdateWebACL",
            ],
            _names(args, f"arn:{p}:wafv2:*:{acct}:regional/webacl/{{p}}*/*")
            + [f"arn:{p}:wafv2:*:*:regional/managedruleset/*/*"]
            + [
                arn
                for kind in ("loadbalancer/app",)
                for arn in _names(args, f"arn:{p}:elasticloadbalancing:*:{acct}:{kind}/{{p}}*")
            ],
        ),
        # The API-key rotation function (components/ecs/api_key_rotation.py): its code, configuration, reserved
        # concurrency, tags and the one invoke permission for Secrets Manager. RotateSecret (ProjectSecrets) also
        # needs lambda:InvokeFunction on the function: Secrets Manager invokes it as the caller to start a rotation
        # (pike aws_secretsmanager_secret_rotation).
        _statement(
            "RotationFunctions",
            [
                "lambda:AddPermission",
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetPolicy",
                "lambda:InvokeFunction",
                "lambda:ListTags",
                "lambda:ListVersionsByFunction",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            _names(args, f"arn:{p}:lambda:*:{acct}:function:{{p}}*"),
        ),
        # The web ACL's logging configuration (WAF.11) on the stack's ACLs; enabling it to CloudWatch Logs makes
        # the caller create a log delivery and the log group's resource policy, APIs without resource-level
        # permissions (AWS WAF developer guide, "Sending protection pack (web ACL) traffic logs to an Amazon
        # CloudWatch Logs log group": logs:CreateLogDelivery, PutResourcePolicy, DescribeResourcePolicies,
        # DescribeLogGroups).
        _statement(
            "WafLogging",
            ["wafv2:DeleteLoggingConfiguration", "wafv2:GetLoggingConfiguration", "wafv2:PutLoggingConfiguration"],
            _names(args, f"arn:{p}:wafv2:*:{acct}:regional/webacl/{{p}}*/*"),
        ),
        _statement(
            "WafLogDelivery",
            [
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:PutResourcePolicy",
            ],
            "*",
            regional or None,
        ),
        # APIs with no resource-level permissions: bounded by region only.
        _statement(
            "WritesWithoutResourceScope",
            [
                "ecs:CreateCapacityProvider",
                "ecs:DeregisterTaskDefinition",
                "elasticloadbalancing:SetWebAcl",
                "sns:SetSubscriptionAttributes",
                "sns:Unsubscribe",
            ],
            "*",
            regional or None,
        ),
        # Reads the provider makes after writes that the preview role does not need.
        _statement("DeployReads", ["cloudwatch:GetMetricData"], "*", regional or None),
        # KMS keys: created only with the owner tags, managed/used only while they carry them.
        _statement("KmsCreateTaggedKeys", ["kms:CreateKey"], "*", scoped(tagged_on_create)),
        # CreateKey with Tags is also authorized as kms:TagResource on a key that has no tags yet, so
        # KmsOwnedKeys (aws:ResourceTag) can't allow it: tag-on-create is allowed only for the owner tags
        # (https://docs.aws.amazon.com/kms/latest/developerguide/tagging-permissions.html).
        # Null: only keys carrying neither tag yet, so no environment can re-tag another's key into its own.
        _statement(
            "KmsTagOnCreate",
            ["kms:TagResource"],
            f"arn:{p}:kms:*:{acct}:key/*",
            {**scoped(tagged_on_create), "Null": {f"aws:ResourceTag/{k}": "true" for k in tags}},
        ),
        _statement(
            "KmsOwnedKeys",
            [
                "kms:CancelKeyDeletion",
                "kms:Decrypt",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            f"arn:{p}:kms:*:{acct}:key/*",
            scoped(owned),
        ),
        _statement(
            "KmsProjectAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            [*_names(args, f"arn:{p}:kms:*:{acct}:alias/{{p}}*", slash=True), f"arn:{p}:kms:*:{acct}:key/*"],
            regional or None,
        ),
        *iam_statements,
        # Belt and braces: whatever the prefix, CI can't rewrite its own roles' trust or permissions.
        # NotAction iam:GetRole: a role may read itself (ReadOwnRole), nothing else.
        {
            "Sid": "NoChangesToCiRoles",
            "Effect": "Deny",
            "NotAction": ["iam:GetRole"],
            "Resource": [f"{iam}:role{CI_ROLE_PATH}*", f"{iam}:policy{CI_ROLE_PATH}*"],
        },
        *_eks_statements(args, p, acct, regional, owned, tagged_on_create),
    ]
    return statements


# --- validation ----------------------------------------------------------------------------------------


def validate(args: GithubOidcRoleArgs) -> None:
    """Check every field; raise one InputPropertiesError that lists every problem."""
    problems = ArgsProblems("GithubOidcRole")
    problems.check(
        isinstance(args.repository, str) and bool(_REPOSITORY.match(args.repository)),
        "repository",
        f"must be 'owner/name' as GitHub spells it (got {args.repository!r})",
    )
    problems.check(
        len(args.allowed_refs) > 0,
        "allowed_refs",
        "must name at least one ref such as 'refs/heads/main': deploys on merge assume the role from it",
    )
    for i, ref in enumerate(args.allowed_refs):
        problems.check(
            isinstance(ref, str) and bool(_REF.match(ref)),
            f"allowed_refs[{i}]",
            f"must be a full ref 'refs/heads/<branch>' or 'refs/tags/<tag>' without wildcards (got {ref!r})",
        )
    for i, env in enumerate(args.allowed_environments):
        problems.check(
            isinstance(env, str) and bool(_ENVIRONMENT.match(env)),
            f"allowed_environments[{i}]",
            f"must be a GitHub environment name of letters, digits, '_', '.', '-' (got {env!r})",
        )
    problems.check(
        not args.oidc_provider_arn or bool(_PROVIDER_ARN.match(args.oidc_provider_arn)),
        "oidc_provider_arn",
        f"must be empty (create the provider) or 'arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST}'"
        f" (got {args.oidc_provider_arn!r})",
    )
    problems.check(
        len(args.managed_name_prefixes) > 0,
        "managed_name_prefixes",
        "must name at least one prefix: the deploy role manages only resources named with one",
    )
    for i, prefix in enumerate(args.managed_name_prefixes):
        problems.check(
            isinstance(prefix, str) and bool(_NAME_PREFIX.match(prefix)),
            f"managed_name_prefixes[{i}]",
            f"must be 2-64 characters of letters, digits and +=,.@_-/, not starting with '/', no wildcard"
            f" (got {prefix!r})",
        )
    problems.check(
        bool(args.owner_tag_key) and not args.owner_tag_key.lower().startswith("aws:") and bool(args.owner_tag_value),
        "owner_tag_key",
        "owner_tag_key and owner_tag_value must both be set and the key can't start with 'aws:'",
    )
    problems.check(
        not args.state_bucket or bool(_BUCKET.match(args.state_bucket)),
        "state_bucket",
        f"must be empty (Pulumi Cloud) or an S3 bucket name, not a URL (got {args.state_bucket!r})",
    )
    problems.check(
        not args.state_kms_key or bool(_KMS_KEY_ARN.match(args.state_kms_key)),
        "state_kms_key",
        "must be empty or a KMS key ARN; for an alias, look the ARN up with"
        f" `aws kms describe-key --key-id alias/<name>` (got {args.state_kms_key!r})",
    )
    problems.check(
        not args.permissions_boundary_arn or bool(_BOUNDARY_ARN.match(args.permissions_boundary_arn)),
        "permissions_boundary_arn",
        f"must be empty or an IAM policy ARN (got {args.permissions_boundary_arn!r})",
    )
    for i, region in enumerate(args.regions):
        problems.check(
            isinstance(region, str) and bool(_REGION.match(region)),
            f"regions[{i}]",
            f"must be an AWS region such as 'us-east-1' (got {region!r})",
        )
    problems.check(
        isinstance(args.max_session_seconds, int) and 3600 <= args.max_session_seconds <= 43200,
        "max_session_seconds",
        f"must be between 3600 and 43200, IAM's bounds (got {args.max_session_seconds!r})",
    )
    for key, value in dict(args.tags).items():
        problems.check(
            isinstance(key, str) and 0 < len(key) <= 128 and not key.lower().startswith("aws:"),
            f"tags.{key}",
            "tag keys are 1-128 characters and can't start with 'aws:'",
        )
        problems.check(isinstance(value, str) and len(value) <= 256, f"tags.{key}", "tag values are at most 256 chars")
    extra = [stack for stack, _ in args.extra_stacks]
    for i, (stack, environment) in enumerate(args.extra_stacks):
        problems.check(
            bool(_ENVIRONMENT.match(stack)) and stack not in args.allowed_environments,
            f"extra_stacks[{i}]",
            f"must be a stack name that is not an environment's own stack (got {stack!r})",
        )
        problems.check(
            environment in args.allowed_environments,
            f"extra_stacks[{i}]",
            f"must name one of allowed_environments {list(args.allowed_environments)!r} (got {environment!r})",
        )
    problems.check(len(set(extra)) == len(extra), "extra_stacks", f"one environment deploys each stack (got {extra!r})")
    problems.check(
        len(set(args.allowed_environments)) == len(args.allowed_environments),
        "allowed_environments",
        f"each environment gets one deploy role: list each once (got {list(args.allowed_environments)!r})",
    )
    if not problems.errors:
        # IAM rejects a managed policy over its quota: each extra stack lengthens the role's policies.
        for env in args.allowed_environments:
            for part, doc in deploy_policies(args, "aws-us-gov", "123456789012", env).items():
                size = len("".join(json.dumps(doc).split()))
                problems.check(
                    size <= MANAGED_POLICY_LIMIT,
                    "extra_stacks",
                    f"environment {env}'s deploy policy {part} would be {size} characters, over IAM's"
                    f" {MANAGED_POLICY_LIMIT}: give it fewer extra stacks",
                )
        # Only meaningful once every subject is well formed: IAM rejects trust policies over its quota.
        longest_arn = f"arn:aws-us-gov:iam::123456789012:oidc-provider/{GITHUB_OIDC_HOST}"
        size = len(json.dumps(trust_policy(longest_arn, subjects(args, "preview")), separators=(",", ":")))
        problems.check(
            size <= TRUST_POLICY_LIMIT,
            "allowed_refs",
            f"the preview role's trust policy would be {size} characters, over IAM's {TRUST_POLICY_LIMIT}:"
            " trust fewer refs",
        )
    problems.raise_if_any()


# --- component -----------------------------------------------------------------------------------------


def alias_environment(args: GithubOidcRoleArgs) -> str:
    """The environment whose deploy role takes over the single deploy role of earlier versions (its URNs
    `<name>-deploy`, `<name>-deploy-<part>`, `<name>-deploy-<part>-attach`): prod when allowed, else the last."""
    envs = args.allowed_environments
    return "prod" if "prod" in envs else (envs[-1] if envs else "")


class GithubOidcRole(pulumi.ComponentResource):
    oidc_provider_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    preview_role_name: pulumi.Output[str]
    deploy_role_arns: dict[str, pulumi.Output[str]]  # by environment

    def __init__(self, name: str, args: GithubOidcRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:ci:GithubOidcRole", name, None, opts)
        validate(args)
        self._name, self._args = name, args
        self._tags = {**dict(args.tags), "managed-by": "pulumi", "purpose": f"github-actions:{args.repository}"}

        if args.oidc_provider_arn:
            # IAM allows one provider per URL per account: a second CI stack (or another project) adopts it.
            self.oidc_provider_arn = pulumi.Output.from_input(args.oidc_provider_arn)
        else:
            # No thumbprint: AWS verifies GitHub's certificate against its own trusted CAs.
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=GITHUB_OIDC_URL,
                client_id_lists=[STS_AUDIENCE],
                tags=self._tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.oidc_provider_arn = provider.arn

        preview = self._role("preview", f"Read-only pulumi preview from GitHub Actions ({args.repository})")
        # Inline: small, and it lives and dies with its role.
        aws.iam.RolePolicy(
            f"{name}-preview-read",
            role=preview.id,
            policy=self.oidc_provider_arn.apply(lambda arn: json.dumps(preview_policy(args, *arn_parts(arn)))),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.preview_role_arn, self.preview_role_name = preview.arn, preview.name
        self.deploy_role_arns = {env: self._deploy_role(env) for env in args.allowed_environments}
        self.register_outputs(
            {
                "oidcProviderArn": self.oidc_provider_arn,
                "previewRoleArn": self.preview_role_arn,
                "previewRoleName": self.preview_role_name,
                "deployRoleArns": pulumi.Output.all(**self.deploy_role_arns) if self.deploy_role_arns else {},
            }
        )

    def _opts(self, old_name: str | None) -> pulumi.ResourceOptions:
        # A resource that used to exist under another name keeps its state (and its physical name) via an alias.
        return pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old_name)] if old_name else None)

    def _role(self, kind: str, description: str, old_name: str | None = None) -> aws.iam.Role:
        args = self._args
        return aws.iam.Role(
            f"{self._name}-{kind}",
            path=CI_ROLE_PATH,
            description=description,
            assume_role_policy=self.oidc_provider_arn.apply(
                lambda arn: json.dumps(trust_policy(arn, subjects(args, kind)))
            ),
            max_session_duration=args.max_session_seconds,
            tags={**self._tags, "ci-role": kind},
            opts=self._opts(old_name),
        )

    def _deploy_role(self, env: str) -> pulumi.Output[str]:
        """Environment `env`'s deploy role and its managed policies; returns the role's ARN."""
        name, args = self._name, self._args
        was = alias_environment(args) == env  # the former single deploy role becomes this one
        role = self._role(
            f"deploy-{env}",
            f"pulumi up of stack {env} from GitHub Actions environment {env} ({args.repository})",
            old_name=f"{name}-deploy" if was else None,
        )
        documents = self.oidc_provider_arn.apply(lambda arn: deploy_policies(args, *arn_parts(arn), env))
        for part in DEPLOY_POLICY_PARTS:
            policy = aws.iam.Policy(
                f"{name}-deploy-{env}-{part}",
                path=CI_ROLE_PATH,  # out of the deploy roles' own reach (see NoChangesToCiRoles)
                description=f"GitHub Actions deploys of {args.repository}, stack {env}: {part}",
                policy=documents.apply(lambda docs, part=part: json.dumps(docs[part])),
                tags=self._tags,
                opts=self._opts(f"{name}-deploy-{part}" if was else None),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{env}-{part}-attach",
                role=role.id,
                policy_arn=policy.arn,
                opts=self._opts(f"{name}-deploy-{part}-attach" if was else None),
            )
        return role.arn
