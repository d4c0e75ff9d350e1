"""Rules for the Security Hub controls added with the control table (issue 17): listener TLS, non-root
read-only containers, multi-AZ pools and load balancers, flow logs, retention, public policies, S3
ownership and lifecycle, KMS, alarms, WAF. Controls per rule: controls.yaml."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import Severity

from deepseek_policies.aws_controls import (
    BUCKET_POLICY,
    IAM_INLINE,
    IAM_POLICY,
    IAM_ROLE,
    KMS_KEY,
    LISTENERS,
    LOAD_BALANCERS,
    LOG_GROUP,
    SNS_TOPIC,
    TASK_DEFINITION,
    _bucket_companions,
    _cname,
    _containers,
    _is_alb,
    _policy_statements,
)
from deepseek_policies.common import (
    Ctx,
    ParseError,
    Res,
    as_list,
    as_number,
    dig,
    fmt_num,
    is_true,
    is_unknown,
    known_tags,
    match_companions,
    parse_json,
    refers_to,
    report_missing,
    resource_policy,
    stack_policy,
)
from deepseek_policies.config import ELB_RECOMMENDED_SSL_POLICIES, ENVIRONMENT_SCHEMA, resolve_environment

ASG = "aws:autoscaling/group:Group"
# An EKS managed node group: EKS creates and owns its Auto Scaling group (AutoScaling.* evaluate that group).
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ECS_SERVICE = "aws:ecs/service:Service"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
# components/shared/model_secrets.py ROTATION_TAG: why a secret has no rotation (third-party: anywhere;
# manual: outside prod only).
ROTATION_TAG = "deepseek:rotation"
# SecretsManager.4's parameter maxDaysSinceRotation defaults to 90 (secretsmanager-controls.html#secretsmanager-4).
MAX_DAYS_SINCE_ROTATION = 90
# Lambda.2's parameter `runtime` (not customizable), as the control page lists it (lambda-controls.html#lambda-2,
# read 2026-12-01).
SUPPORTED_LAMBDA_RUNTIMES = (
    "dotnet8",
    "java25",
    "java21",
    "java17",
    "java11",
    "java8.al2",
    "nodejs24.x",
    "nodejs22.x",
    "nodejs20.x",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "ruby3.4",
    "ruby3.3",
    "ruby3.2",
)
SSM_CORE = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AmazonSSMManagedInstanceCore$")
_ENV_SCHEMA = {"environment": ENVIRONMENT_SCHEMA}
Report = Callable[[str], None]
StackReport = Callable[[str, str | None], None]


def _env(ctx: Ctx) -> str:
    return resolve_environment(ctx.config, known_tags(ctx.type, ctx.props))


# -- load balancers -----------------------------------------------------------------------------------


def _is_tls_listener(props: Mapping[str, Any]) -> bool | None:
    protocol = props.get("protocol")
    if is_unknown(protocol):
        return None
    return protocol in ("HTTPS", "TLS") or (protocol is None and props.get("certificateArn") is not None)


def _elb_tls_policy(ctx: Ctx, report: Report) -> None:
    if _is_tls_listener(ctx.props) is not True:
        return
    policy = ctx.props.get("sslPolicy")
    allowed = [str(p) for p in as_list(ctx.config.get("sslPolicies"))]
    if is_unknown(policy) or policy in allowed:
        return
    shown = policy or "unset (the API default ELBSecurityPolicy-2016-08 allows TLS 1.0)"
    report(f"{ctx.name}: sslPolicy {shown} is not one of ELB.17's recommended policies {allowed}")


def _elb_https_only_prod(ctx: Ctx, report: Report) -> None:
    if _env(ctx) != "prod" or _is_tls_listener(ctx.props) is not False:
        return
    report(f"{ctx.name}: {ctx.props.get('protocol')} listener in prod; listen on HTTPS (443) only")


def _elb_desync(ctx: Ctx, report: Report) -> None:
    mode = ctx.props.get("desyncMitigationMode")
    if _is_alb(ctx.props) is not True or is_unknown(mode) or mode in (None, "defensive", "strictest"):
        return
    report(f"{ctx.name}: desyncMitigationMode is {mode!r} (defensive or strictest required)")


def _elb_multi_az(ctx: Ctx, report: Report) -> None:
    subnets = ctx.props.get("subnets") or ctx.props.get("subnetMappings")
    if subnets is None or is_unknown(subnets) or any(is_unknown(s) for s in as_list(subnets)):
        return
    if len(as_list(subnets)) < 2:
        report(f"{ctx.name}: load balancer spans {len(as_list(subnets))} subnet(s); use subnets in 2+ AZs")


# -- autoscaling ---------------------------------------------------------------------------------------


def _node_group_multi_az_prod(ctx: Ctx, report: Report) -> None:
    subnets, types = ctx.props.get("subnetIds"), ctx.props.get("instanceTypes")
    if isinstance(subnets, list) and not any(is_unknown(s) for s in subnets) and len(subnets) < 2:
        report(f"{ctx.name}: prod node group spans {len(subnets)} subnet(s); use 2+ AZs")
    if isinstance(types, list) and not any(is_unknown(t) for t in types) and len(set(types)) < 2:
        report(f"{ctx.name}: prod node group has {len(set(types))} instance type(s); list 2+ in instanceTypes")


def _asg_multi_az_prod(ctx: Ctx, report: Report) -> None:
    if _env(ctx) != "prod":
        return
    if ctx.type == NODE_GROUP:
        _node_group_multi_az_prod(ctx, report)
        return
    zones = ctx.props.get("vpcZoneIdentifiers") or ctx.props.get("availabilityZones")
    if (
        zones is not None
        and not is_unknown(zones)
        and not any(is_unknown(z) for z in as_list(zones))
        and len(as_list(zones)) < 2
    ):
        report(f"{ctx.name}: prod autoscaling group spans {len(as_list(zones))} subnet(s)/AZ(s); use 2+")
    mip = ctx.props.get("mixedInstancesPolicy")
    overrides = dig(mip, "launchTemplate", "overrides")
    if is_unknown(mip) or is_unknown(overrides):
        return
    types = {dig(o, "instanceType") for o in as_list(overrides)}
    if any(is_unknown(t) for t in types):
        return
    types.discard(None)
    if len(types) < 2:
        report(f"{ctx.name}: prod autoscaling group has {len(types)} instance type(s); list 2+ in mixedInstancesPolicy")


def _asg_launch_template(ctx: Ctx, report: Report) -> None:
    if ctx.type == NODE_GROUP:
        if ctx.props.get("launchTemplate") is None:
            report(f"{ctx.name}: node group has no launchTemplate (EKS then writes one the pack cannot check)")
        return
    if ctx.props.get("launchConfiguration") is not None:
        report(f"{ctx.name}: uses a launch configuration; use a launch template")
    elif ctx.props.get("launchTemplate") is None and ctx.props.get("mixedInstancesPolicy") is None:
        report(f"{ctx.name}: has neither launchTemplate nor mixedInstancesPolicy.launchTemplate")


# -- ECS -------------------------------------------------------------------------------------------------

_ROOT_USERS = re.compile(r"^(root|0)(:.*)?$")


def _ecs_non_root(ctx: Ctx, report: Report) -> None:
    family = dig(ctx.props, "runtimePlatform", "operatingSystemFamily")
    if isinstance(family, str) and family.upper().startswith("WINDOWS"):
        return
    for c in _containers(ctx, lambda _m: None) or []:
        user = c.get("user")
        if is_unknown(user):
            continue
        if not user or _ROOT_USERS.match(str(user).strip()):
            report(f"{ctx.name}: container {_cname(c)} runs as {user or 'the image default (root for vLLM)'}")


def _ecs_host_namespaces(ctx: Ctx, report: Report) -> None:
    for prop in ("networkMode", "pidMode"):
        if ctx.props.get(prop) == "host":
            report(f"{ctx.name}: {prop} is host")


def _ecs_service_public_ip(ctx: Ctx, report: Report) -> None:
    if is_true(dig(ctx.props, "networkConfiguration", "assignPublicIp")):
        report(f"{ctx.name}: networkConfiguration.assignPublicIp is true")


# -- logs, alarms ----------------------------------------------------------------------------------------


def _log_retention_prod(ctx: Ctx, report: Report) -> None:
    if _env(ctx) != "prod":
        return
    days = as_number(ctx.props.get("retentionInDays"))
    minimum = as_number(ctx.config.get("minRetentionDays")) or 365
    if days is not None and 0 < days < minimum:  # unset or 0: never expires
        report(f"{ctx.name}: retentionInDays {fmt_num(days)} is below {fmt_num(minimum)} in prod")


def _alarm_actions(ctx: Ctx, report: Report) -> None:
    actions = ctx.props.get("alarmActions")
    if _env(ctx) == "prod" and not is_unknown(actions) and not as_list(actions):
        report(f"{ctx.name}: alarm has no alarmActions")
    enabled = ctx.props.get("actionsEnabled")
    if enabled is not None and not is_unknown(enabled) and not is_true(enabled):
        report(f"{ctx.name}: actionsEnabled is {enabled!r}")


# -- network -----------------------------------------------------------------------------------------------


def _subnet_public_ip(ctx: Ctx, report: Report) -> None:
    if is_true(ctx.props.get("mapPublicIpOnLaunch")):
        report(f"{ctx.name}: mapPublicIpOnLaunch is true")


def _default_sg_closed(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    vpcs = [r for r in resources if r.type == VPC]
    defaults = [r for r in resources if r.type == DEFAULT_SG]
    for sg in defaults:
        open_ = [d for d in ("ingress", "egress") if not is_unknown(sg.props.get(d)) and as_list(sg.props.get(d))]
        if open_:
            report(f"{sg.name}: the VPC's default security group keeps {' and '.join(open_)} rules", sg.urn)
    matching = match_companions(vpcs, defaults, "vpcId", ("id",))
    report_missing(
        vpcs,
        matching,
        report,
        "default security groups",
        lambda v: f"{v.name}: no aws:ec2/defaultSecurityGroup strips this VPC's default security group",
    )


def _vpc_flow_logs(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    vpcs = [r for r in resources if r.type == VPC]
    logs = [r for r in resources if r.type == FLOW_LOG]
    for f in logs:
        traffic = f.props.get("trafficType")
        if not is_unknown(traffic) and traffic not in ("ALL", "REJECT"):
            report(f"{f.name}: trafficType {traffic!r} records no rejected traffic (ALL or REJECT)", f.urn)
    matching = match_companions(vpcs, logs, "vpcId", ("id",))
    report_missing(vpcs, matching, report, "flow logs", lambda v: f"{v.name}: VPC has no aws:ec2/flowLog")


def _instance_roles(resources: list[Res], roles: list[Res]) -> list[tuple[Res, Res]]:
    """(launcher, its instance role): instance profiles (`role`), EKS managed node groups (`nodeRoleArn`) and
    Karpenter EC2NodeClasses (`spec.role`, a role name: Karpenter creates the instance profile itself)."""
    found = []
    for r in resources:
        if r.type == INSTANCE_PROFILE:
            role = next((x for x in roles if refers_to(r, "role", x, ("name", "id")) is True), None)
        elif r.type == NODE_GROUP:
            role = next((x for x in roles if refers_to(r, "nodeRoleArn", x, ("arn",)) is True), None)
        elif r.type == NODE_CLASS:
            name = dig(r.props, "spec", "role")
            known = isinstance(name, str) and not is_unknown(name)
            role = next((x for x in roles if known and x.props.get("name") == name), None)
        else:
            continue
        if role is not None:  # otherwise the role is not decidable here (or not in this stack)
            found.append((r, role))
    return found


def _ssm_instance_profiles(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    roles = [r for r in resources if r.type == IAM_ROLE]
    attachments = [r for r in resources if r.type == ROLE_ATTACHMENT]
    for profile, role in _instance_roles(resources, roles):
        arns = [a for a in as_list(role.props.get("managedPolicyArns")) if isinstance(a, str)]
        for a in attachments:
            if refers_to(a, "role", role, ("name", "id")) is not False:
                arns.append(a.props.get("policyArn"))
        if any(is_unknown(a) for a in arns):
            continue
        if not any(isinstance(a, str) and SSM_CORE.match(a) for a in arns):
            report(
                f"{profile.name}: instance role {role.name} lacks AmazonSSMManagedInstanceCore (SSM can't manage it)",
                profile.urn,
            )


# -- policies: public principals, wildcards, decrypt-all -------------------------------------------------------


def _doc(raw: Any, name: str, report: Report) -> Any:
    try:
        return parse_json(raw)
    except ParseError as e:
        report(f"{name}: policy is not valid JSON ({e})")
        return None


def _public_allows(doc: Any) -> list[int]:
    """Allow statements for Principal * (or AWS *) without any Condition."""
    hits = []
    for i, s in enumerate(_policy_statements(doc)):
        principal = s.get("Principal")
        public = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        if s.get("Effect") == "Allow" and public and not s.get("Condition"):
            hits.append(i)
    return hits


def _not_public(ctx: Ctx, report: Report) -> None:
    doc = _doc(ctx.props.get("policy"), ctx.name, report)
    for i in _public_allows(doc):
        report(f"{ctx.name}: policy Statement[{i}] allows Principal * without a condition")


_S3_6_ACTIONS = {"s3:deletebucketpolicy", "s3:putbucketacl", "s3:putbucketpolicy", "s3:putencryptionconfiguration"}
_S3_6_ACTIONS |= {"s3:putobjectacl", "s3:*", "*"}


def _s3_policy_not_public(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    for p in (r for r in resources if r.type in BUCKET_POLICY):
        doc = _doc(p.props.get("policy"), p.name, lambda m, u=p.urn: report(m, u))
        for i in _public_allows(doc):
            report(f"{p.name}: bucket policy Statement[{i}] allows Principal * without a condition (S3.2/S3.3)", p.urn)
        for i, s in enumerate(_policy_statements(doc)):
            aws_principals = dig(s, "Principal", "AWS") if isinstance(s.get("Principal"), Mapping) else None
            actions = {str(a).lower() for a in as_list(s.get("Action"))}
            if s.get("Effect") == "Allow" and aws_principals and actions & _S3_6_ACTIONS:
                report(
                    f"{p.name}: Statement[{i}] lets other AWS principals change the bucket's policy/ACL (S3.6)", p.urn
                )


def _iam_docs(ctx: Ctx) -> list[tuple[str, Any]]:
    if ctx.type == IAM_ROLE:
        return [
            (f"inlinePolicies[{i}]", dig(p, "policy")) for i, p in enumerate(as_list(ctx.props.get("inlinePolicies")))
        ]
    return [("policy", ctx.props.get("policy"))]


def _allow_statements(ctx: Ctx, report: Report) -> list[tuple[str, int, set[str], set[str]]]:
    out = []
    for label, raw in _iam_docs(ctx):
        doc = _doc(raw, f"{ctx.name} {label}", report)
        for i, s in enumerate(_policy_statements(doc)):
            if s.get("Effect") == "Allow":
                actions = {str(a) for a in as_list(s.get("Action"))}
                out.append((label, i, actions, {str(r) for r in as_list(s.get("Resource"))}))
    return out


def _iam_service_wildcards(ctx: Ctx, report: Report) -> None:
    for label, i, actions, _resources in _allow_statements(ctx, report):
        wild = sorted(a for a in actions if re.fullmatch(r"[a-z0-9-]+:\*", a))
        if wild:
            report(f"{ctx.name}: {label} Statement[{i}] allows every action of a service: {', '.join(wild)}")


_DECRYPT = re.compile(r"^(\*|kms:\*|kms:decrypt|kms:reencryptfrom|kms:re\*|kms:de\*)$", re.I)


def _iam_decrypt_all_keys(ctx: Ctx, report: Report) -> None:
    for label, i, actions, resources in _allow_statements(ctx, report):
        if "*" in resources and any(_DECRYPT.match(a) for a in actions):
            report(f"{ctx.name}: {label} Statement[{i}] allows KMS decryption on every key (Resource *)")


def _kms_deletion_window_prod(ctx: Ctx, report: Report) -> None:
    days = as_number(ctx.props.get("deletionWindowInDays"))
    if _env(ctx) == "prod" and days is not None and days < 30:
        report(f"{ctx.name}: deletionWindowInDays {fmt_num(days)} in prod; keep 30 to undo a mistaken deletion")


# -- S3 companions -------------------------------------------------------------------------------------------


def _s3_owner_enforced(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    for acl in (r for r in resources if r.type in BUCKET_ACLS):
        report(f"{acl.name}: bucket ACL resource; disable ACLs with BucketOwnerEnforced ownership", acl.urn)

    def check(c: Res, rep: StackReport) -> None:
        ownership = dig(c.props, "rule", "objectOwnership")
        if not is_unknown(ownership) and ownership != "BucketOwnerEnforced":
            rep(f"{c.name}: objectOwnership is {ownership!r}, not BucketOwnerEnforced (ACLs stay on)", c.urn)

    _bucket_companions(resources, OWNERSHIP, "ownership controls (BucketOwnerEnforced)", check, report)


def _s3_lifecycle(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    def check(c: Res, rep: StackReport) -> None:
        rules = c.props.get("rules")
        if is_unknown(rules):
            return
        if not any(dig(r, "status") in ("Enabled",) or is_unknown(dig(r, "status")) for r in as_list(rules)):
            rep(f"{c.name}: lifecycle configuration has no Enabled rule", c.urn)

    _bucket_companions(
        resources, LIFECYCLE, "lifecycle configuration (aws:s3/bucketLifecycleConfiguration)", check, report
    )


# -- Secrets Manager / Lambda --------------------------------------------------------------------------------


def _secret_rotation(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    secrets = [r for r in resources if r.type == SECRET]
    rotations = [r for r in resources if r.type == SECRET_ROTATION]
    max_days = as_number(config.get("maxDaysSinceRotation")) or MAX_DAYS_SINCE_ROTATION
    for r in rotations:
        days = as_number(dig(r.props, "rotationRules", "automaticallyAfterDays"))
        if days is not None and days > max_days:
            report(
                f"{r.name}: rotates every {fmt_num(days)} days, more than {fmt_num(max_days)} (SecretsManager.4)", r.urn
            )
    matching = match_companions(secrets, rotations, "secretId", ("arn", "id"))
    exempt = []
    for secret in secrets:
        reason = known_tags(secret.type, secret.props).get(ROTATION_TAG)
        env = resolve_environment(config, known_tags(secret.type, secret.props))
        if reason == "third-party" or (reason == "manual" and env != "prod"):
            exempt.append(secret.urn)
    report_missing(
        [s_ for s_ in secrets if s_.urn not in exempt],
        matching,
        report,
        "secret rotations",
        lambda r: (
            f"{r.name}: secret has no aws:secretsmanager/secretRotation"
            + (" (deepseek:rotation=manual is allowed outside prod only)" if _tag(r) == "manual" else "")
        ),
    )


def _tag(r: Res) -> Any:
    return known_tags(r.type, r.props).get(ROTATION_TAG)


def _lambda_permission_not_public(ctx: Ctx, report: Report) -> None:
    principal = ctx.props.get("principal")
    if is_unknown(principal):
        return
    if principal in ("*", "arn:aws:iam::*:root"):
        report(f"{ctx.name}: lets any principal invoke the function")
    elif isinstance(principal, str) and principal.endswith(".amazonaws.com"):
        scoped = [ctx.props.get(k) for k in ("sourceAccount", "sourceArn")]
        if not any(is_unknown(v) or (isinstance(v, str) and v) for v in scoped):
            report(f"{ctx.name}: service principal {principal} without sourceAccount or sourceArn (any account's)")


def _lambda_runtime(ctx: Ctx, report: Report) -> None:
    runtime = ctx.props.get("runtime")
    if is_unknown(runtime) or ctx.props.get("packageType") == "Image":
        return
    allowed = tuple(ctx.config.get("runtimes") or SUPPORTED_LAMBDA_RUNTIMES)
    if runtime not in allowed:
        report(f"{ctx.name}: runtime {runtime or 'unset'} is not a supported runtime ({', '.join(allowed)})")


# -- WAF -------------------------------------------------------------------------------------------------------


def _waf_rules_and_metrics(ctx: Ctx, report: Report) -> None:
    rules = ctx.props.get("rules")
    if is_unknown(rules):
        return
    if not as_list(rules) and not ctx.props.get("ruleJson"):
        report(f"{ctx.name}: web ACL has no rules (WAF.10)")
    for i, rule in enumerate(as_list(rules)):
        enabled = dig(rule, "visibilityConfig", "cloudwatchMetricsEnabled")  # the provider's spelling
        if not is_unknown(enabled) and not is_true(enabled):
            report(f"{ctx.name}: rules[{i}] ({dig(rule, 'name')}) has cloudWatchMetricsEnabled={enabled!r} (WAF.12)")


# -- policy objects ------------------------------------------------------------------------------------------

elb_listener_tls_policy = resource_policy(
    name="elb-listener-tls-policy",
    summary="HTTPS/TLS listeners must use one of the security policies on Security Hub ELB.17's sslPolicies list "
    f"(default {', '.join(ELB_RECOMMENDED_SSL_POLICIES)}).",
    remediation="set sslPolicy to ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (TLS 1.3 and 1.2 with restricted "
    "ciphers) or a TLS 1.3-only / FIPS / PQ variant from the list.",
    types=LISTENERS,
    check=_elb_tls_policy,
    severity=Severity.MEDIUM,
    defaults={"sslPolicies": list(ELB_RECOMMENDED_SSL_POLICIES)},
    schema={"sslPolicies": {"type": "array", "items": {"type": "string"}}},
)

elb_listener_https_only_prod = resource_policy(
    name="elb-listener-https-only-prod",
    summary="Prod load balancers listen with HTTPS/TLS only: no port-80 listener, not even a redirect "
    "(an API client that sends its key over http:// has leaked it before any redirect).",
    remediation="drop the HTTP listener in prod (ModelServiceArgs.http_redirect_listener=False) and its port-80 "
    "security-group rule.",
    types=LISTENERS,
    check=_elb_https_only_prod,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

elb_desync_mitigation = resource_policy(
    name="elb-desync-mitigation",
    summary="Application Load Balancers must use defensive (the default) or strictest desync mitigation.",
    remediation="leave desyncMitigationMode unset or set it to 'defensive' / 'strictest', never 'monitor'.",
    types=LOAD_BALANCERS,
    check=_elb_desync,
    severity=Severity.MEDIUM,
)

elb_multi_az = resource_policy(
    name="elb-multi-az",
    summary="Load balancers must span subnets in at least two Availability Zones.",
    remediation="pass the public subnets of 2+ AZs (network.azCount >= 2).",
    types=LOAD_BALANCERS,
    check=_elb_multi_az,
    severity=Severity.MEDIUM,
)

autoscaling_multi_az_prod = resource_policy(
    name="autoscaling-multi-az-prod",
    summary="Prod autoscaling groups must span 2+ AZs and list 2+ instance types, so one AZ's or one type's "
    "capacity shortage cannot take the GPU pool down.",
    remediation="give the pool private subnets in 2+ AZs (network.azCount) and 2+ gpuPool.instanceTypes (a "
    "node group: 2+ subnetIds and instanceTypes).",
    types=[ASG, NODE_GROUP],
    check=_asg_multi_az_prod,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

autoscaling_launch_template = resource_policy(
    name="autoscaling-launch-template",
    summary="Autoscaling groups (and EKS managed node groups) must launch from a launch template (not a launch "
    "configuration).",
    remediation="set launchTemplate or mixedInstancesPolicy.launchTemplate; remove launchConfiguration.",
    types=[ASG, NODE_GROUP],
    check=_asg_launch_template,
    severity=Severity.MEDIUM,
)

ecs_non_root_user = resource_policy(
    name="ecs-non-root-user",
    summary="Linux containers must run as a non-root user (containerDefinitions[].user, not root/0; the vLLM "
    "image's default is root).",
    remediation="set user to the image's unprivileged user (vllm/vllm-openai ships vllm, uid 2000) with writable "
    "mounts for its caches (see ecs-read-only-root-filesystem).",
    types=[TASK_DEFINITION],
    check=_ecs_non_root,
    severity=Severity.HIGH,
)

ecs_no_host_namespaces = resource_policy(
    name="ecs-no-host-network-or-pid",
    summary="Task definitions must not share the host's network or process namespace (networkMode / pidMode host).",
    remediation="use networkMode awsvpc (own ENI and security group per task) and leave pidMode unset or 'task'.",
    types=[TASK_DEFINITION],
    check=_ecs_host_namespaces,
    severity=Severity.HIGH,
)

ecs_service_no_public_ip = resource_policy(
    name="ecs-service-no-public-ip",
    summary="ECS services must not assign public IPs to their tasks.",
    remediation="set networkConfiguration.assignPublicIp=false and run tasks in private subnets behind the ALB.",
    types=[ECS_SERVICE],
    check=_ecs_service_public_ip,
    severity=Severity.HIGH,
)

cloudwatch_log_retention_prod = resource_policy(
    name="cloudwatch-log-group-retention-prod",
    summary="Prod log groups must keep logs at least 365 days (or never expire).",
    remediation="set retentionInDays >= 365 in prod (stacks/ecs.py LOG_RETENTION_DAYS, FLOW_LOG_DAYS).",
    types=[LOG_GROUP],
    check=_log_retention_prod,
    severity=Severity.MEDIUM,
    defaults={"minRetentionDays": 365},
    schema={**_ENV_SCHEMA, "minRetentionDays": {"type": "integer", "minimum": 1}},
)

cloudwatch_alarm_actions = resource_policy(
    name="cloudwatch-alarm-actions",
    summary="Metric alarms must have their actions enabled, and in prod alarm actions (dev/staging advisory "
    "alarms are dashboard-only).",
    remediation="set alarmActions (the alarm topic) and leave actionsEnabled true.",
    types=[METRIC_ALARM],
    check=_alarm_actions,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

ec2_subnet_no_auto_public_ip = resource_policy(
    name="ec2-subnet-no-auto-public-ip",
    summary="Subnets must not assign public IPs on launch.",
    remediation="set mapPublicIpOnLaunch=false (load balancers get their addresses from AWS regardless).",
    types=[SUBNET],
    check=_subnet_public_ip,
    severity=Severity.MEDIUM,
)

ec2_default_sg_closed = stack_policy(
    name="ec2-default-security-group-closed",
    summary="Every VPC the stack creates must strip its default security group (no ingress, no egress).",
    remediation="declare aws:ec2/defaultSecurityGroup with vpcId=<vpc>.id, ingress=[] and egress=[].",
    check=_default_sg_closed,
    severity=Severity.HIGH,
)

ec2_vpc_flow_logs = stack_policy(
    name="ec2-vpc-flow-logs",
    summary="Every VPC the stack creates must have flow logs recording rejected (or all) traffic (an adopted "
    "VPC's are its owner's).",
    remediation="components/network.py VpcFlowLogs: aws:ec2/flowLog with vpcId=<vpc>.id, trafficType ALL, into a "
    "KMS-encrypted log group.",
    check=_vpc_flow_logs,
    severity=Severity.MEDIUM,
)

ssm_managed_instance_profile = stack_policy(
    name="ssm-managed-instance-profile",
    summary="Every instance role (of an instance profile, an EKS node group or a Karpenter EC2NodeClass) must "
    "carry AmazonSSMManagedInstanceCore, so Systems Manager manages the instances (Session Manager, not SSH).",
    remediation="attach arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore to the instance role.",
    check=_ssm_instance_profiles,
    severity=Severity.MEDIUM,
)

iam_no_service_wildcards = resource_policy(
    name="iam-no-service-wildcard-actions",
    summary="IAM policies (managed and inline) must not allow every action of a service ('s3:*', 'kms:*').",
    remediation="list the actions the principal needs.",
    types=[IAM_POLICY, IAM_ROLE, *IAM_INLINE],
    check=_iam_service_wildcards,
    severity=Severity.LOW,
)

iam_no_decrypt_all_keys = resource_policy(
    name="iam-no-decrypt-on-all-keys",
    summary="IAM policies (managed and inline) must not allow kms:Decrypt / kms:ReEncryptFrom on Resource '*'.",
    remediation="name the key ARNs (and add kms:ViaService where a service decrypts for the principal).",
    types=[IAM_POLICY, IAM_ROLE, *IAM_INLINE],
    check=_iam_decrypt_all_keys,
    severity=Severity.MEDIUM,
)

kms_deletion_window_prod = resource_policy(
    name="kms-key-deletion-window-prod",
    summary="Prod KMS keys must keep the longest deletion window (30 days) so a mistaken deletion can be "
    "cancelled (the key is also Pulumi-protected).",
    remediation="leave deletionWindowInDays unset or set it to 30 in prod.",
    types=[KMS_KEY],
    check=_kms_deletion_window_prod,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

kms_key_policy_not_public = resource_policy(
    name="kms-key-policy-not-public",
    summary="KMS key policies must not allow Principal '*' without a condition.",
    remediation="name the account root / roles / service principals in the key policy, with conditions for services.",
    types=[KMS_KEY],
    check=_not_public,
    severity=Severity.HIGH,
)

sns_topic_policy_not_public = resource_policy(
    name="sns-topic-policy-not-public",
    summary="SNS topic policies must not allow Principal '*' without a condition.",
    remediation="allow cloudwatch.amazonaws.com (with aws:SourceArn / aws:SourceAccount) instead of '*'.",
    types=[SNS_TOPIC, TOPIC_POLICY],
    check=_not_public,
    severity=Severity.HIGH,
)

s3_bucket_policy_not_public = stack_policy(
    name="s3-bucket-policy-not-public",
    summary="Bucket policies must not allow Principal '*' without a condition (S3.2/S3.3), nor let other AWS "
    "principals change the bucket's policy, ACLs or encryption (S3.6).",
    remediation="grant named principals specific actions (the ELB log-delivery account: s3:PutObject on the log "
    "prefix only).",
    check=_s3_policy_not_public,
    severity=Severity.HIGH,
)

s3_bucket_owner_enforced = stack_policy(
    name="s3-bucket-owner-enforced",
    summary="Every bucket must disable ACLs (ownership controls BucketOwnerEnforced) and declare no bucket ACL.",
    remediation="add aws:s3/bucketOwnershipControls with rule={objectOwnership: 'BucketOwnerEnforced'}.",
    check=_s3_owner_enforced,
    severity=Severity.MEDIUM,
)

s3_bucket_lifecycle = stack_policy(
    name="s3-bucket-lifecycle",
    summary="Every bucket must have a lifecycle configuration with an Enabled rule (expiring current and "
    "noncurrent versions).",
    remediation="add aws:s3/bucketLifecycleConfiguration with expiration and noncurrentVersionExpiration rules.",
    check=_s3_lifecycle,
    severity=Severity.LOW,
)

waf_rules_and_metrics = resource_policy(
    name="waf-web-acl-rules-and-metrics",
    summary="Web ACLs must have at least one rule (WAF.10), each with CloudWatch metrics enabled (WAF.12).",
    remediation="components/web_acl.py: rate limit, body size and AWS common rules, visibilityConfig with "
    "cloudWatchMetricsEnabled=true on each.",
    types=[WEB_ACL],
    check=_waf_rules_and_metrics,
    severity=Severity.MEDIUM,
)

secretsmanager_rotation = stack_policy(
    name="secretsmanager-rotation",
    summary="Every Secrets Manager secret rotates automatically, at most every 90 days (SecretsManager.1/.4); "
    "exempt: deepseek:rotation=third-party (a token another service issues) and, outside prod, "
    "deepseek:rotation=manual.",
    remediation="attach aws:secretsmanager/secretRotation with a rotation Lambda and rotationRules."
    "automaticallyAfterDays <= 90 (components/ecs/api_key_rotation.py).",
    check=_secret_rotation,
    severity=Severity.MEDIUM,
    defaults={"maxDaysSinceRotation": MAX_DAYS_SINCE_ROTATION},
    schema={
        **_ENV_SCHEMA,
        "maxDaysSinceRotation": {"type": "integer", "description": "Longest allowed rotation interval (days)."},
    },
)

lambda_permission_not_public = resource_policy(
    name="lambda-permission-not-public",
    summary="Lambda invoke permissions name a principal: never '*', and a service principal only with "
    "sourceAccount or sourceArn (Lambda.1).",
    remediation="grant e.g. principal 'secretsmanager.amazonaws.com' with sourceAccount=<this account>.",
    types=[LAMBDA_PERMISSION],
    check=_lambda_permission_not_public,
    severity=Severity.CRITICAL,
)

lambda_supported_runtime = resource_policy(
    name="lambda-supported-runtime",
    summary="Lambda functions run a runtime Lambda supports (not deprecated) (Lambda.2).",
    remediation="set runtime to a supported identifier, e.g. python3.13.",
    types=[LAMBDA_FUNCTION],
    check=_lambda_runtime,
    severity=Severity.MEDIUM,
    defaults={"runtimes": list(SUPPORTED_LAMBDA_RUNTIMES)},
    schema={"runtimes": {"type": "array", "items": {"type": "string"}, "description": "Allowed runtimes."}},
)


def _waf_logging(resources: list[Res], config: dict[str, Any], report: StackReport) -> None:
    acls = [r for r in resources if r.type == WEB_ACL]
    logging = [r for r in resources if r.type == WAF_LOGGING]
    for cfg in logging:
        destinations = cfg.props.get("logDestinationConfigs")
        for d in as_list(destinations) if not is_unknown(destinations) else []:
            name = d.split(":log-group:", 1)[1] if isinstance(d, str) and ":log-group:" in d else ""
            if name and not name.startswith("aws-waf-logs-"):
                report(f"{cfg.name}: log group {name} does not start with aws-waf-logs- (AWS WAF refuses it)", cfg.urn)
        redacted = cfg.props.get("redactedFields")
        if is_unknown(redacted):
            continue
        headers = {str(dig(f, "singleHeader", "name") or "").lower() for f in as_list(redacted)}
        if "authorization" not in headers:
            report(f"{cfg.name}: the authorization header (the clients' API key) is not redacted", cfg.urn)
    matching = match_companions(acls, logging, "resourceArn", ("arn",))
    report_missing(acls, matching, report, "logging configurations", lambda r: f"{r.name}: web ACL does not log")


waf_web_acl_logging = stack_policy(
    name="waf-web-acl-logging",
    summary="Every web ACL logs (aws:wafv2/webAclLoggingConfiguration) to an aws-waf-logs-* destination, with the "
    "authorization header redacted (WAF.11).",
    remediation="components/shared/web_acl.py WebAclArgs.log_group_name: a KMS-encrypted aws-waf-logs-<stack> log "
    "group and redactedFields=[{singleHeader: {name: 'authorization'}}].",
    check=_waf_logging,
    severity=Severity.MEDIUM,
)

POLICIES = [
    elb_listener_tls_policy,
    elb_listener_https_only_prod,
    elb_desync_mitigation,
    elb_multi_az,
    autoscaling_multi_az_prod,
    autoscaling_launch_template,
    ecs_non_root_user,
    ecs_no_host_namespaces,
    ecs_service_no_public_ip,
    cloudwatch_log_retention_prod,
    cloudwatch_alarm_actions,
    ec2_subnet_no_auto_public_ip,
    ec2_default_sg_closed,
    ec2_vpc_flow_logs,
    ssm_managed_instance_profile,
    iam_no_service_wildcards,
    iam_no_decrypt_all_keys,
    kms_deletion_window_prod,
    kms_key_policy_not_public,
    sns_topic_policy_not_public,
    s3_bucket_policy_not_public,
    s3_bucket_owner_enforced,
    s3_bucket_lifecycle,
    waf_rules_and_metrics,
    waf_web_acl_logging,
    secretsmanager_rotation,
    lambda_permission_not_public,
    lambda_supported_runtime,
]

__all__ = ["POLICIES"]
