"""The CI deploy roles can actually deploy the shipped stacks, and only their own.

The deploy policies are read from the real ci program (ci/__main__.py) run under mocks with the shipped
ci/Pulumi.example.yaml; what each stack needs comes from pike's mapping of its resource types
(offline/iam_needs.py, tests/data/pike/). The evaluator is offline/iam_eval.py (its approximations are stated
there).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml

from offline.harness import platform_stacks, run_program, shared_run, stack_config, stack_names
from offline.iam_eval import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Request, decide
from offline.iam_needs import (
    PIKE_DIR,
    StackIndex,
    corrections,
    listed_actions,
    missing,
    needs,
    pike_files,
    terraform_type,
    without_action,
)
from stacks.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CI_EXAMPLE = ROOT / "ci" / "Pulumi.example.yaml"
# Every shipped stack, ECS and EKS: each deployed by its environment's role (eks-dev, eks-r1: dev, through
# ci/Pulumi.example.yaml extraStacks). Of an EKS stack, the AWS resources are checked here; its Kubernetes
# objects, Helm releases and kubernetes provider go through the cluster's API, not IAM (offline/iam_needs.py
# CLUSTER_API).
SHIPPED = platform_stacks("ecs") + platform_stacks("eks")
BOUNDARY_KEY = "deepseek-cloud:iam.permissionsBoundaryArn"
ROLE = "aws:iam/role:Role"


def example_config() -> dict:
    config = yaml.safe_load(CI_EXAMPLE.read_text())["config"]
    return {k: json.dumps(v) if isinstance(v, list) else v for k, v in config.items()}


@pytest.fixture(scope="module")
def ci_run():
    return run_program(
        "example", config=example_config(), main=ROOT / "ci" / "__main__.py", project="deepseek-cloud-ci"
    )


def deploy_policies(run, env: str) -> list[dict]:
    prefix = f"deepseek-ci-deploy-{env}-"
    docs = [json.loads(r.inputs["policy"]) for r in run.of_type("aws:iam/policy:Policy") if r.name.startswith(prefix)]
    assert len(docs) == 5, f"expected the 5 deploy policy parts of {env}, found {len(docs)}"
    return docs


def account_of(run) -> str:
    return run.outputs["oidcProviderArn"].split(":")[4]


@functools.cache  # several tests read the same stack's needs
def stack_needs(stack: str, account: str, boundary: str | None) -> tuple:
    run = shared_run(stack, {BOUNDARY_KEY: boundary} if boundary else None)
    return tuple(needs(StackIndex(run.registrations, run.region, account)))


# --- the shipped stacks are covered -------------------------------------------------------------------


def environment_of(stack: str) -> str:
    """The deploy role a stack's job assumes: its environment (GitHub environment = deepseek-cloud:environment)."""
    return stack_config(stack)["deepseek-cloud:environment"]


def test_the_shipped_stacks_and_the_roles_that_deploy_them():
    assert {s: environment_of(s) for s in SHIPPED} == {
        "dev": "dev",
        "eks-dev": "dev",  # ci/Pulumi.example.yaml extraStacks eks-dev:dev, eks-r1:dev
        "eks-r1": "dev",
        "hybrid": "staging",  # not named like its environment: ci/Pulumi.example.yaml extraStacks hybrid:staging
        "hybrid-eks": "staging",  # extraStacks hybrid-eks:staging: the staging role deploys an EKS stack too
        "prod": "prod",
        "staging": "staging",
    }
    assert example_config()["deepseek-cloud-ci:extraStacks"] == json.dumps(
        ["hybrid:staging", "hybrid-eks:staging", "eks-dev:dev", "eks-r1:dev"]
    )


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_stacks_deploy_role_allows_everything_pike_says_it_needs(ci_run, stack):
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]
    wanted = stack_needs(stack, account_of(ci_run), boundary)
    assert len(wanted) > 500  # every resource's create/read/update/delete/tag calls, not a handful
    assert missing(deploy_policies(ci_run, environment_of(stack)), wanted) == []


def test_a_stack_named_otherwise_is_deployable_only_by_its_environments_role_and_only_when_listed(ci_run):
    """hybrid (environment staging): the staging role without extraStacks, and the dev role, are refused
    what hybrid declares under its own names (ds-hybrid-…, deepseek/hybrid/…) and its state files."""
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]
    wanted = stack_needs("hybrid", account_of(ci_run), boundary)
    unlisted = {**example_config(), "deepseek-cloud-ci:extraStacks": "[]"}
    bare = run_program("example", config=unlisted, main=ROOT / "ci" / "__main__.py", project="deepseek-cloud-ci")
    refused = {line.split(" on ")[0] for line in missing(deploy_policies(bare, "staging"), wanted)}
    assert {"iam:CreateRole", "ecs:CreateService", "logs:CreateLogGroup", "secretsmanager:CreateSecret"} <= refused
    refused = {line.split(" on ")[0] for line in missing(deploy_policies(ci_run, "dev"), wanted)}
    assert {"iam:CreateRole", "ecs:CreateService", "kms:ScheduleKeyDeletion"} <= refused


def test_the_issues_named_misses_are_needed_and_now_allowed(ci_run):
    """kms:TagResource on create, GetDashboard, ListTagsForResource, the TargetTracking alarms."""
    wanted = stack_needs("prod", account_of(ci_run), example_config()["deepseek-cloud-ci:permissionsBoundaryArn"])
    by_action = {}
    for need in wanted:
        by_action.setdefault((need.request.action, need.phase), []).append(need)
    tag_on_create = by_action[("kms:TagResource", "create")]
    assert tag_on_create[0].request.context["aws:ResourceTag/project"] is None  # the key has no tags yet
    assert ("cloudwatch:GetDashboard", "existing") in by_action
    assert ("application-autoscaling:ListTagsForResource", "existing") in by_action
    alarms = {n.request.resource for n in by_action[("cloudwatch:PutMetricAlarm", "create")]}
    assert any(":alarm:TargetTracking-service/ds-prod-vllm-cluster-" in arn for arn in alarms)
    policies = deploy_policies(ci_run, "prod")
    decision, sids = decide(policies, tag_on_create[0].request)
    assert (decision, sids) == (ALLOW, ["KmsTagOnCreate"])
    # Without the tag-on-create statement (the policy before this fix), the key can't be created.
    old = [{**d, "Statement": [s for s in d["Statement"] if s["Sid"] != "KmsTagOnCreate"]} for d in policies]
    lines = missing(old, wanted)
    assert lines and all(line.startswith("kms:TagResource on arn:aws:kms:us-east-1:") for line in lines)
    assert all("[create] for aws_kms_key ds-prod-key" in line for line in lines)


def test_removing_any_needed_action_makes_the_check_fail(ci_run):
    """Mutation: each distinct action prod needs, taken out of the deploy policies alone, is reported."""
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]
    wanted = stack_needs("prod", account_of(ci_run), boundary)
    policies = deploy_policies(ci_run, "prod")
    actions = sorted({n.request.action for n in wanted})
    assert len(actions) > 150
    sample = [*actions[::3], "kms:TagResource", "cloudwatch:GetDashboard", "iam:CreateRole", "ec2:DescribeVpcs"]
    for action in sample:
        mutated = without_action(policies, action)
        affected = [n for n in wanted if n.request.action == action]
        lines = missing(mutated, affected)
        assert lines, f"removing {action} went unnoticed"
        assert all(line.startswith(f"{action} on ") for line in lines)


def test_a_role_cannot_deploy_another_environments_stack(ci_run):
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]
    prod_needs = stack_needs("prod", account_of(ci_run), boundary)
    lines = missing(deploy_policies(ci_run, "dev"), prod_needs)
    # Everything named for prod (roles, ECS, ELB, alarms, logs, secrets, KMS alias) and every delete of a
    # prod-tagged EC2 resource or KMS key is refused to the dev role.
    refused = {line.split(" on ")[0].lower() for line in lines}
    assert {
        "iam:createrole",
        "ecs:updateservice",
        "elasticloadbalancing:modifylistener",
        "kms:schedulekeydeletion",
    } <= refused
    assert {"ec2:deletevpc", "ec2:deletetags", "logs:deleteloggroup", "secretsmanager:deletesecret"} <= refused
    assert not any(line.startswith("ec2:DescribeVpcs ") for line in lines)  # reads are not environment-bound


def test_a_stack_without_the_ci_boundary_cannot_create_its_roles(ci_run):
    lines = missing(deploy_policies(ci_run, "prod"), stack_needs("prod", account_of(ci_run), None))
    assert lines
    assert {line.split(" on ")[0] for line in lines} == {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"}


# --- pike data ----------------------------------------------------------------------------------------


def test_every_shipped_type_has_a_pike_mapping_and_the_source_is_recorded():
    source = (PIKE_DIR / "SOURCE").read_text()
    assert "085701b0937c02379ffa7fb990d9218fc803ecbf" in source
    for stack in stack_names():  # EKS stacks too: their mappings are in place for the coverage below
        for reg in shared_run(stack).registrations:
            if reg.custom and reg.type.startswith("aws:"):
                assert terraform_type(reg.type) in pike_files(), reg.type


def test_type_tokens_map_to_terraform_names():
    assert terraform_type("aws:lb/listener:Listener") == "aws_lb_listener"
    assert terraform_type("aws:lb/loadBalancer:LoadBalancer") == "aws_lb"
    assert terraform_type("aws:ec2/vpc:Vpc") == "aws_vpc"
    assert terraform_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == (
        "aws_vpc_security_group_ingress_rule"
    )
    assert terraform_type("aws:cloudwatch/eventRule:EventRule") == "aws_cloudwatch_event_rule"
    assert terraform_type("aws:amp/workspace:Workspace") == "aws_prometheus_workspace"
    assert terraform_type("aws:ec2/placementGroup:PlacementGroup") == "aws_placement_group"


def test_a_type_without_a_pike_file_says_which_file_to_add(tmp_path):
    with pytest.raises(LookupError, match=r"copy src/mapping/aws/resource/<service>/aws_wafv2_web_acl\.json"):
        listed_actions("aws_wafv2_web_acl", tagged=True, pike_dir=tmp_path)


def test_corrections_refer_to_types_and_actions_that_matter():
    types = {
        terraform_type(r.type)
        for s in SHIPPED
        for r in shared_run(s).registrations
        if r.custom and r.type.startswith("aws:")
    }
    fixes = corrections()
    for section in ("add", "drop", "requests"):
        assert set(fixes[section]) <= types, section
    for tf_type, dropped in fixes["drop"].items():
        (entry,) = json.loads(pike_files()[tf_type].read_text())
        pike = {a.lower() for a in entry["apply"] + (entry.get("attributes") or {}).get("tags", [])}
        assert {a.lower() for a in dropped} <= pike, tf_type  # a drop that pike no longer lists is stale


# --- the evaluator --------------------------------------------------------------------------------------


def doc(*statements: dict) -> list[dict]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def test_evaluator_wildcards_case_and_notaction():
    policy = doc({"Sid": "A", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"})
    assert decide(policy, Request("EC2:describevpcs", "*"))[0] == ALLOW  # action names are case-insensitive
    assert decide(policy, Request("ec2:CreateVpc", "*"))[0] == IMPLICIT_DENY
    not_action = doc({"Sid": "N", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::ds-*"})
    assert decide(not_action, Request("s3:GetObject", "arn:aws:s3:::ds-x/a/b"))[0] == ALLOW  # * spans "/"
    assert decide(not_action, Request("iam:GetRole", "arn:aws:s3:::ds-x"))[0] == IMPLICIT_DENY
    assert decide(not_action, Request("s3:GetObject", "arn:aws:s3:::DS-x"))[0] == IMPLICIT_DENY  # ARNs: case


def test_evaluator_explicit_deny_wins():
    policy = doc(
        {"Sid": "A", "Effect": "Allow", "Action": "iam:*Role*", "Resource": "arn:aws:iam::1:role/*"},
        {"Sid": "D", "Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::1:role/github-ci/*"},
    )
    assert decide(policy, Request("iam:UpdateRole", "arn:aws:iam::1:role/ds-x"))[0] == ALLOW
    assert decide(policy, Request("iam:UpdateRole", "arn:aws:iam::1:role/github-ci/x")) == (EXPLICIT_DENY, ["D"])


def test_evaluator_conditions():
    owned = {"StringEquals": {"aws:ResourceTag/project": "deepseek-cloud"}}
    policy = doc({"Sid": "O", "Effect": "Allow", "Action": "kms:TagResource", "Resource": "*", "Condition": owned})
    tagged = Request("kms:TagResource", "*", {"aws:ResourceTag/project": "deepseek-cloud"})
    assert decide(policy, tagged)[0] == ALLOW
    assert decide(policy, Request("kms:TagResource", "*", {"aws:resourcetag/project": "other"}))[0] == IMPLICIT_DENY
    # A key being created has no tags: a ResourceTag condition can't hold...
    assert decide(policy, Request("kms:TagResource", "*", {"aws:ResourceTag/project": None}))[0] == IMPLICIT_DENY
    # ...unless it says IfExists; a key the request model doesn't mention is assumed satisfiable.
    if_exists = doc(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": owned["StringEquals"]},
        }
    )
    assert decide(if_exists, Request("kms:TagResource", "*", {"aws:ResourceTag/project": None}))[0] == ALLOW
    assert decide(policy, Request("kms:TagResource", "*"))[0] == ALLOW
    null = doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:ResourceTag/x": "true"}}}
    )
    assert decide(null, Request("a:b", "*", {"aws:ResourceTag/x": None}))[0] == ALLOW
    assert decide(null, Request("a:b", "*", {"aws:ResourceTag/x": "v"}))[0] == IMPLICIT_DENY
    arn = doc(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}},
        }
    )
    assert decide(arn, Request("iam:CreateRole", "*", {"iam:PermissionsBoundary": None}))[0] == IMPLICIT_DENY
    with pytest.raises(ValueError, match="DateGreaterThan"):
        decide(
            doc(
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}},
                }
            ),
            Request("a:b", "*", {"aws:CurrentTime": "y"}),
        )


# --- permissions boundary on every role the stacks create ------------------------------------------------


# ECS: execution, task, GPU instance, VPC flow-log delivery, weight-sync execution and task; EKS: cluster,
# system nodes, Karpenter and its nodes, VPC flow-log delivery, vLLM secrets, LB controller, KEDA.
ROLES = {"ecs": 6, "eks": 9}  # eks: + the metrics collector's Pod Identity role
# A tiered stack adds the CPU tier's execution, task and instance roles and the router's execution and task (ECS),
# or the CPU tier's, the router's and the router log shipper's Pod Identity roles (EKS: the CPU nodes share
# Karpenter's node role; components/eks/router_logs.py).
TIER_ROLES = {"hybrid": 5, "hybrid-eks": 3}
# An EKS stack loading from S3 adds the weight-sync Job's Pod Identity role (components/eks/weights_sync.py).
SYNC_ROLES = {"eks-dev": 1, "eks-r1": 1, "hybrid-eks": 1}
# A single-tier ECS stack rotates its API key: the rotation function's role (components/ecs/api_key_rotation.py).
ROTATION_ROLES = {"dev": 1, "staging": 1, "prod": 1}


@pytest.mark.parametrize("stack", stack_names())
def test_every_role_carries_the_boundary_when_set_and_none_otherwise(stack):
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]  # the run stack_needs reads too
    roles = ROLES[stack_config(stack)["deepseek-cloud:platform"]] + TIER_ROLES.get(stack, 0) + SYNC_ROLES.get(stack, 0)
    roles += ROTATION_ROLES.get(stack, 0)
    with_boundary = shared_run(stack, {BOUNDARY_KEY: boundary}).of_type(ROLE)
    without = shared_run(stack).of_type(ROLE)
    assert len(with_boundary) == len(without) == roles
    assert [r.inputs.get("permissionsBoundary") for r in with_boundary] == [boundary] * roles
    assert [r.inputs.get("permissionsBoundary") for r in without] == [None] * roles


def test_a_malformed_boundary_is_a_config_error():
    with pytest.raises(ConfigError) as raised:
        run_program("dev", overrides={BOUNDARY_KEY: "ds-boundary"})
    (problem,) = raised.value.problems
    assert str(problem).startswith("deepseek-cloud:iam.permissionsBoundaryArn: wrong format (got ds-boundary;")


# --- the program's own lookups (data sources) ----------------------------------------------------------------


def preview_policies(run) -> list[dict]:
    return [json.loads(run.by_name("deepseek-ci-preview-read").inputs["policy"])]


def lookup_needs(stack: str, caller_role: str = "*") -> list:
    from offline.iam_needs import data_source_needs

    run = shared_run(stack)
    return data_source_needs(run.invokes, run.region, caller_role)


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_preview_and_deploy_roles_allow_the_programs_lookups(ci_run, stack):
    # The role running the program: what aws.iam.get_session_context (EKS stacks) reads with iam:GetRole.
    # The mocks give the roles the mock account; the policies name the provider's (account_of).
    def in_account(arn: str) -> str:
        return ":".join([*arn.split(":")[:4], account_of(ci_run), *arn.split(":")[5:]])

    wanted = lookup_needs(stack, in_account(ci_run.outputs["previewRoleArn"]))
    actions = {n.request.action for n in wanted}
    # The lookups that decide the plan, each mapped by pike: instance facts, offerings, AZs; on ECS the
    # service-linked roles and the AMI, on EKS the deployer (its access entry) through its own role.
    common = {
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstanceTypeOfferings",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeRegions",
    }
    platform = stack_config(stack)["deepseek-cloud:platform"]
    assert common | ({"iam:GetRole"} if platform == "eks" else {"iam:ListRoles", "ssm:GetParameter"}) <= actions
    if platform == "eks":
        (own,) = [n.request.resource for n in wanted if n.request.action == "iam:GetRole"]
        assert own.startswith("arn:aws:iam::111122223333:role/github-ci/deepseek-ci-preview-")
    assert missing(preview_policies(ci_run), wanted) == []
    deploy_role = in_account(ci_run.outputs["deployRoleArns"][environment_of(stack)])
    assert missing(deploy_policies(ci_run, environment_of(stack)), lookup_needs(stack, deploy_role)) == []


def test_removing_a_lookup_action_makes_the_check_fail(ci_run):
    wanted = lookup_needs("prod")
    lines = missing(without_action(preview_policies(ci_run), "iam:ListRoles"), wanted)
    assert len(lines) == 1 and lines[0].startswith("iam:ListRoles on * [read] for aws_iam_roles"), lines


def test_a_data_source_without_a_pike_file_says_which_file_to_add():
    from offline.iam_needs import data_source_type

    with pytest.raises(LookupError, match=r"src/mapping/aws/data/<service>/aws_ec2_vpc_ipam_pool\.json"):
        data_source_type("aws:ec2/getVpcIpamPool:getVpcIpamPool")


# --- EKS ----------------------------------------------------------------------------------------------------


def test_eks_kubernetes_objects_are_left_to_the_cluster_api_and_the_rest_is_checked():
    run = shared_run("eks-r1")
    index = StackIndex(run.registrations, run.region, "111122223333")
    skipped = {r.type for r in index.through_cluster_api}
    assert {"kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"} <= skipped
    assert all(t.startswith(("kubernetes:", "pulumi:providers:")) for t in skipped)
    # The deployer's cluster-admin access entry (what the cluster API authorizes it by) is itself checked here.
    assert {"aws_eks_access_entry", "aws_eks_access_policy_association", "aws_eks_cluster"} <= set(index.by_type)


def test_removing_an_eks_action_or_another_environments_role_makes_the_check_fail(ci_run):
    boundary = example_config()["deepseek-cloud-ci:permissionsBoundaryArn"]
    wanted = stack_needs("eks-r1", account_of(ci_run), boundary)
    policies = deploy_policies(ci_run, "dev")
    for action in (
        "eks:CreateCluster",
        "eks:CreateAccessEntry",
        "sqs:CreateQueue",
        "aps:CreateScraper",
        "ec2:CreatePlacementGroup",
        "kms:CreateGrant",
        "iam:CreatePolicy",
        "iam:PassRole",
    ):
        lines = missing(without_action(policies, action), [n for n in wanted if n.request.action == action])
        assert lines and all(line.startswith(f"{action} on ") for line in lines), action
    pass_to_pods = [n for n in wanted if n.request.context.get("iam:PassedToService") == "pods.eks.amazonaws.com"]
    assert pass_to_pods
    refused = {line.split(" on ")[0] for line in missing(deploy_policies(ci_run, "prod"), wanted)}
    assert {"eks:DeleteCluster", "sqs:DeleteQueue", "iam:CreatePolicy", "eks:CreateNodegroup"} <= refused


# The warm pool (components/ecs/capacity.py WarmPool) is in no shipped stack (each uses Spot), so the pike-based
# check above never sees it. What enabling it on prod adds to the deploy: the warm pool on the group
# (PutWarmPool / DeleteWarmPool / DescribeWarmPool), the launch hook (PutLifecycleHook / DeleteLifecycleHook /
# DescribeLifecycleHooks), the instance role's inline policy (iam:PutRolePolicy / GetRolePolicy /
# DeleteRolePolicy): action names from the Service Authorization Reference (Amazon EC2 Auto Scaling, IAM).
WARM_POOL = {
    "deepseek-cloud:gpuPool.spot.enabled": False,
    "deepseek-cloud:gpuPool.instanceTypes": ["g6e.12xlarge"],
    "deepseek-cloud:gpuPool.warmPool.enabled": True,
}


def warm_pool_requests(account: str) -> list[Request]:
    run = shared_run("prod", WARM_POOL)
    asg = run.one("aws:autoscaling/group:Group").outputs["arn"].replace(":123456789012:", f":{account}:")
    [role] = [r for r in run.of_type(ROLE) if r.name == "ds-prod-vllm-pool-instance"]
    role_arn = role.outputs["arn"].replace(":123456789012:", f":{account}:")
    return [
        *(
            Request(f"autoscaling:{a}", asg)
            for a in ("PutWarmPool", "DeleteWarmPool", "PutLifecycleHook", "DeleteLifecycleHook")
        ),
        *(Request(f"autoscaling:{a}", "*") for a in ("DescribeWarmPool", "DescribeLifecycleHooks")),
        *(Request(f"iam:{a}", role_arn) for a in ("PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy")),
    ]


def test_the_prod_deploy_role_can_add_a_warm_pool_and_only_prods(ci_run):
    requests = warm_pool_requests(account_of(ci_run))
    policies = deploy_policies(ci_run, "prod")
    assert [(r.action, decide(policies, r)[0]) for r in requests if decide(policies, r)[0] != ALLOW] == []
    # dev's role is refused prod's group and role (names are per environment).
    refused = {r.action for r in requests if decide(deploy_policies(ci_run, "dev"), r)[0] != ALLOW}
    assert {"autoscaling:PutWarmPool", "autoscaling:PutLifecycleHook", "iam:PutRolePolicy"} <= refused
    # Without PutWarmPool in the policy, the warm pool could not be created.
    put = next(r for r in requests if r.action == "autoscaling:PutWarmPool")
    assert decide(without_action(policies, "autoscaling:PutWarmPool"), put)[0] != ALLOW
