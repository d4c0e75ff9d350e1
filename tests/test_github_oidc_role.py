"""GithubOidcRole under Pulumi's mock runtime: what the trust and permission policies actually say.

Every policy document the component registers is also run through parliament (AWS IAM linter).
"""

from __future__ import annotations

import fnmatch
import json
import warnings
from dataclasses import dataclass, field

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from components.ci.github_oidc_role import (
    CI_ROLE_PATH,
    DEPLOY_POLICY_PARTS,
    GITHUB_OIDC_HOST,
    MANAGED_POLICY_LIMIT,
    GithubOidcRole,
    GithubOidcRoleArgs,
    deploy_policies,
    environment_prefixes,
    validate,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns on import
    from parliament import analyze_policy_string, enhance_finding, expand_action, iam_definition

ACCOUNT = "123456789012"
REPO = "acme/deepseek-cloud"
PROVIDER_TYPE = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE_TYPE = "aws:iam/role:Role"
STATE_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SEVERITY = {"MUTE": 0, "INFO": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}


class Mocks(pulumi.runtime.Mocks):
    """Echo inputs back with an id and an ARN; any invoke is a failure (the component must not call AWS)."""

    def __init__(self):
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        arn = f"arn:aws:iam::{ACCOUNT}:role/{args.name}"
        if args.typ == PROVIDER_TYPE:
            # The provider's ARN has its own shape, and the trust policies are built from it.
            arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{args.inputs['url'].removeprefix('https://')}"
        return f"{args.name}-id", {**args.inputs, "arn": arn}

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise AssertionError(f"unexpected invoke {args.token}: the component must build policies without AWS")


class Monitor(MockMonitor):
    """Pulumi's MockMonitor, also keeping each resource's parent and each component's registered outputs."""

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.parents: dict[str, str] = {}
        self.outputs: dict[str, dict] = {}
        self.aliases: dict[str, list[str]] = {}  # resource name -> names of the aliases it declares

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.parents[response.urn] = request.parent
        # `aliases` holds Alias messages (a spec with a name, or a URN); `aliasURNs` the older URN form.
        names = [a.spec.name if a.HasField("spec") else a.urn.rsplit("::", 1)[-1] for a in request.aliases]
        names += [urn.rsplit("::", 1)[-1] for urn in request.aliasURNs]
        self.aliases[request.name] = names
        return response

    def RegisterResourceOutputs(self, request):
        self.outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class Declared:
    mocks: Mocks
    monitor: Monitor
    values: dict = field(default_factory=dict)

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.mocks.created if r.typ == typ]

    def one(self, typ: str, name: str) -> dict:
        (found,) = [r.inputs for r in self.mocks.created if r.typ == typ and r.name == name]
        return found

    def trust(self, kind: str) -> dict:
        return json.loads(self.one(ROLE_TYPE, f"ci-{kind}")["assumeRolePolicy"])

    def preview_policy(self) -> dict:
        return json.loads(self.one("aws:iam/rolePolicy:RolePolicy", "ci-preview-read")["policy"])

    def deploy_policies(self, env: str = "prod") -> dict[str, dict]:
        return {
            part: json.loads(self.one("aws:iam/policy:Policy", f"ci-deploy-{env}-{part}")["policy"])
            for part in DEPLOY_POLICY_PARTS
        }

    def documents(self) -> dict[str, dict]:
        """Every policy document registered, by resource name."""
        docs = {}
        for r in self.mocks.created:
            for key in ("assumeRolePolicy", "policy"):
                if key in r.inputs:
                    docs[f"{r.name}.{key}"] = json.loads(r.inputs[key])
        return docs


def declare(args: GithubOidcRoleArgs, name: str = "ci") -> Declared:
    """Fresh mocks, then the component inside a @pulumi.runtime.test function; returns what was registered."""
    mocks = Mocks()
    monitor = Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, monitor=monitor, preview=False)
    declared = Declared(mocks, monitor)

    @pulumi.runtime.test
    def run():
        component = GithubOidcRole(name, args)
        return pulumi.Output.all(
            provider=component.oidc_provider_arn,
            preview=component.preview_role_arn,
            deploy=pulumi.Output.all(**component.deploy_role_arns),
        ).apply(declared.values.update)

    run()
    return declared


def statements(doc: dict) -> list[dict]:
    return doc["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def access_level(action: str) -> str:
    service, name = action.split(":")
    for svc in iam_definition:
        if svc["prefix"] == service:
            for privilege in svc["privileges"]:
                if privilege["privilege"] == name:
                    return privilege["access_level"]
    raise AssertionError(f"{action} is not a known IAM action")


# --- trust ---------------------------------------------------------------------------------------------


def test_trust_policies_pin_audience_repository_and_subjects():
    d = declare(GithubOidcRoleArgs(repository=REPO))
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
    assert d.values["provider"] == provider_arn

    # Each deploy role trusts exactly its environment: no ref (any job on main could claim it), no other env.
    expected = {
        "preview": [f"repo:{REPO}:ref:refs/heads/main", f"repo:{REPO}:pull_request"],
        "deploy-dev": [f"repo:{REPO}:environment:dev"],
        "deploy-staging": [f"repo:{REPO}:environment:staging"],
        "deploy-prod": [f"repo:{REPO}:environment:prod"],
    }
    for kind, subjects in expected.items():
        (stmt,) = statements(d.trust(kind))
        assert stmt["Effect"] == "Allow"
        assert stmt["Principal"] == {"Federated": provider_arn}
        assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
        # Exact matching only: no StringLike, so no wildcard can widen who gets in.
        assert set(stmt["Condition"]) == {"StringEquals"}
        condition = stmt["Condition"]["StringEquals"]
        assert condition[f"{GITHUB_OIDC_HOST}:aud"] == "sts.amazonaws.com"
        assert condition[f"{GITHUB_OIDC_HOST}:sub"] == subjects
        assert all("*" not in s and "?" not in s for s in condition[f"{GITHUB_OIDC_HOST}:sub"])
    # A pull request (any same-repo branch) or a workflow on main can never reach a deploy role.
    for env in ("dev", "staging", "prod"):
        assert ":pull_request" not in json.dumps(d.trust(f"deploy-{env}"))
        assert ":ref:" not in json.dumps(d.trust(f"deploy-{env}"))
    assert sorted(r.name for r in d.of_type(ROLE_TYPE)) == [
        "ci-deploy-dev",
        "ci-deploy-prod",
        "ci-deploy-staging",
        "ci-preview",
    ]


def test_pull_request_previews_can_be_turned_off():
    d = declare(GithubOidcRoleArgs(repository=REPO, pull_request_previews=False, allowed_environments=("prod",)))
    (preview,) = statements(d.trust("preview"))
    assert preview["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] == [f"repo:{REPO}:ref:refs/heads/main"]
    (deploy,) = statements(d.trust("deploy-prod"))
    assert deploy["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] == [f"repo:{REPO}:environment:prod"]
    # A set: the SDK sends RegisterResource from a thread pool, so arrival order is not declaration order.
    assert {r.name for r in d.of_type(ROLE_TYPE)} == {"ci-preview", "ci-deploy-prod"}


def test_creates_the_github_provider_with_the_sts_audience():
    d = declare(GithubOidcRoleArgs(repository=REPO))
    (provider,) = d.of_type(PROVIDER_TYPE)
    assert provider.name == "ci-github"
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_adopts_an_existing_provider_instead_of_creating_one():
    existing = f"arn:aws:iam::210987654321:oidc-provider/{GITHUB_OIDC_HOST}"
    d = declare(GithubOidcRoleArgs(repository=REPO, oidc_provider_arn=existing))
    assert d.of_type(PROVIDER_TYPE) == []
    assert d.values["provider"] == existing
    for kind in ("preview", "deploy-dev", "deploy-prod"):
        assert statements(d.trust(kind))[0]["Principal"] == {"Federated": existing}
    # Policies are scoped to the adopted provider's account, read from its ARN (no invoke).
    assert ":210987654321:" in json.dumps(d.deploy_policies()["serving"])


# --- permissions ---------------------------------------------------------------------------------------


def test_preview_role_has_no_write_actions():
    d = declare(GithubOidcRoleArgs(repository=REPO, state_bucket="acme-pulumi-state", state_kms_key=STATE_KEY))
    not_read = {}
    for stmt in statements(d.preview_policy()):
        assert stmt["Effect"] == "Allow"
        for pattern in as_list(stmt["Action"]):
            for expanded in expand_action(pattern):
                action = f"{expanded['service']}:{expanded['action']}"
                if access_level(action) not in ("Read", "List"):
                    not_read[action] = as_list(stmt["Resource"])
    # The one exception: decrypting the stack's secrets, and only with the state key.
    assert not_read == {"kms:Decrypt": [STATE_KEY]}
    state = {s["Sid"]: s for s in statements(d.preview_policy())}
    # Only the main project's stack files and the layout marker: not history, backups, locks, nor the ci
    # project's own state.
    assert state["StateObjects"]["Action"] == ["s3:GetObject"]
    assert state["StateObjects"]["Resource"] == "arn:aws:s3:::acme-pulumi-state/.pulumi/stacks/deepseek-cloud/*"
    assert state["StateLayout"]["Resource"] == "arn:aws:s3:::acme-pulumi-state/.pulumi/meta.yaml"
    assert "secretsmanager:GetSecretValue" not in json.dumps(d.preview_policy())


def test_no_policy_allows_everything():
    d = declare(GithubOidcRoleArgs(repository=REPO, state_bucket="acme-pulumi-state", state_kms_key=STATE_KEY))
    for name, doc in d.documents().items():
        for stmt in statements(doc):
            if stmt["Effect"] != "Allow":
                continue
            actions = as_list(stmt["Action"])
            assert not any(a in ("*", "*:*") or a.endswith(":*") for a in actions), (name, stmt["Sid"])
            if "Resource" in stmt:
                assert not ({"*", "*:*"} & set(actions) and "*" in as_list(stmt["Resource"])), (name, stmt["Sid"])


def test_deploy_writes_are_scoped_to_the_project():
    args = GithubOidcRoleArgs(
        repository=REPO,
        state_bucket="acme-pulumi-state",
        state_kms_key=STATE_KEY,
        regions=("us-east-1",),
        permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/ds-boundary",
    )
    d = declare(args)
    policies = d.deploy_policies()
    by_sid = {s["Sid"]: s for doc in policies.values() for s in statements(doc)}
    iam = f"arn:aws:iam::{ACCOUNT}"

    # IAM: only roles/profiles/policies named with the prefix, roles only with the boundary, PassRole only to
    # ECS tasks and EC2, and never the CI roles themselves.
    assert by_sid["IamProjectRoles"]["Resource"] == [f"{iam}:role/ds-prod-*"]
    assert by_sid["IamProjectRolesWithBoundary"]["Condition"] == {
        "ArnEquals": {"iam:PermissionsBoundary": f"{iam}:policy/ds-boundary"}
    }
    assert "iam:CreateRole" in by_sid["IamProjectRolesWithBoundary"]["Action"]
    assert "iam:CreateRole" not in by_sid["IamProjectRoles"]["Action"]
    assert "iam:DeleteRolePermissionsBoundary" not in json.dumps(policies)
    assert by_sid["IamPassProjectRoles"]["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "ecs-tasks.amazonaws.com",
        "ec2.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
        "eks.amazonaws.com",  # the EKS cluster role
        "pods.eks.amazonaws.com",  # EKS Pod Identity
        "lambda.amazonaws.com",  # the API-key rotation function
    ]
    deny = by_sid["NoChangesToCiRoles"]
    assert deny["Effect"] == "Deny"
    assert deny["NotAction"] == ["iam:GetRole"] and "Action" not in deny  # a CI role may only read itself
    assert by_sid["ReadOwnRole"]["Resource"] == f"{iam}:role{CI_ROLE_PATH}*"
    # EKS: clusters named "ds-prod" (no suffix) and what hangs under them; queues likewise.
    eks = f"arn:aws:eks:*:{ACCOUNT}"
    assert by_sid["EksClusters"]["Resource"] == [
        f"{eks}:cluster/ds-prod",
        f"{eks}:nodegroup/ds-prod/*",
        f"{eks}:addon/ds-prod/*",
        f"{eks}:access-entry/ds-prod/*",
        f"{eks}:podidentityassociation/ds-prod/*",
    ]
    assert by_sid["Queues"]["Resource"] == [f"arn:aws:sqs:*:{ACCOUNT}:ds-prod", f"arn:aws:sqs:*:{ACCOUNT}:ds-prod-*"]
    assert by_sid["KmsGrantsForAwsServices"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert deny["Resource"] == [f"{iam}:role{CI_ROLE_PATH}*", f"{iam}:policy{CI_ROLE_PATH}*"]

    # EC2 deletes and KMS key management need the owner tag; regional writes stay in the allowed regions.
    assert by_sid["Ec2DeleteOwnedOnly"]["Condition"]["StringEquals"] == {
        "aws:ResourceTag/project": "deepseek-cloud",
        "aws:ResourceTag/environment": "prod",
        "aws:RequestedRegion": ["us-east-1"],
    }
    assert by_sid["Ec2TagOwned"]["Condition"] == by_sid["Ec2DeleteOwnedOnly"]["Condition"]
    assert by_sid["KmsCreateTaggedKeys"]["Condition"]["StringEquals"]["aws:RequestTag/project"] == "deepseek-cloud"
    assert by_sid["KmsCreateTaggedKeys"]["Condition"]["StringEquals"]["aws:RequestTag/environment"] == "prod"
    # Tag-on-create only for keys carrying neither tag yet: no environment can adopt another's key.
    assert by_sid["KmsTagOnCreate"]["Condition"]["Null"] == {
        "aws:ResourceTag/project": "true",
        "aws:ResourceTag/environment": "true",
    }
    assert by_sid["Ec2Build"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}
    assert all(a.startswith("ec2:Delete") or a == "ec2:ReleaseAddress" for a in by_sid["Ec2DeleteOwnedOnly"]["Action"])
    assert not any(a.startswith("ec2:Delete") and a != "ec2:DeleteTags" for a in by_sid["Ec2Build"]["Action"])

    # Named resources: every ARN carries the account and the prefix.
    for sid in ("EcsServing", "GpuAutoScalingGroups", "LoadBalancer", "LogGroups", "Alarms", "AlarmTopics"):
        for arn in as_list(by_sid[sid]["Resource"]):
            assert f":{ACCOUNT}:" in arn and ("ds-" in arn or "deepseek/" in arn), (sid, arn)

    # State: read/write of its own stack's files only, and the one state key.
    assert by_sid["StateObjects"]["Resource"] == [
        "arn:aws:s3:::acme-pulumi-state/.pulumi/stacks/deepseek-cloud/prod.json*",
        "arn:aws:s3:::acme-pulumi-state/.pulumi/history/deepseek-cloud/prod/*",
        "arn:aws:s3:::acme-pulumi-state/.pulumi/backups/deepseek-cloud/prod/*",
        "arn:aws:s3:::acme-pulumi-state/.pulumi/locks/*deepseek-cloud/prod/*",
    ]
    assert by_sid["StateSecrets"]["Resource"] == STATE_KEY
    # Public SSM parameters only (the GPU AMI), never the account's own.
    assert by_sid["ReadPublicParameters"]["Resource"] == "arn:aws:ssm:*:*:parameter/aws/service/*"

    # A prefix with "/" only where names may hold one.
    assert not any("deepseek/" in arn for arn in by_sid["EcsServing"]["Resource"])
    assert f"arn:aws:logs:*:{ACCOUNT}:log-group:/deepseek/prod/*" in by_sid["LogGroups"]["Resource"]

    # Each managed policy fits IAM's size limit (whitespace isn't counted).
    for part, doc in policies.items():
        assert len("".join(json.dumps(doc).split())) < MANAGED_POLICY_LIMIT, part


def test_the_former_deploy_role_becomes_the_prod_role_through_aliases():
    """Moving a resource changes its URN: the single deploy role (and its policies and attachments) of earlier
    versions keep their state as prod's, so `pulumi up` of the ci stack updates them instead of replacing."""
    d = declare(GithubOidcRoleArgs(repository=REPO))
    expected = {"ci-deploy-prod": ["ci-deploy"]}
    for part in DEPLOY_POLICY_PARTS:
        expected[f"ci-deploy-prod-{part}"] = [f"ci-deploy-{part}"]
        expected[f"ci-deploy-prod-{part}-attach"] = [f"ci-deploy-{part}-attach"]
    aliased = {name: names for name, names in d.monitor.aliases.items() if names}
    assert aliased == expected
    # Without prod, the last environment takes them over.
    d = declare(GithubOidcRoleArgs(repository=REPO, allowed_environments=("dev", "staging")))
    assert d.monitor.aliases["ci-deploy-staging"] == ["ci-deploy"]
    assert d.monitor.aliases["ci-deploy-dev"] == []


def test_deploy_policies_are_attached_to_the_deploy_role_only():
    d = declare(GithubOidcRoleArgs(repository=REPO))
    attachments = d.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    envs = ("dev", "staging", "prod")
    assert sorted(a.name for a in attachments) == sorted(
        f"ci-deploy-{env}-{p}-attach" for env in envs for p in DEPLOY_POLICY_PARTS
    )
    # A role's id is its name: attach by id, known once the role exists; each role gets its own parts.
    for a in attachments:
        env = a.name.split("-")[2]
        assert a.inputs["role"] == f"ci-deploy-{env}-id"
    assert all(a.inputs["policyArn"].endswith(a.name.removesuffix("-attach")) for a in attachments)
    (inline,) = d.of_type("aws:iam/rolePolicy:RolePolicy")
    assert inline.inputs["role"] == "ci-preview-id"
    for role in d.of_type(ROLE_TYPE):
        assert role.inputs["path"] == CI_ROLE_PATH
        assert role.inputs["maxSessionDuration"] == 3600


# Names the stacks give their resources (see `make plan`), as the ARNs IAM will check.
STACK_RESOURCES = {
    "EcsServing": [
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ds-prod-vllm-cluster-3f2a1b9",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/ds-prod-vllm-cluster-3f2a1b9/ds-prod-vllm-svc-9c8d7e6",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/ds-prod-vllm-task-1a2b3c4:7",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:capacity-provider/ds-prod-vllm-pool-cp-5d6e7f8",
    ],
    "GpuAutoScalingGroups": [
        f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:0b1c-2d3e:autoScalingGroupName/ds-prod-vllm-pool-asg-1"
    ],
    "LoadBalancer": [
        f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/ds-prod-vllm-alb-1a2b3c4/50dc6c495c0c9188",
        f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/ds-prod-vllm-tg-1a2b3c4/73e2d6bc24d8a067",
        f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/ds-prod-vllm-alb-1a2b3c4/50dc6c495c0c9188/f2f7dc8efc522ab2",
    ],
    "ProjectBuckets": ["arn:aws:s3:::ds-prod-vllm-alb-logs-20260101"],
    "LogGroups": [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/deepseek/prod/vllm"],
    "ProjectSecrets": [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:deepseek/prod/vllm-api-key-AbCdEf"],
    "Alarms": [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ds-prod-alarms-5xx-rate-1a2b3c4"],
    "EventRules": [f"arn:aws:events:us-east-1:{ACCOUNT}:rule/ds-prod-alarms-spot-interruption-1a2b3c4"],
    "AlarmTopics": [f"arn:aws:sns:us-east-1:{ACCOUNT}:ds-prod-alarms-topic-1a2b3c4"],
    "KmsProjectAliases": [f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/ds-prod-key"],
    "IamProjectRoles": [f"arn:aws:iam::{ACCOUNT}:role/ds-prod-vllm-task-1a2b3c4"],
    "IamProjectProfilesAndPolicies": [f"arn:aws:iam::{ACCOUNT}:instance-profile/ds-prod-vllm-pool-instance-1a2b3c4"],
}


def test_the_stacks_resource_names_fall_inside_the_deploy_scope():
    d = declare(GithubOidcRoleArgs(repository=REPO))
    by_sid = {s["Sid"]: s for doc in d.deploy_policies().values() for s in statements(doc)}
    for sid, arns in STACK_RESOURCES.items():
        patterns = as_list(by_sid[sid]["Resource"])
        for arn in arns:
            # IAM's wildcard: * matches any run of characters, "/" included.
            assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns), (sid, arn, patterns)
    # ...and the CI roles' own path falls outside every Allow but ReadOwnRole (iam:GetRole alone: the EKS
    # stacks' get_session_context reads the caller's role).
    ci_role = f"arn:aws:iam::{ACCOUNT}:role/github-ci/ci-deploy-1a2b3c4"
    assert by_sid["ReadOwnRole"]["Action"] == ["iam:GetRole"]
    for stmt in by_sid.values():
        if stmt["Effect"] == "Allow" and stmt["Resource"] != "*" and stmt["Sid"] != "ReadOwnRole":
            assert not any(fnmatch.fnmatchcase(ci_role, p) for p in as_list(stmt["Resource"])), stmt["Sid"]


@pytest.mark.parametrize(
    "args",
    [
        GithubOidcRoleArgs(repository=REPO),
        GithubOidcRoleArgs(
            repository=REPO,
            state_bucket="acme-pulumi-state",
            state_kms_key=STATE_KEY,
            regions=("us-east-1", "eu-west-1"),
            permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/ds-boundary",
        ),
    ],
    ids=["pulumi-cloud", "s3-backend"],
)
def test_parliament_finds_nothing_above_low(args):
    d = declare(args)
    documents = d.documents()
    # four trust policies (preview + 3 deploy), the preview policy, 3 × the deploy parts
    assert len(documents) == 4 + 1 + 3 * len(DEPLOY_POLICY_PARTS)
    for name, doc in documents.items():
        findings = [enhance_finding(f) for f in analyze_policy_string(json.dumps(doc)).findings]
        if name.endswith("assumeRolePolicy"):
            # parliament lints identity policies: a trust policy has no Resource, and it knows SAML but not
            # OIDC federation. Exactly those two are expected; anything else still fails.
            provider = d.values["provider"]
            findings = [
                f
                for f in findings
                if not (f.issue == "MALFORMED" and "neither Resource nor NotResource" in str(f.detail))
                and not (f.issue == "UNKNOWN_FEDERATION_SOURCE" and f.detail == provider)
            ]
        above_low = [(f.issue, f.severity, f.detail) for f in findings if SEVERITY[f.severity] > SEVERITY["LOW"]]
        assert above_low == [], name


# --- the component itself --------------------------------------------------------------------------------


def test_children_are_parented_named_after_the_component_and_outputs_registered():
    d = declare(GithubOidcRoleArgs(repository=REPO), name="acme-ci")
    component_urns = [u for u in d.monitor.parents if u.endswith("deepseek:ci:GithubOidcRole::acme-ci")]
    assert len(component_urns) == 1
    component = component_urns[0]
    children = {u: p for u, p in d.monitor.parents.items() if u != component and "Stack" not in u.split("::")[2]}
    assert children and all(parent == component for parent in children.values())
    assert all(u.rsplit("::", 1)[1].startswith("acme-ci-") for u in children)
    outputs = d.monitor.outputs[component]
    assert outputs["oidcProviderArn"] == d.values["provider"]
    assert outputs["previewRoleArn"] == d.values["preview"] == f"arn:aws:iam::{ACCOUNT}:role/acme-ci-preview"
    assert outputs["deployRoleArns"] == d.values["deploy"]
    assert d.values["deploy"] == {
        env: f"arn:aws:iam::{ACCOUNT}:role/acme-ci-deploy-{env}" for env in ("dev", "staging", "prod")
    }


def test_build_ci_identity_declares_the_component():
    from stacks.ci import build_ci_identity

    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, monitor=Monitor(mocks), preview=False)
    seen = {}

    @pulumi.runtime.test
    def run():
        outputs = build_ci_identity(REPO, state_bucket="acme-pulumi-state")
        assert set(outputs) == {"oidcProviderArn", "previewRoleArn", "deployRoleArns"}
        return pulumi.Output.all(**outputs).apply(seen.update)

    run()
    assert seen["deployRoleArns"]["prod"] == f"arn:aws:iam::{ACCOUNT}:role/deepseek-ci-deploy-prod"
    assert any(r.typ == "deepseek:ci:GithubOidcRole" and r.name == "deepseek-ci" for r in mocks.created)


# --- validation -------------------------------------------------------------------------------------------


def test_bad_args_raise_one_error_listing_every_problem():
    bad = GithubOidcRoleArgs(
        repository="deepseek-cloud",  # no owner
        allowed_refs=(),
        allowed_environments=("prod", "pr*"),
        oidc_provider_arn="arn:aws:iam::123:oidc-provider/example.com",
        state_bucket="s3://acme-pulumi-state",
        regions=("mars-1",),
        max_session_seconds=60,
    )
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        validate(bad)
    paths = [e["property_path"] for e in raised.value.errors]
    assert paths == [
        "repository",
        "allowed_refs",
        "allowed_environments[1]",
        "oidc_provider_arn",
        "state_bucket",
        "regions[0]",
        "max_session_seconds",
    ]
    assert all(e["reason"] for e in raised.value.errors)
    assert "owner/name" in raised.value.errors[0]["reason"]


def test_an_extra_stack_joins_its_environments_role_only():
    args = GithubOidcRoleArgs(repository=REPO, extra_stacks=(("hybrid", "staging"),), state_bucket="acme-state")
    assert environment_prefixes(args, "staging") == (
        "ds-staging-",
        "ds-hybrid-",
        "deepseek/staging/",
        "deepseek/hybrid/",
    )
    assert environment_prefixes(args, "dev") == ("ds-dev-", "deepseek/dev/")
    staging = json.dumps(deploy_policies(args, "aws", ACCOUNT, "staging"))
    assert "acme-state/.pulumi/stacks/deepseek-cloud/hybrid.json*" in staging and "role/ds-hybrid-*" in staging
    assert "hybrid" not in json.dumps(deploy_policies(args, "aws", ACCOUNT, "dev"))
    assert all(
        len(json.dumps(doc, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT
        for doc in deploy_policies(args, "aws", ACCOUNT, "staging").values()
    )


def test_bad_extra_stacks_are_refused():
    bad = GithubOidcRoleArgs(
        repository=REPO, extra_stacks=(("prod", "staging"), ("hybrid", "qa"), ("x", "dev"), ("x", "prod"))
    )
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        validate(bad)
    assert [e["property_path"] for e in raised.value.errors] == ["extra_stacks[0]", "extra_stacks[1]", "extra_stacks"]
    # Three stacks more for staging: its policies would pass IAM's managed policy size quota.
    crowded = GithubOidcRoleArgs(repository=REPO, extra_stacks=tuple((f"tier{i}", "staging") for i in range(3)))
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        validate(crowded)
    reasons = [e["reason"] for e in raised.value.errors]
    assert reasons and all(r.startswith("environment staging's deploy policy") for r in reasons), reasons


def test_wildcard_ref_is_refused():
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        validate(GithubOidcRoleArgs(repository=REPO, allowed_refs=("refs/heads/*",)))
    assert [e["property_path"] for e in raised.value.errors] == ["allowed_refs[0]"]


def test_bad_args_stop_the_component_before_any_resource():
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, monitor=Monitor(mocks), preview=False)

    @pulumi.runtime.test
    def run():
        GithubOidcRole("ci", GithubOidcRoleArgs(repository="no-slash", allowed_refs=()))

    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run()
    assert [e["property_path"] for e in raised.value.errors] == ["repository", "allowed_refs"]
    assert [r for r in mocks.created if r.custom] == []


def test_defaults_are_valid_and_documented_in_the_dataclass():
    validate(GithubOidcRoleArgs(repository=REPO))
    defaults = GithubOidcRoleArgs(repository=REPO)
    assert defaults.allowed_refs == ("refs/heads/main",)
    assert defaults.allowed_environments == ("dev", "staging", "prod")
    assert defaults.oidc_provider_arn == ""  # create the provider
