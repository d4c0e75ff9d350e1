"""What the CI deploy role must be allowed to do for a planned stack, from pike's IAM mapping.

For every custom resource a stack declares, JamesWoolfenden/pike's mapping for its Terraform type
(tests/data/pike/<service>/aws_<type>.json) lists the calls terraform-provider-aws — the engine under
pulumi-aws — makes: `apply`, plus `attributes.tags` when the resource is tagged. tests/data/pike/corrections.yaml
adds what pike lacks and drops what these stacks never cause, each with its source. Actions of services the
stack never uses (no resource type of that service) are ignored.

Each needed action becomes one or two `iam_eval.Request`s over the ARN the stack's resource will have (named
as the stacks name it: logical name + Pulumi's 7-character autoname suffix, or the name the program sets)
and the condition keys the call carries: region, the resource's tags (absent while it is being created),
the request's tags (on creates and tagging calls), a role's permissions boundary.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline.iam_eval import Request, compile_policies, matches

ROOT = Path(__file__).resolve().parent.parent
PIKE_DIR = ROOT / "tests" / "data" / "pike"
AUTONAME_SUFFIX = "1a2b3c4"  # Pulumi's autonaming appends "-" and 7 random hex characters
WAF_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"  # web ACL ARNs end in name/id (AWS WAF developer guide)
# Pulumi type tokens mirror Terraform names (aws:lb/listener:Listener = aws_lb_listener) except these.
TERRAFORM_TYPE_OVERRIDES = {
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    # pulumi-aws names the AMP module `amp`; terraform-provider-aws names its types aws_prometheus_*.
    "aws:amp/workspace:Workspace": "aws_prometheus_workspace",
    "aws:amp/scraper:Scraper": "aws_prometheus_scraper",
}
CREATE_VERBS = ("Create", "Allocate", "Run", "Register", "Request")
ROLE_SHAPING = {"iam:createrole", "iam:putrolepolicy", "iam:attachrolepolicy", "iam:putrolepermissionsboundary"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@functools.cache
def pike_files(pike_dir: Path = PIKE_DIR) -> dict[str, Path]:
    """{terraform type: file} for every pike mapping kept under tests/data/pike/<service>/."""
    return {path.stem: path for path in sorted(pike_dir.glob("*/aws_*.json"))}


def terraform_type(type_token: str, pike_dir: Path = PIKE_DIR) -> str:
    """aws:ec2/vpc:Vpc → aws_vpc; aws:vpc/securityGroupIngressRule:… → aws_vpc_security_group_ingress_rule."""
    if type_token in TERRAFORM_TYPE_OVERRIDES:
        return TERRAFORM_TYPE_OVERRIDES[type_token]
    module, resource = type_token.split(":")[1].split("/")
    candidates = [f"aws_{module}_{_snake(resource)}", f"aws_{_snake(resource)}"]
    known = pike_files(pike_dir)
    return next((c for c in candidates if c in known), candidates[0])


def pike_service(tf_type: str, pike_dir: Path = PIKE_DIR) -> str:
    path = pike_files(pike_dir).get(tf_type)
    return path.parent.name if path else ""


@functools.cache
def corrections(pike_dir: Path = PIKE_DIR) -> dict[str, Any]:
    return yaml.load((pike_dir / "corrections.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def _catalogue_expand(pattern: str) -> tuple[str, ...]:
    """Concrete actions a wildcard stands for, from parliament's copy of the IAM action catalogue."""
    if "*" not in pattern and "?" not in pattern:
        return (pattern,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import expand_action
    return tuple(f"{a['service']}:{a['action']}" for a in expand_action(pattern))


# --- names and ARNs the stack's resources will have ---------------------------------------------------

_NAME_KEYS = ("name", "alarmName", "dashboardName", "family")
_EC2_KIND = {
    "aws_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_security_group": "security-group",
    "aws_default_security_group": "security-group",
    "aws_vpc_security_group_ingress_rule": "security-group-rule",
    "aws_vpc_security_group_egress_rule": "security-group-rule",
    "aws_route_table": "route-table",
    "aws_route_table_association": "route-table",
    "aws_internet_gateway": "internet-gateway",
    "aws_nat_gateway": "natgateway",
    "aws_eip": "elastic-ip",
    "aws_vpc_endpoint": "vpc-endpoint",
    "aws_launch_template": "launch-template",
}
EKS_UUID = "a1b2c3d4-0000-1111-2222-333344445555"  # node group, addon and access entry ARNs end in a UUID
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


# Kubernetes objects, Helm releases and the kubernetes provider are applied through the EKS cluster's API server
# (Kubernetes RBAC), not AWS IAM: no IAM action authorizes them. The deployer's rights there come from the EKS
# access entry the stack creates for it with AmazonEKSClusterAdminPolicy (components/eks/cluster.py _admin_access:
# the deployer, stacks/eks.py deployer_arn; https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html,
# https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html). What IAM must allow for that
# is CreateAccessEntry/AssociateAccessPolicy (covered below) and eks:DescribeCluster for the kubeconfig.
CLUSTER_API = ("kubernetes:", "pulumi:providers:")


@dataclass
class StackIndex:
    """The planned stack's custom resources by Terraform type, with partition/region/account for ARNs."""

    registrations: list[Any]
    region: str
    account: str
    partition: str = "aws"

    def __post_init__(self) -> None:
        self.through_cluster_api = [r for r in self.registrations if r.type.startswith(CLUSTER_API)]
        self.registrations = [r for r in self.registrations if r.custom and r.type.startswith("aws:")]
        self.by_type: dict[str, list[Any]] = {}
        for reg in self.registrations:
            self.by_type.setdefault(terraform_type(reg.type), []).append(reg)

    def name(self, reg: Any) -> str:
        inputs = reg.inputs if isinstance(reg.inputs, dict) else {}
        for key in _NAME_KEYS:
            if isinstance(inputs.get(key), str) and inputs[key]:
                return inputs[key]
        return f"{reg.name}-{AUTONAME_SUFFIX}"

    def name_of(self, tf_type: str, like: str = "") -> str:
        regs = self.by_type.get(tf_type) or []
        if not regs:
            raise LookupError(f"the stack has no {tf_type}")
        same = [r for r in regs if r.name == like]
        return self.name((same or regs)[0])

    def services(self) -> set[str]:
        return {pike_service(t) for t in self.by_type} - {""}

    def fill(self, template: str) -> str:
        def sub(match: re.Match) -> str:
            key = match.group(1)
            if key.startswith("name:"):
                return self.name_of(key[len("name:") :])
            if key.startswith("tag:"):  # {tag:<terraform type>:<key>}: that type's first resource's tag value
                tf_type, tag = key[len("tag:") :].split(":", 1)
                return _tags(self.by_type[tf_type][0]).get(tag, "")
            return {"partition": self.partition, "region": self.region, "account": self.account}[key]

        return re.sub(r"\{([a-z0-9_:]+)\}", sub, template)

    def _eks(self, tf_type: str, reg: Any) -> str:
        """EKS ARNs (Service Authorization Reference, Amazon EKS resource types, as in parliament's copy)."""
        p, r, a = self.partition, self.region, self.account
        inputs = reg.inputs or {}
        cluster = inputs.get("clusterName") or self.name_of("aws_eks_cluster")
        if tf_type == "aws_eks_cluster":
            return f"arn:{p}:eks:{r}:{a}:cluster/{inputs.get('name') or self.name(reg)}"
        if tf_type == "aws_eks_node_group":
            group = (
                inputs.get("nodeGroupName") or f"{inputs.get('nodeGroupNamePrefix') or reg.name + '-'}{AUTONAME_SUFFIX}"
            )
            return f"arn:{p}:eks:{r}:{a}:nodegroup/{cluster}/{group}/{EKS_UUID}"
        if tf_type == "aws_eks_addon":
            return f"arn:{p}:eks:{r}:{a}:addon/{cluster}/{inputs.get('addonName')}/{EKS_UUID}"
        if tf_type == "aws_eks_pod_identity_association":
            return f"arn:{p}:eks:{r}:{a}:podidentityassociation/{cluster}/a-0a1b2c3d4e5f60718"
        # An access policy association is authorized on its access entry: access-entry/<cluster>/<type>/<account>/
        # <name>/<uuid>, the type being role or user (AssociateAccessPolicy/DisassociateAccessPolicy: access-entry*).
        principal = str(inputs.get("principalArn") or f"arn:{p}:iam::{a}:role/{reg.name}")
        kind, _, name = principal.split(":", 5)[5].partition("/")
        return f"arn:{p}:eks:{r}:{a}:access-entry/{cluster}/{kind}/{a}/{name.rsplit('/', 1)[-1]}/{EKS_UUID}"

    def arn(self, tf_type: str, reg: Any) -> str:
        p, r, a = self.partition, self.region, self.account
        n = self.name(reg)
        if tf_type.startswith("aws_eks_"):
            return self._eks(tf_type, reg)
        if tf_type in _EC2_KIND:
            kind = _EC2_KIND[tf_type]
            return f"arn:{p}:ec2:{r}:{a}:{kind}/{kind}-0a1b2c3d4e5f60718"
        cluster = self.name_of("aws_ecs_cluster") if "aws_ecs_cluster" in self.by_type else ""
        lb = self.name_of("aws_lb") if "aws_lb" in self.by_type else ""
        # A bucket's companions (policy, versioning, logging, ...) share its logical name.
        bucket = self.name_of("aws_s3_bucket", like=reg.name) if "aws_s3_bucket" in self.by_type else ""
        repo = self.name_of("aws_ecr_repository") if "aws_ecr_repository" in self.by_type else ""
        role = self.name_of("aws_iam_role") if "aws_iam_role" in self.by_type else ""
        rule = self.name_of("aws_cloudwatch_event_rule", like=reg.name) if tf_type.endswith("event_target") else ""
        topic = self.name_of("aws_sns_topic") if "aws_sns_topic" in self.by_type else ""
        waf = self.name_of("aws_wafv2_web_acl") if "aws_wafv2_web_acl" in self.by_type else ""
        function = self.name_of("aws_lambda_function") if "aws_lambda_function" in self.by_type else ""
        # The rotation's secretId is the secret's ARN (planned in another account): keep its name and suffix.
        secret = str((reg.inputs or {}).get("secretId") or "").split(":secret:")[-1]
        inputs = reg.inputs or {}
        templates = {
            "aws_ecs_cluster": f"arn:{p}:ecs:{r}:{a}:cluster/{n}",
            "aws_ecs_cluster_capacity_providers": f"arn:{p}:ecs:{r}:{a}:cluster/{cluster}",
            "aws_ecs_service": f"arn:{p}:ecs:{r}:{a}:service/{cluster}/{n}",
            "aws_ecs_task_definition": f"arn:{p}:ecs:{r}:{a}:task-definition/{n}:1",
            "aws_ecs_capacity_provider": f"arn:{p}:ecs:{r}:{a}:capacity-provider/{n}",
            "aws_autoscaling_group": (
                f"arn:{p}:autoscaling:{r}:{a}:autoScalingGroup:0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
                f":autoScalingGroupName/{n}"
            ),
            "aws_cloudwatch_metric_alarm": f"arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
            "aws_cloudwatch_composite_alarm": f"arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
            "aws_cloudwatch_dashboard": f"arn:{p}:cloudwatch::{a}:dashboard/{n}",
            "aws_cloudwatch_event_rule": f"arn:{p}:events:{r}:{a}:rule/{n}",
            "aws_cloudwatch_event_target": f"arn:{p}:events:{r}:{a}:rule/{rule}",
            "aws_cloudwatch_log_group": f"arn:{p}:logs:{r}:{a}:log-group:{n}:*",
            # A metric filter has no ARN: PutMetricFilter/DeleteMetricFilter/DescribeMetricFilters name the log
            # group it filters (Service Authorization Reference, Amazon CloudWatch Logs: resource type log-group).
            "aws_cloudwatch_log_metric_filter": f"arn:{p}:logs:{r}:{a}:log-group:{inputs.get('logGroupName', '')}:*",
            "aws_iam_role": f"arn:{p}:iam::{a}:role/{n}",
            "aws_iam_role_policy": f"arn:{p}:iam::{a}:role/{role}",
            "aws_iam_role_policy_attachment": f"arn:{p}:iam::{a}:role/{role}",
            "aws_iam_instance_profile": f"arn:{p}:iam::{a}:instance-profile/{n}",
            "aws_kms_key": f"arn:{p}:kms:{r}:{a}:key/{KEY_ID}",
            "aws_kms_alias": f"arn:{p}:kms:{r}:{a}:{n}",
            "aws_lb": f"arn:{p}:elasticloadbalancing:{r}:{a}:loadbalancer/app/{n}/50dc6c495c0c9188",
            "aws_lb_listener": (
                f"arn:{p}:elasticloadbalancing:{r}:{a}:listener/app/{lb}/50dc6c495c0c9188/f2f7dc8efc522ab2"
            ),
            "aws_lb_listener_rule": (
                f"arn:{p}:elasticloadbalancing:{r}:{a}:listener-rule/app/{lb}/50dc6c495c0c9188/f2f7dc8efc522ab2"
                "/9683b2d02a6cabee"
            ),
            "aws_wafv2_web_acl": f"arn:{p}:wafv2:{r}:{a}:regional/webacl/{n}/{WAF_ID}",
            "aws_wafv2_web_acl_association": f"arn:{p}:wafv2:{r}:{a}:regional/webacl/{waf}/{WAF_ID}",
            "aws_lb_target_group": f"arn:{p}:elasticloadbalancing:{r}:{a}:targetgroup/{n}/73e2d6bc24d8a067",
            "aws_secretsmanager_secret": f"arn:{p}:secretsmanager:{r}:{a}:secret:{n}-AbCdEf",
            # RotateSecret / CancelRotateSecret name the secret (the rotation's secretId: its ARN).
            "aws_secretsmanager_secret_rotation": f"arn:{p}:secretsmanager:{r}:{a}:secret:{secret}",
            "aws_lambda_function": f"arn:{p}:lambda:{r}:{a}:function:{n}",
            # AddPermission / RemovePermission / GetPolicy act on the function the statement belongs to.
            "aws_lambda_permission": f"arn:{p}:lambda:{r}:{a}:function:{inputs.get('function') or function}",
            "aws_wafv2_web_acl_logging_configuration": f"arn:{p}:wafv2:{r}:{a}:regional/webacl/{waf}/{WAF_ID}",
            "aws_sns_topic": f"arn:{p}:sns:{r}:{a}:{n}",
            "aws_ecr_repository": f"arn:{p}:ecr:{r}:{a}:repository/{n}",
            "aws_ecr_lifecycle_policy": f"arn:{p}:ecr:{r}:{a}:repository/{repo}",
            "aws_sns_topic_policy": f"arn:{p}:sns:{r}:{a}:{topic}",
            "aws_sns_topic_subscription": f"arn:{p}:sns:{r}:{a}:{topic}",
            "aws_iam_policy": f"arn:{p}:iam::{a}:policy/{n}",
            "aws_sqs_queue": f"arn:{p}:sqs:{r}:{a}:{n}",
            # The policy names its queue by URL (https://sqs.<region>.amazonaws.com/<account>/<name>).
            "aws_sqs_queue_policy": f"arn:{p}:sqs:{r}:{a}:{str(inputs.get('queueUrl', '')).rsplit('/', 1)[-1]}",
            # Workspaces and scrapers are named by random ids (ws-…, s-…), not by the stack's names.
            "aws_prometheus_workspace": f"arn:{p}:aps:{r}:{a}:workspace/ws-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "aws_prometheus_scraper": f"arn:{p}:aps:{r}:{a}:scraper/s-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "aws_placement_group": f"arn:{p}:ec2:{r}:{a}:placement-group/{n}",
        }
        if tf_type.startswith("aws_s3_bucket"):
            return f"arn:{p}:s3:::{bucket}"
        if tf_type.startswith("aws_appautoscaling_"):
            return f"arn:{p}:application-autoscaling:{r}:{a}:scalable-target/0ec21a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
        if tf_type in templates:
            return templates[tf_type]
        # A type not modelled yet (e.g. newly added to the stacks): its service's catch-all ARN shape, so the
        # test still evaluates it; an exact template can be added above.
        return f"arn:{p}:{pike_service(tf_type) or 'unknown'}:{r}:{a}:{tf_type.removeprefix('aws_')}/{n}"


def _tags(reg: Any) -> dict[str, str]:
    raw = (reg.inputs or {}).get("tags") if isinstance(reg.inputs, dict) else None
    if isinstance(raw, list):  # an Auto Scaling group's [{key, value, propagateAtLaunch}]
        return {t["key"]: t["value"] for t in raw if isinstance(t, dict) and "key" in t}
    return dict(raw) if isinstance(raw, dict) else {}


# --- needs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    type_token: str
    tf_type: str
    resource_name: str  # logical name in the stack
    listed: str  # the action as pike (or corrections.yaml) lists it, maybe a wildcard
    origin: str  # "pike" | "corrections"
    phase: str  # "create" (resource not there yet, no aws:ResourceTag) | "existing"
    request: Request

    def describe(self) -> str:
        via = self.listed if self.listed.lower() == self.request.action.lower() else f"{self.listed} ⊇"
        return (
            f"{self.request.action} on {self.request.resource} [{self.phase}] for {self.tf_type} "
            f"{self.resource_name} ({self.origin}: {via})"
        )


def _is_tagging(action: str) -> bool:
    name = action.split(":", 1)[1]
    return "tag" in name.lower() and not name.startswith(
        ("Untag", "UnTag", "Delete", "Remove", "List", "Describe", "Get")
    )


def _phases(action: str, put_creates: bool) -> tuple[str, ...]:
    """When a call is made: tagging calls both on create (tag-on-create) and later; Put* on create too when the
    type has no Create-like call (alarms, rules, dashboards are created by Put*), else only on what exists."""
    name = action.split(":", 1)[1]
    if _is_tagging(action) or (name.startswith("Put") and put_creates):
        return ("create", "existing")
    return ("create",) if name.startswith(CREATE_VERBS) else ("existing",)


def listed_actions(tf_type: str, tagged: bool, pike_dir: Path = PIKE_DIR) -> list[tuple[str, str]]:
    """[(action, origin)] for a type: pike's apply (+ tags), corrections' adds, minus corrections' drops."""
    path = pike_files(pike_dir).get(tf_type)
    if path is None:
        raise LookupError(
            f"no pike mapping for {tf_type}: copy src/mapping/aws/resource/<service>/{tf_type}.json from "
            f"JamesWoolfenden/pike into {pike_dir}/<service>/ (see {pike_dir}/SOURCE)"
        )
    (entry,) = json.loads(path.read_text())
    listed = [(a, "pike") for a in entry.get("apply") or []]
    if tagged:
        listed += [(a, "pike") for a in (entry.get("attributes") or {}).get("tags") or []]
    fixes = corrections(pike_dir)
    listed += [(a, "corrections") for a in (fixes.get("add") or {}).get(tf_type) or []]
    dropped = {a.lower() for a in (fixes.get("drop") or {}).get(tf_type) or []}
    seen, out = set(), []
    for action, origin in listed:
        if action.lower() in dropped or action.lower() in seen:
            continue
        seen.add(action.lower())
        out.append((action, origin))
    return out


def _context(stack: StackIndex, reg: Any, action: str, phase: str, tags: dict[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = {"aws:RequestedRegion": stack.region}
    for key, value in tags.items():
        context[f"aws:ResourceTag/{key}"] = None if phase == "create" else value
        context[f"aws:RequestTag/{key}"] = value if (phase == "create" or _is_tagging(action)) else None
    if action.lower() in ROLE_SHAPING:
        roles = stack.by_type.get("aws_iam_role") or []
        boundary = (roles[0].inputs or {}).get("permissionsBoundary") if roles else None
        context["iam:PermissionsBoundary"] = boundary or None
    return context


def needs(stack: StackIndex, pike_dir: Path = PIKE_DIR) -> list[Need]:
    """Every request the deploy role must be allowed for `stack`, deduplicated."""
    fixes = corrections(pike_dir).get("requests") or {}
    services = stack.services()
    out: dict[tuple, Need] = {}
    for reg in stack.registrations:
        tf_type = terraform_type(reg.type, pike_dir)
        tags = _tags(reg)
        has_boundary = bool((reg.inputs or {}).get("permissionsBoundary"))
        listed_all = listed_actions(tf_type, tagged=bool(tags), pike_dir=pike_dir)
        put_creates = not any(a.split(":", 1)[1].startswith(CREATE_VERBS) for a, _ in listed_all)
        for listed, origin in listed_all:
            service = listed.split(":", 1)[0].lower()
            if service not in services:
                continue  # a service the stack never uses (lambda, managed-fleets, vpc-lattice, ...)
            if listed.lower() == "iam:putrolepermissionsboundary" and not has_boundary:
                continue  # only called for a role that has a boundary
            fix = next((v for k, v in (fixes.get(tf_type) or {}).items() if k.lower() == listed.lower()), {})
            if "resource" in fix:
                resources = [
                    stack.fill(r) for r in (fix["resource"] if isinstance(fix["resource"], list) else [fix["resource"]])
                ]
            elif service == pike_service(tf_type, pike_dir):
                resources = [stack.arn(tf_type, reg)]
            else:
                others = [t for t in stack.by_type if pike_service(t, pike_dir) == service]
                resources = [stack.arn(others[0], stack.by_type[others[0]][0])] if others else ["*"]
            for action in _catalogue_expand(listed):
                for phase in _phases(action, put_creates):
                    fixed = {
                        k: stack.fill(v) if isinstance(v, str) else v for k, v in (fix.get("context") or {}).items()
                    }
                    context = {**_context(stack, reg, action, phase, tags), **fixed}
                    for resource in resources:
                        request = Request(action, resource, context)
                        key = (action.lower(), resource, phase, json.dumps(context, sort_keys=True))
                        out.setdefault(key, Need(reg.type, tf_type, reg.name, listed, origin, phase, request))
    return list(out.values())


def missing(policies: Sequence[Mapping], wanted: Sequence[Need]) -> list[str]:
    """One line per need the policies do not allow: the action, the ARN, why it is needed, what decided."""
    lines = []
    compiled = compile_policies(policies)
    for need in wanted:
        decision, sids = compiled.decide(need.request)
        if decision != "Allow":
            lines.append(f"{need.describe()}: {decision}{' by ' + ', '.join(sids) if sids else ''}")
    return lines


def without_action(policies: Sequence[Mapping], action: str) -> list[dict]:
    """The policies with `action` no longer allowed anywhere (wildcards that cover it are expanded minus it)."""
    out = []
    for doc in policies:
        stmts = []
        for stmt in doc["Statement"]:
            if stmt.get("Effect") != "Allow" or "Action" not in stmt:
                stmts.append(stmt)
                continue
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            kept: list[str] = []
            for pattern in actions:
                if not matches(pattern, action, ignore_case=True):
                    kept.append(pattern)
                elif pattern.lower() != action.lower():
                    kept += [a for a in _catalogue_expand(pattern) if a.lower() != action.lower()]
            if kept:
                stmts.append({**stmt, "Action": kept})
        out.append({**doc, "Statement": stmts})
    return out


# --- data sources -----------------------------------------------------------------------------------------
# The program's own lookups (instance facts, offerings, AZs, service-linked roles, public SSM parameters) run
# under `preview` and `up` alike, so the preview role and every deploy role need them. pike maps Terraform
# data sources too (src/mapping/aws/data/<service>/aws_<name>.json: `plan`, and `apply` for a few).
DATA_DIR = PIKE_DIR / "data"


@functools.cache
def data_source_files(data_dir: Path = DATA_DIR) -> dict[str, Path]:
    return {path.stem: path for path in sorted(data_dir.glob("*/aws_*.json"))}


def data_source_type(token: str, data_dir: Path = DATA_DIR) -> str:
    """aws:iam/getRoles:getRoles → aws_iam_roles; aws:index/getRegion:getRegion → aws_region."""
    module, function = token.split(":")[1].split("/")
    name = _snake(function.removeprefix("get"))
    candidates = [f"aws_{name}"] if module == "index" else [f"aws_{module}_{name}", f"aws_{name}"]
    known = data_source_files(data_dir)
    found = next((c for c in candidates if c in known), None)
    if found is None:
        raise LookupError(
            f"no pike mapping for data source {token} ({' or '.join(candidates)}): copy "
            f"src/mapping/aws/data/<service>/{candidates[0]}.json from JamesWoolfenden/pike into {data_dir}/<service>/"
        )
    return found


def _data_source_resource(token: str, args: Mapping[str, Any], region: str, caller_role: str) -> str:
    # aws_iam_session_context reads the caller's own role (GetRole) to learn its path
    # (terraform-provider-aws internal/service/iam/session_context_data_source.go, findRoleByName).
    if token == "aws:iam/getSessionContext:getSessionContext":
        return caller_role
    if token == "aws:ssm/getParameter:getParameter":  # public parameters have no account in their ARN
        return f"arn:aws:ssm:{region}::parameter/{str(args.get('name', '')).lstrip('/')}"
    return "*"  # Describe*/List* calls without resource-level permissions


def data_source_needs(
    invokes: Sequence[tuple[str, Mapping[str, Any]]], region: str, caller_role: str = "*"
) -> list[Need]:
    """One request per action pike lists for each data source the program called (deduplicated); `caller_role`
    is the ARN of the role running the program (what a lookup of the caller itself names)."""
    out: dict[tuple[str, str], Need] = {}
    for token, args in invokes:
        tf_type = data_source_type(token)
        (entry,) = json.loads(data_source_files()[tf_type].read_text()) or [{}]
        resource = _data_source_resource(token, args, region, caller_role)
        for action in (entry.get("plan") or []) + (entry.get("apply") or []):
            request = Request(action, resource, {"aws:RequestedRegion": region})
            out.setdefault(
                (action.lower(), resource), Need(token, tf_type, "(data source)", action, "pike", "read", request)
            )
    return list(out.values())
