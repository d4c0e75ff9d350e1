"""Rules enforcing AWS Security Hub controls on pulumi-aws v7 resources.

Which control each rule enforces, and its standard, is in controls.yaml (not here): most are FSBP, some
are in Security Hub's CIS or NIST 800-53 standards only (KMS.4 is CIS; SNS.1, S3.14, S3.17 and
CloudWatch.16 are NIST), a few have no Security Hub control at all (CWL-KMS, SM-CMK, SG-DESC).

Property names are the engine's camelCase wire names, checked against pulumi-aws 7.51's Python SDK
(`pulumi.getter(name=...)` of each resource's Args/InitArgs class).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from deepseek_policies.common import (
    UNKNOWN,
    Ctx,
    ParseError,
    Res,
    as_list,
    as_number,
    dig,
    fmt_num,
    is_set,
    is_true,
    is_unknown,
    known_tags,
    match_companions,
    name_tokens,
    parse_json,
    report_missing,
    resource_policy,
    stack_policy,
)
from deepseek_policies.config import (
    ENVIRONMENT_SCHEMA,
    PUBLIC_INGRESS_ALLOWED_PORTS,
    ROLE_ACCESS_LOGS,
    ROLE_LOAD_BALANCER,
    ROLE_TAG,
    normalize_environment,
    resolve_environment,
    stack_config_environment,
    strictest,
)

ADVISORY = EnforcementLevel.ADVISORY

# -- type tokens (pulumi-aws v7; `alb` tokens are aliases of the `lb` ones, V2 S3 tokens are deprecated
# aliases of the v7 names) ---------------------------------------------------------------------------
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
# The template ECR applies to the repositories a pull-through cache rule creates on first pull (their
# encryption is fixed at creation, so ECR.5 is decided by the template).
ECR_CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
CERTIFICATE_TYPES = (
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:lb/listenerCertificate:ListenerCertificate",
    "aws:alb/listenerCertificate:ListenerCertificate",
)
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
BUCKET_PAB = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SNS_TOPIC = "aws:sns/topic:Topic"
SECRET = "aws:secretsmanager/secret:Secret"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
WAF_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",)
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_INLINE = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy")
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
IAM_EXCLUSIVE_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
)


# ===================================================================================================
# EC2 launch templates
# ===================================================================================================


def _lt_imdsv2(ctx: Ctx, report: Callable[[str], None]) -> None:
    opts = ctx.props.get("metadataOptions")
    if is_unknown(opts):
        return
    endpoint = dig(opts, "httpEndpoint")
    tokens = dig(opts, "httpTokens")
    if is_unknown(tokens) or is_unknown(endpoint) or endpoint == "disabled":
        return
    if tokens != "required":
        report(f"{ctx.name}: metadataOptions.httpTokens is {tokens or 'unset (defaults to optional)'!s}")


def _lt_ebs_cmk(ctx: Ctx, report: Callable[[str], None]) -> None:
    mappings = ctx.props.get("blockDeviceMappings")
    if is_unknown(mappings):
        return
    ebs_mappings = [m for m in as_list(mappings) if isinstance(m, Mapping) and m.get("ebs") is not None]
    if not any(is_unknown(m) for m in as_list(mappings)) and not ebs_mappings:
        report(
            f"{ctx.name}: no blockDeviceMappings with `ebs`; the root volume inherits the AMI snapshot's "
            "(unencrypted) settings"
        )
        return
    for m in ebs_mappings:
        ebs, device = m.get("ebs"), m.get("deviceName") or "?"
        if is_unknown(ebs):
            continue
        encrypted, key = dig(ebs, "encrypted"), dig(ebs, "kmsKeyId")
        if not is_unknown(encrypted) and not is_true(encrypted):
            report(f"{ctx.name}: EBS volume {device} has encrypted={encrypted!r}")
        if not is_set(key):
            report(f"{ctx.name}: EBS volume {device} has no kmsKeyId (customer-managed KMS key required)")


def _lt_no_public_ip(ctx: Ctx, report: Callable[[str], None]) -> None:
    for i, nic in enumerate(as_list(ctx.props.get("networkInterfaces"))):
        value = dig(nic, "associatePublicIpAddress")
        if is_true(value):
            report(f"{ctx.name}: networkInterfaces[{i}].associatePublicIpAddress is true")


# ===================================================================================================
# ECS
# ===================================================================================================


def _containers(ctx: Ctx, report: Callable[[str], None]) -> list[dict[str, Any]] | None:
    try:
        defs = parse_json(ctx.props.get("containerDefinitions"))
    except ParseError as e:
        report(f"{ctx.name}: containerDefinitions is not valid JSON ({e})")
        return None
    if defs is None or is_unknown(defs):
        return None
    if not isinstance(defs, list):
        report(f"{ctx.name}: containerDefinitions must be a JSON array")
        return None
    return [c for c in defs if isinstance(c, dict)]


def _cname(c: Mapping[str, Any]) -> str:
    return str(c.get("name") or "<unnamed>")


def _ecs_not_privileged(ctx: Ctx, report: Callable[[str], None]) -> None:
    for c in _containers(ctx, report) or []:
        if is_true(c.get("privileged")):
            report(f"{ctx.name}: container {_cname(c)} sets privileged=true")


def _ecs_read_only_root(ctx: Ctx, report: Callable[[str], None]) -> None:
    for c in _containers(ctx, lambda _m: None) or []:
        if not is_unknown(c.get("readonlyRootFilesystem")) and not is_true(c.get("readonlyRootFilesystem")):
            report(f"{ctx.name}: container {_cname(c)} has a writable root filesystem")


_SECRET_NAME_WORDS = frozenset({"KEY", "APIKEY", "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "CREDENTIALS"})
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SECRET_VALUE_RES = (
    re.compile(r"\bhf_[A-Za-z0-9]{8,}"),  # Hugging Face token
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI-style API key
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


def secret_like_name(name: str) -> bool:
    """Word-wise match, so HF_TOKEN / VLLM_API_KEY / dbPassword match and TOKENIZERS_PARALLELISM does not."""
    return any(w.upper() in _SECRET_NAME_WORDS for w in _WORD_RE.findall(name))


def secret_like_value(value: str) -> bool:
    return any(r.search(value) for r in _SECRET_VALUE_RES)


def _ecs_no_env_secrets(ctx: Ctx, report: Callable[[str], None]) -> None:
    allowed = {str(n) for n in as_list(ctx.config.get("allowedNames")) if isinstance(n, str)}
    for c in _containers(ctx, lambda _m: None) or []:
        for var in as_list(c.get("environment")):
            if not isinstance(var, Mapping):
                continue
            name, value = str(var.get("name") or ""), var.get("value")
            if name in allowed:
                continue
            if isinstance(value, str) and not is_unknown(value) and secret_like_value(value):
                report(f"{ctx.name}: container {_cname(c)} env {name} holds a credential-shaped value")
            elif secret_like_name(name) and is_set(value):
                report(f"{ctx.name}: container {_cname(c)} passes {name} as a plain environment variable")


def _ecs_logging(ctx: Ctx, report: Callable[[str], None]) -> None:
    for c in _containers(ctx, lambda _m: None) or []:
        log = c.get("logConfiguration")
        if is_unknown(log):
            continue
        if not isinstance(log, Mapping) or not is_set(log.get("logDriver")):
            report(f"{ctx.name}: container {_cname(c)} has no logConfiguration.logDriver")


def _ecs_container_insights(ctx: Ctx, report: Callable[[str], None]) -> None:
    settings = ctx.props.get("settings")
    if is_unknown(settings):
        return
    values = [dig(s, "value") for s in as_list(settings) if dig(s, "name") == "containerInsights"]
    if any(is_unknown(v) or v in ("enabled", "enhanced") for v in values):
        return
    report(f"{ctx.name}: settings has no containerInsights=enabled|enhanced (found {values or 'none'})")


# ===================================================================================================
# ECR
# ===================================================================================================


def _ecr_scan_on_push(ctx: Ctx, report: Callable[[str], None]) -> None:
    value = dig(ctx.props, "imageScanningConfiguration", "scanOnPush")
    if not is_unknown(value) and not is_true(value):
        report(f"{ctx.name}: imageScanningConfiguration.scanOnPush is {value!r}")


def _ecr_immutable(ctx: Ctx, report: Callable[[str], None]) -> None:
    value = ctx.props.get("imageTagMutability")
    if not is_unknown(value) and value not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        report(f"{ctx.name}: imageTagMutability is {value or 'unset (defaults to MUTABLE)'}")


def _ecr_cmk(ctx: Ctx, report: Callable[[str], None]) -> None:
    """ECR.5: KMS with a customer-managed key. No encryptionConfigurations is AES256 (S3-managed keys); KMS
    without kmsKey, or alias/aws/ecr, is the AWS managed key (ECR user guide, "Encryption at rest")."""
    configs = ctx.props.get("encryptionConfigurations")
    if is_unknown(configs):
        return
    config = (as_list(configs) or [{}])[0]
    kind, key = dig(config, "encryptionType"), dig(config, "kmsKey")
    if is_unknown(kind) or is_unknown(key):
        return
    if kind not in ("KMS", "KMS_DSSE"):
        report(f"{ctx.name}: encryptionType is {kind or 'unset (AES256, S3-managed keys)'}, not KMS")
    elif not is_set(key) or str(key).endswith("alias/aws/ecr"):
        report(f"{ctx.name}: encryptionType {kind} with the AWS managed key (kmsKey {key or 'unset'})")


def _ecr_lifecycle(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    repos = [r for r in resources if r.type == ECR_REPOSITORY]
    policies = [r for r in resources if r.type == ECR_LIFECYCLE]
    for p in policies:
        try:
            doc = parse_json(p.props.get("policy"))
        except ParseError as e:
            report(f"{p.name}: lifecycle policy is not valid JSON ({e})", p.urn)
            continue
        if isinstance(doc, Mapping) and not as_list(doc.get("rules")):
            report(f"{p.name}: lifecycle policy has no rules", p.urn)
    matching = match_companions(repos, policies, "repository", ("name", "id"))
    report_missing(
        repos,
        matching,
        report,
        "lifecycle policies",
        lambda r: f"{r.name}: ECR repository has no aws:ecr/lifecyclePolicy:LifecyclePolicy",
    )


# ===================================================================================================
# Load balancers
# ===================================================================================================


def _is_alb(props: Mapping[str, Any]) -> bool | None:
    lb_type = props.get("loadBalancerType")
    if is_unknown(lb_type):
        return None
    return lb_type in (None, "", "application")


def _elb_drop_invalid_headers(ctx: Ctx, report: Callable[[str], None]) -> None:
    if _is_alb(ctx.props) is not True:
        return
    value = ctx.props.get("dropInvalidHeaderFields")
    if not is_unknown(value) and not is_true(value):
        report(f"{ctx.name}: dropInvalidHeaderFields is {value!r}")


def _elb_access_logs(ctx: Ctx, report: Callable[[str], None]) -> None:
    if _is_alb(ctx.props) is not True:
        return
    logs = ctx.props.get("accessLogs")
    if is_unknown(logs):
        return
    enabled, bucket = dig(logs, "enabled"), dig(logs, "bucket")
    if is_unknown(enabled):
        return
    # A computed bucket name arrives unknown in a preview (and is skipped); a missing or empty one means
    # ELB has nowhere to deliver, whatever `enabled` says.
    if not is_true(enabled):
        report(f"{ctx.name}: accessLogs not enabled (enabled={enabled!r}, bucket={bucket!r})")
    elif not is_unknown(bucket) and not (isinstance(bucket, str) and bucket.strip()):
        report(f"{ctx.name}: accessLogs enabled without a bucket (bucket={bucket!r})")


def _elb_deletion_protection(ctx: Ctx, report: Callable[[str], None]) -> None:
    env = resolve_environment(ctx.config, known_tags(ctx.type, ctx.props))
    if env != "prod":
        return
    value = ctx.props.get("enableDeletionProtection")
    if not is_unknown(value) and not is_true(value):
        report(f"{ctx.name}: enableDeletionProtection is {value!r} in environment prod")


def _elb_waf_prod(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    stack_env = stack_environment(resources, config)
    albs = []
    for r in resources:
        if r.type not in LOAD_BALANCERS or _is_alb(r.props) is False:
            continue
        env = normalize_environment(config.get("environment")) or normalize_environment(r.tags.get("environment"))
        if (env or stack_env) == "prod":
            albs.append(r)
    if not albs:
        return
    associations = [r for r in resources if r.type in WAF_ASSOCIATIONS]
    matching = match_companions(albs, associations, "resourceArn", ("arn", "id"))
    report_missing(
        albs,
        matching,
        report,
        "web ACL associations",
        lambda lb: f"{lb.name}: prod load balancer has no AWS WAF web ACL associated (aws:wafv2/webAclAssociation)",
    )


def stack_environment(resources: list[Res], config: Mapping[str, Any]) -> str:
    """Environment of a whole stack: config, else the strictest `environment` tag, else stack config."""
    env = normalize_environment(config.get("environment"))
    if env:
        return env
    tagged = strictest(normalize_environment(r.tags.get("environment")) for r in resources)
    return tagged or stack_config_environment() or "dev"


def _redirects_to_https(listener: Res) -> bool | None:
    actions = listener.props.get("defaultActions")
    if is_unknown(actions):
        return None
    actions = [a for a in as_list(actions) if a is not None]
    if not actions:
        return False
    verdicts = []
    for a in actions:
        kind, proto = dig(a, "type"), dig(a, "redirect", "protocol")
        if is_unknown(kind) or is_unknown(proto):
            return None
        verdicts.append(kind == "redirect" and str(proto).upper() == "HTTPS")
    return all(verdicts)


def _http_listeners(resources: list[Res]) -> list[Res]:
    """Listeners serving plain HTTP without redirecting to HTTPS."""
    offenders = []
    for r in resources:
        if r.type not in LISTENERS:
            continue
        protocol = r.props.get("protocol")
        if is_unknown(protocol):
            continue
        if protocol is None and is_set(r.props.get("certificateArn")):
            continue  # a listener with a certificate is HTTPS/TLS
        if protocol not in (None, "HTTP"):
            continue
        if _redirects_to_https(r) is False:
            offenders.append(r)
    return offenders


def stack_has_certificate(resources: list[Res]) -> bool:
    for r in resources:
        if r.type in CERTIFICATE_TYPES:
            return True
        if r.type in LISTENERS and (
            is_set(r.props.get("certificateArn")) or r.props.get("protocol") in ("HTTPS", "TLS")
        ):
            return True
    return False


def _elb_https_redirect(
    resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]
) -> None:
    offenders = _http_listeners(resources)
    if not offenders:
        return
    stack_env = stack_environment(resources, config)
    has_cert = stack_has_certificate(resources)
    for listener in offenders:
        env = normalize_environment(config.get("environment")) or normalize_environment(
            listener.tags.get("environment")
        )
        env = env or stack_env
        if env == "prod":
            report(f"{listener.name}: HTTP listener does not redirect to HTTPS (environment prod)", listener.urn)
        elif has_cert:
            report(
                f"{listener.name}: HTTP listener does not redirect to HTTPS although the stack has a certificate "
                f"(environment {env})",
                listener.urn,
            )


def _elb_http_without_cert(
    resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]
) -> None:
    if stack_has_certificate(resources):
        return
    stack_env = stack_environment(resources, config)
    for listener in _http_listeners(resources):
        env = normalize_environment(config.get("environment")) or normalize_environment(
            listener.tags.get("environment")
        )
        env = env or stack_env
        if env != "prod":
            report(
                f"{listener.name}: serving plain HTTP in environment {env} because the stack has no TLS certificate",
                listener.urn,
            )


# ===================================================================================================
# S3
# ===================================================================================================


def _policy_statements(doc: Any) -> list[Mapping[str, Any]]:
    if not isinstance(doc, Mapping):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def _denies_insecure_transport(doc: Any) -> bool:
    for s in _policy_statements(doc):
        if s.get("Effect") != "Deny":
            continue
        principal = s.get("Principal")
        if not (principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))):
            continue
        actions = [str(a) for a in as_list(s.get("Action"))]
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        cond = s.get("Condition")
        if not isinstance(cond, Mapping):
            continue
        secure = cond.get("Bool", {}).get("aws:SecureTransport") if isinstance(cond.get("Bool"), Mapping) else None
        if any(str(v).lower() == "false" for v in as_list(secure)):
            return True
    return False


def _bucket_companions(
    resources: list[Res],
    companion_types: tuple[str, ...],
    what: str,
    check: Callable[[Res, Callable[[str, str | None], None]], None],
    report: Callable[[str, str | None], None],
) -> None:
    buckets = [r for r in resources if r.type in BUCKETS]
    companions = [r for r in resources if r.type in companion_types]
    for c in companions:
        check(c, report)
    matching = match_companions(buckets, companions, "bucket", ("bucket", "id", "arn"))
    report_missing(buckets, matching, report, what, lambda b: f"{b.name}: bucket has no {what}")


def _s3_tls_only(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    def check(p: Res, rep: Callable[[str, str | None], None]) -> None:
        try:
            doc = parse_json(p.props.get("policy"))
        except ParseError as e:
            rep(f"{p.name}: bucket policy is not valid JSON ({e})", p.urn)
            return
        if doc is None or is_unknown(doc):
            return
        if not _denies_insecure_transport(doc):
            rep(
                f"{p.name}: bucket policy has no Deny statement for Principal * on s3:* with "
                "Condition Bool aws:SecureTransport=false",
                p.urn,
            )

    _bucket_companions(resources, BUCKET_POLICY, "bucket policy (aws:s3/bucketPolicy) denying non-TLS", check, report)


_PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _s3_public_access_block(
    resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]
) -> None:
    def check(p: Res, rep: Callable[[str, str | None], None]) -> None:
        off = [f for f in _PAB_FLAGS if not is_unknown(p.props.get(f)) and not is_true(p.props.get(f))]
        if off:
            rep(f"{p.name}: public access block flags not true: {', '.join(off)}", p.urn)

    _bucket_companions(resources, BUCKET_PAB, "public access block (aws:s3/bucketPublicAccessBlock)", check, report)


def access_log_buckets(resources: list[Res]) -> set[str]:
    """URNs of buckets that receive load-balancer access logs, which AWS lets ALBs write only with SSE-S3.

    A bucket is one if a load balancer's accessLogs depends on it (engine property dependencies) or
    names it (known value), if it carries tag `deepseek:role=access-logs`, or if its logical name has the
    tokens `logs` and `alb`/`elb`/`lb` (e.g. `serving-alb-logs`).
    """
    buckets = [r for r in resources if r.type in BUCKETS]
    urns: set[str] = set()
    for lb in (r for r in resources if r.type in LOAD_BALANCERS):
        deps = lb.property_dependencies.get("accessLogs") or []
        target = dig(lb.props, "accessLogs", "bucket")
        for b in buckets:
            if b.urn in deps or (
                isinstance(target, str)
                and not is_unknown(target)
                and target in (b.props.get("bucket"), b.props.get("id"))
            ):
                urns.add(b.urn)
    for b in buckets:
        tokens = name_tokens(b.name)
        if b.tags.get(ROLE_TAG) == ROLE_ACCESS_LOGS or ("logs" in tokens and tokens & {"alb", "elb", "lb"}):
            urns.add(b.urn)
    return urns


def _s3_sse_kms(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    log_buckets = access_log_buckets(resources)
    buckets = [r for r in resources if r.type in BUCKETS]
    configs = [r for r in resources if r.type in BUCKET_SSE]
    matching = match_companions(buckets, configs, "bucket", ("bucket", "id", "arn"))
    target_of = {c.urn: b for b in buckets for c in matching.by_target.get(b.urn, [])}
    for c in configs:
        rules = c.props.get("rules")
        if is_unknown(rules):
            continue
        algorithms = [dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in as_list(rules)]
        if any(is_unknown(a) for a in algorithms):
            continue
        bucket = target_of.get(c.urn)
        accepted = ("aws:kms", "aws:kms:dsse")
        if bucket is not None and bucket.urn in log_buckets:
            accepted = ("aws:kms", "aws:kms:dsse", "AES256")
        if not any(a in accepted for a in algorithms):
            rep_algos = algorithms or "unset"
            report(f"{c.name}: default encryption is {rep_algos}, expected one of {list(accepted)}", c.urn)
    report_missing(
        buckets,
        matching,
        report,
        "default-encryption configurations",
        lambda b: f"{b.name}: bucket has no aws:s3/bucketServerSideEncryptionConfiguration",
    )


def _s3_versioning(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    def check(v: Res, rep: Callable[[str, str | None], None]) -> None:
        status = dig(v.props, "versioningConfiguration", "status")
        if not is_unknown(status) and status != "Enabled":
            rep(f"{v.name}: versioningConfiguration.status is {status!r}", v.urn)

    _bucket_companions(resources, BUCKET_VERSIONING, "versioning (aws:s3/bucketVersioning)", check, report)


# ===================================================================================================
# Encryption at rest: KMS, CloudWatch Logs, SNS, Secrets Manager
# ===================================================================================================


def _kms_rotation(ctx: Ctx, report: Callable[[str], None]) -> None:
    spec = ctx.props.get("customerMasterKeySpec")
    usage = ctx.props.get("keyUsage")
    if is_unknown(spec) or is_unknown(usage):
        return
    if spec not in (None, "SYMMETRIC_DEFAULT") or usage not in (None, "ENCRYPT_DECRYPT"):
        return  # only symmetric encryption keys support automatic rotation
    value = ctx.props.get("enableKeyRotation")
    if not is_unknown(value) and not is_true(value):
        report(f"{ctx.name}: enableKeyRotation is {value!r}")


def _key_set(prop: str) -> Callable[[Ctx, Callable[[str], None]], None]:
    def check(ctx: Ctx, report: Callable[[str], None]) -> None:
        if not is_set(ctx.props.get(prop)):
            report(f"{ctx.name}: {prop} is not set")

    return check


# ===================================================================================================
# Security groups
# ===================================================================================================

_OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def is_load_balancer_sg(name: str, props: Mapping[str, Any], resource_type: str) -> bool:
    """Convention: tag `deepseek:role=load-balancer`, else the token `alb` in the logical or AWS name."""
    if known_tags(resource_type, props).get(ROLE_TAG) == ROLE_LOAD_BALANCER:
        return True
    return "alb" in name_tokens(name, props.get("name"), props.get("namePrefix"))


def _port_range(protocol: Any, from_port: Any, to_port: Any) -> tuple[float, float] | None:
    """(from, to), (0, 65535) for all traffic, None when unknown."""
    if is_unknown(protocol) or is_unknown(from_port) or is_unknown(to_port):
        return None
    if str(protocol) in ("-1", "all"):
        return (0.0, 65535.0)
    lo, hi = as_number(from_port), as_number(to_port)
    if lo is None and hi is None:
        return (0.0, 65535.0)
    lo = lo if lo is not None else hi
    hi = hi if hi is not None else lo
    if lo is not None and hi is not None and (lo < 0 or hi < 0):
        return (0.0, 65535.0)
    return (lo or 0.0, hi or 0.0)


def _sg_public_ingress(ctx: Ctx, report: Callable[[str], None]) -> None:
    allowed_ports = {float(p) for p in as_list(ctx.config.get("allowedPorts")) if as_number(p) is not None}
    rules: list[tuple[str, Any, tuple[float, float] | None]] = []  # (label, cidrs, port range)
    if ctx.type == SECURITY_GROUP:
        ingress = ctx.props.get("ingress")
        if is_unknown(ingress):
            return
        for i, rule in enumerate(as_list(ingress)):
            if not isinstance(rule, Mapping):
                continue
            cidrs = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
            ports = _port_range(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"))
            rules.append((f"ingress[{i}]", cidrs, ports))
    elif ctx.type == SG_INGRESS_RULE:
        p = ctx.props
        rules.append(
            (
                "rule",
                [p.get("cidrIpv4"), p.get("cidrIpv6")],
                _port_range(p.get("ipProtocol"), p.get("fromPort"), p.get("toPort")),
            )
        )
    elif ctx.type == SG_RULE:
        p = ctx.props
        if p.get("type") != "ingress":
            return
        cidrs = as_list(p.get("cidrBlocks")) + as_list(p.get("ipv6CidrBlocks"))
        rules.append(("rule", cidrs, _port_range(p.get("protocol"), p.get("fromPort"), p.get("toPort"))))
    lb_sg = is_load_balancer_sg(ctx.name, ctx.props, ctx.type)
    for label, cidrs, ports in rules:
        open_cidrs = [c for c in cidrs if c in _OPEN_CIDRS]
        if not open_cidrs or ports is None:
            continue
        lo, hi = ports
        if lb_sg and lo == hi and lo in allowed_ports:
            continue
        where = "a load-balancer security group" if lb_sg else "a security group not marked as load balancer"
        report(f"{ctx.name}: {label} allows {', '.join(open_cidrs)} on ports {fmt_num(lo)}-{fmt_num(hi)} in {where}")


def _sg_descriptions(ctx: Ctx, report: Callable[[str], None]) -> None:
    if ctx.type == SECURITY_GROUP:
        for direction in ("ingress", "egress"):
            rules = ctx.props.get(direction)
            if is_unknown(rules):
                continue
            for i, rule in enumerate(as_list(rules)):
                if isinstance(rule, Mapping) and not is_set(rule.get("description")):
                    report(f"{ctx.name}: {direction}[{i}] has no description")
    elif not is_set(ctx.props.get("description")):
        report(f"{ctx.name}: security group rule has no description")


# ===================================================================================================
# IAM
# ===================================================================================================

_ADMIN_POLICY_RE = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")
# IAM.27's parameter policyArns lists this AWS managed policy in the aws, aws-cn and aws-us-gov partitions
# (iam-controls.html#iam-27, read 2026-12-01).
_CLOUDSHELL_POLICY_RE = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AWSCloudShellFullAccess$")


def full_admin_statements(doc: Any) -> list[int]:
    """Indexes of Allow statements granting Action * (or *:*) on Resource *."""
    hits = []
    for i, s in enumerate(_policy_statements(doc)):
        if s.get("Effect") != "Allow":
            continue
        actions = {str(a) for a in as_list(s.get("Action"))}
        resources = {str(r) for r in as_list(s.get("Resource"))}
        if actions & {"*", "*:*"} and "*" in resources:
            hits.append(i)
    return hits


def _iam_documents(ctx: Ctx) -> list[tuple[str, Any]]:
    if ctx.type == IAM_ROLE:
        docs = []
        for i, inline in enumerate(as_list(ctx.props.get("inlinePolicies"))):
            docs.append((f"inlinePolicies[{i}]", dig(inline, "policy")))
        return docs
    return [("policy", ctx.props.get("policy"))]


def _iam_no_full_admin(ctx: Ctx, report: Callable[[str], None]) -> None:
    for label, raw in _iam_documents(ctx):
        try:
            doc = parse_json(raw)
        except ParseError as e:
            report(f"{ctx.name}: {label} is not valid JSON ({e})")
            continue
        for i in full_admin_statements(doc):
            report(f"{ctx.name}: {label} Statement[{i}] allows Action * on Resource *")


def _attached_policy_arns(ctx: Ctx) -> list[Any]:
    """The managed policy ARNs an attachment, a role (managedPolicyArns) or an exclusive attachment attaches."""
    if ctx.type in IAM_ATTACHMENTS:
        return [ctx.props.get("policyArn")]
    if ctx.type == IAM_ROLE:
        return as_list(ctx.props.get("managedPolicyArns"))
    return as_list(ctx.props.get("policyArns"))


def _report_attached(pattern: re.Pattern[str]) -> Callable[[Ctx, Callable[[str], None]], None]:
    def check(ctx: Ctx, report: Callable[[str], None]) -> None:
        for arn in _attached_policy_arns(ctx):
            if isinstance(arn, str) and pattern.match(arn):
                report(f"{ctx.name}: attaches {arn}")

    return check


_iam_no_admin_attachment = _report_attached(_ADMIN_POLICY_RE)
_iam_no_cloudshell_attachment = _report_attached(_CLOUDSHELL_POLICY_RE)


# ===================================================================================================
# Policy objects
# ===================================================================================================

_ENV_SCHEMA = {"environment": ENVIRONMENT_SCHEMA}

ec2_launch_template_imdsv2 = resource_policy(
    name="ec2-launch-template-imdsv2",
    summary="EC2 launch templates must require IMDSv2 (metadataOptions.httpTokens = required).",
    remediation="set metadataOptions={httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 1} "
    "on the launch template. Hop limit 1, not the 2 often suggested for containers: the ECS agent runs on the host "
    "network and needs one hop; a bridge-mode container is one hop further and must not reach the instance role "
    "(tasks get credentials from their task role, awsvpc tasks are blocked by ECS_AWSVPC_BLOCK_IMDS).",
    types=[LAUNCH_TEMPLATE],
    check=_lt_imdsv2,
)

ec2_launch_template_ebs_encrypted = resource_policy(
    name="ec2-launch-template-ebs-encrypted-cmk",
    summary="Launch-template EBS volumes must be encrypted with a customer-managed KMS key.",
    remediation="declare every EBS volume (including the root device) in blockDeviceMappings with "
    "ebs={encrypted: 'true', kmsKeyId: <aws:kms/key:Key arn>}.",
    types=[LAUNCH_TEMPLATE],
    check=_lt_ebs_cmk,
)

ec2_launch_template_no_public_ip = resource_policy(
    name="ec2-launch-template-no-public-ip",
    summary="Launch templates must not assign public IPs to network interfaces.",
    remediation="set networkInterfaces[].associatePublicIpAddress='false' (or omit it) and run GPU instances in "
    "private subnets behind NAT / VPC endpoints.",
    types=[LAUNCH_TEMPLATE],
    check=_lt_no_public_ip,
)

ecs_no_privileged = resource_policy(
    name="ecs-no-privileged-containers",
    summary="ECS containers must not run privileged.",
    remediation="remove privileged=true from containerDefinitions; GPUs are granted with "
    "resourceRequirements=[{type: 'GPU', value: '<n>'}], not privileged mode.",
    types=[TASK_DEFINITION],
    check=_ecs_not_privileged,
    severity=Severity.CRITICAL,
)

ecs_read_only_root = resource_policy(
    name="ecs-read-only-root-filesystem",
    summary="ECS containers must have a read-only root filesystem. vLLM writes to the Hugging Face cache "
    "(HF_HOME: model download), /tmp and HOME, and the torch.compile / Inductor / Triton caches "
    "(VLLM_CACHE_ROOT, TORCHINDUCTOR_CACHE_DIR, TRITON_CACHE_DIR): those paths get writable mounts, nothing else.",
    remediation="set readonlyRootFilesystem=true, mount a volume at the cache root (mountPoints) with HF_HOME, "
    "VLLM_CACHE_ROOT, TORCHINDUCTOR_CACHE_DIR, TRITON_CACHE_DIR, XDG_CACHE_HOME under it, and a tmpfs at /tmp "
    "(linuxParameters.tmpfs) with HOME=/tmp.",
    types=[TASK_DEFINITION],
    check=_ecs_read_only_root,
    severity=Severity.MEDIUM,
)

ecs_no_env_secrets = resource_policy(
    name="ecs-no-secrets-in-environment",
    summary="Secrets must not be passed as container environment variables (names like *_KEY, *_TOKEN, "
    "*_SECRET, *_PASSWORD, or hf_... / sk-... / AKIA... values).",
    remediation="store the value in Secrets Manager and reference it from containerDefinitions[].secrets "
    "[{name, valueFrom: <secret arn>}] (the execution role needs secretsmanager:GetSecretValue on it).",
    types=[TASK_DEFINITION],
    check=_ecs_no_env_secrets,
    severity=Severity.CRITICAL,
    defaults={"allowedNames": []},
    schema={
        "allowedNames": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Environment variable names that look secret but are not (exact match).",
        }
    },
)

ecs_logging = resource_policy(
    name="ecs-container-logging",
    summary="Every ECS container must have a logging configuration.",
    remediation="set containerDefinitions[].logConfiguration={logDriver: 'awslogs', options: {awslogs-group, "
    "awslogs-region, awslogs-stream-prefix}} pointing at a KMS-encrypted log group.",
    types=[TASK_DEFINITION],
    check=_ecs_logging,
    severity=Severity.MEDIUM,
)

ecs_container_insights = resource_policy(
    name="ecs-cluster-container-insights",
    summary="ECS clusters must use Container Insights.",
    remediation="set settings=[{name: 'containerInsights', value: 'enhanced'}] (or 'enabled') on the cluster.",
    types=[ECS_CLUSTER],
    check=_ecs_container_insights,
    severity=Severity.MEDIUM,
)

ecr_scan_on_push = resource_policy(
    name="ecr-scan-on-push",
    summary="ECR repositories must scan images on push.",
    remediation="set imageScanningConfiguration={scanOnPush: true} (or enable registry-level enhanced scanning).",
    types=[ECR_REPOSITORY],
    check=_ecr_scan_on_push,
    severity=Severity.MEDIUM,
)

ecr_immutable_tags = resource_policy(
    name="ecr-immutable-tags",
    summary="ECR repositories must have tag immutability configured.",
    remediation="set imageTagMutability='IMMUTABLE' and deploy images by unique tag or digest.",
    types=[ECR_REPOSITORY],
    check=_ecr_immutable,
    severity=Severity.MEDIUM,
)

ecr_repository_cmk = resource_policy(
    name="ecr-repository-cmk",
    summary="ECR repositories (and the creation template of pull-through cache repositories) must be encrypted "
    "with a customer-managed KMS key.",
    remediation="set encryptionConfigurations=[{encryptionType: 'KMS', kmsKey: <stack key ARN>}] (fixed at "
    "creation: changing it replaces the repository).",
    types=[ECR_REPOSITORY, ECR_CREATION_TEMPLATE],
    check=_ecr_cmk,
    severity=Severity.MEDIUM,
)

ecr_lifecycle_policy = stack_policy(
    name="ecr-lifecycle-policy",
    summary="Every ECR repository must have at least one lifecycle policy.",
    remediation="add an aws:ecr/lifecyclePolicy:LifecyclePolicy with repository=<repo>.name and at least one rule "
    "(e.g. expire untagged images after 7 days, keep the last N tagged images).",
    check=_ecr_lifecycle,
    severity=Severity.MEDIUM,
)

elb_https_redirect = stack_policy(
    name="elb-http-redirect-to-https",
    summary="HTTP listeners must redirect to HTTPS in prod (where elb-listener-https-only-prod allows none at "
    "all), and in any environment once the stack has a certificate (see elb-http-listener-without-certificate "
    "for non-prod stacks without one).",
    remediation="make the port-80 listener's only default action {type: 'redirect', redirect: {protocol: 'HTTPS', "
    "port: '443', statusCode: 'HTTP_301'}} and serve traffic on an HTTPS listener with certificateArn.",
    check=_elb_https_redirect,
    schema=_ENV_SCHEMA,
)

elb_http_without_certificate = stack_policy(
    name="elb-http-listener-without-certificate",
    summary="ADVISORY: a non-prod stack without a TLS certificate serves plain HTTP (API keys and prompts in "
    "cleartext).",
    remediation="set serving.certificateArn to an ACM certificate so the stack adds an HTTPS listener and the "
    "HTTP listener redirects; restrict serving.allowedCidrs meanwhile.",
    check=_elb_http_without_cert,
    level=ADVISORY,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

elb_drop_invalid_headers = resource_policy(
    name="elb-drop-invalid-headers",
    summary="Application Load Balancers must drop invalid HTTP headers.",
    remediation="set dropInvalidHeaderFields=true on the load balancer.",
    types=LOAD_BALANCERS,
    check=_elb_drop_invalid_headers,
    severity=Severity.MEDIUM,
)

elb_access_logs = resource_policy(
    name="elb-access-logs",
    summary="Application Load Balancer access logging must be enabled.",
    remediation="set accessLogs={enabled: true, bucket: <log bucket>, prefix: <stack>} with an S3 bucket whose policy "
    "allows the regional ELB log-delivery principal (SSE-S3 or SSE-KMS per AWS's ELB log-bucket requirements).",
    types=LOAD_BALANCERS,
    check=_elb_access_logs,
    severity=Severity.MEDIUM,
)

elb_deletion_protection = resource_policy(
    name="elb-deletion-protection-prod",
    summary="Load balancers in prod must have deletion protection enabled.",
    remediation="set enableDeletionProtection=true on prod load balancers (disable it explicitly before a "
    "planned teardown).",
    types=LOAD_BALANCERS,
    check=_elb_deletion_protection,
    severity=Severity.MEDIUM,
    schema=_ENV_SCHEMA,
)

elb_waf_prod = stack_policy(
    name="elb-waf-web-acl-prod",
    summary="Application Load Balancers in prod must be associated with an AWS WAF web ACL.",
    remediation="set serving.waf.enabled to auto or true: components/shared/web_acl.py declares an "
    "aws:wafv2/webAcl:WebAcl (REGIONAL, per-IP rate limit, AWS common rule set) and an "
    "aws:wafv2/webAclAssociation:WebAclAssociation with resourceArn=<load balancer arn>.",
    check=_elb_waf_prod,
    schema=_ENV_SCHEMA,
)

s3_tls_only = stack_policy(
    name="s3-bucket-tls-only",
    summary="Every S3 bucket must have a bucket policy that denies requests without TLS.",
    remediation="add an aws:s3/bucketPolicy:BucketPolicy with a statement {Effect: Deny, Principal: '*', "
    "Action: 's3:*', Resource: [<bucket arn>, <bucket arn>/*], Condition: {Bool: {'aws:SecureTransport': 'false'}}}.",
    check=_s3_tls_only,
)

s3_public_access_block = stack_policy(
    name="s3-bucket-public-access-block",
    summary="Every S3 bucket must have a public access block with all four settings true.",
    remediation="add an aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock with blockPublicAcls, "
    "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
    check=_s3_public_access_block,
    severity=Severity.CRITICAL,
)

s3_sse_kms = stack_policy(
    name="s3-bucket-sse-kms",
    summary="Every S3 bucket must default-encrypt with SSE-KMS. Exception: load-balancer access-log buckets may "
    "use SSE-S3 (AES256), the only encryption ALB log delivery supports (identified by the LB's accessLogs "
    f"reference, tag {ROLE_TAG}=access-logs, or a name with 'logs' and 'alb'/'elb'/'lb').",
    remediation="add an aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration "
    "with rules=[{applyServerSideEncryptionByDefault: {sseAlgorithm: 'aws:kms', kmsMasterKeyId: <key arn>}, "
    "bucketKeyEnabled: true}] (AES256 for ALB access-log buckets).",
    check=_s3_sse_kms,
    severity=Severity.MEDIUM,
)

s3_versioning = stack_policy(
    name="s3-bucket-versioning",
    summary="Every S3 bucket must have versioning enabled.",
    remediation="add an aws:s3/bucketVersioning:BucketVersioning with versioningConfiguration={status: 'Enabled'} "
    "(pair it with a lifecycle rule expiring noncurrent versions).",
    check=_s3_versioning,
    severity=Severity.LOW,
)

kms_key_rotation = resource_policy(
    name="kms-key-rotation",
    summary="Symmetric customer-managed KMS keys must have automatic rotation enabled.",
    remediation="set enableKeyRotation=true on the aws:kms/key:Key.",
    types=[KMS_KEY],
    check=_kms_rotation,
    severity=Severity.MEDIUM,
)

cloudwatch_log_group_kms = resource_policy(
    name="cloudwatch-log-group-kms",
    summary="CloudWatch log groups must be encrypted with a KMS key (container logs can carry prompts).",
    remediation="set kmsKeyId=<aws:kms/key:Key arn> and allow logs.<region>.amazonaws.com to use the key in its "
    "key policy.",
    types=[LOG_GROUP],
    check=_key_set("kmsKeyId"),
    severity=Severity.MEDIUM,
)

sns_topic_kms = resource_policy(
    name="sns-topic-kms",
    summary="SNS topics must be encrypted at rest with KMS.",
    remediation="set kmsMasterKeyId to a customer-managed key (or 'alias/aws/sns'); with a CMK, let "
    "cloudwatch.amazonaws.com use the key so alarms can publish.",
    types=[SNS_TOPIC],
    check=_key_set("kmsMasterKeyId"),
    severity=Severity.MEDIUM,
)

secretsmanager_cmk = resource_policy(
    name="secretsmanager-secret-cmk",
    summary="ADVISORY: Secrets Manager secrets (HF token, API key) should use a customer-managed KMS key.",
    remediation="set kmsKeyId=<aws:kms/key:Key arn> on the secret and grant the ECS execution role kms:Decrypt.",
    types=[SECRET],
    check=_key_set("kmsKeyId"),
    level=ADVISORY,
    severity=Severity.LOW,
)

ec2_sg_no_public_ingress = resource_policy(
    name="ec2-sg-no-public-ingress",
    summary="Security groups must not allow ingress from 0.0.0.0/0 or ::/0, except ports 80/443 on load-balancer "
    f"security groups (tag {ROLE_TAG}={ROLE_LOAD_BALANCER} on the group or standalone ingress rule; fallback: the "
    "token 'alb' in its name).",
    remediation="restrict cidrIpv4/cidrIpv6 to serving.allowedCidrs or reference the ALB's security group "
    "(referencedSecurityGroupId); tag the ALB security group and its ingress rules "
    f"{ROLE_TAG}={ROLE_LOAD_BALANCER}.",
    types=[SECURITY_GROUP, SG_INGRESS_RULE, SG_RULE],
    check=_sg_public_ingress,
    severity=Severity.HIGH,
    defaults={"allowedPorts": PUBLIC_INGRESS_ALLOWED_PORTS},
    schema={
        "allowedPorts": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Single ports a load-balancer security group may open to the internet.",
        }
    },
)

ec2_sg_rule_description = resource_policy(
    name="ec2-sg-rule-description",
    summary="Every security group rule must have a description.",
    remediation="set description on each ingress/egress entry or aws:vpc/securityGroupIngressRule / "
    "securityGroupEgressRule / aws:ec2/securityGroupRule (say who talks to whom and why).",
    types=[SECURITY_GROUP, SG_INGRESS_RULE, SG_EGRESS_RULE, SG_RULE],
    check=_sg_descriptions,
    severity=Severity.LOW,
)

iam_no_full_admin = resource_policy(
    name="iam-no-full-admin-statements",
    summary="IAM policies (managed and inline) must not allow Action '*' (or '*:*') on Resource '*'.",
    remediation="grant the specific actions and resource ARNs the task/instance role needs (ECR pull, logs, "
    "secrets read, S3 model bucket read).",
    types=[IAM_POLICY, IAM_ROLE, *IAM_INLINE],
    check=_iam_no_full_admin,
    severity=Severity.CRITICAL,
)

iam_no_admin_attachment = resource_policy(
    name="iam-no-administrator-access-attachment",
    summary="No principal may be attached arn:aws:iam::aws:policy/AdministratorAccess.",
    remediation="attach least-privilege managed policies (e.g. AmazonEC2ContainerServiceforEC2Role, "
    "AmazonSSMManagedInstanceCore) or a scoped customer-managed policy instead.",
    types=[*IAM_ATTACHMENTS, IAM_ROLE, *IAM_EXCLUSIVE_ATTACHMENTS],
    check=_iam_no_admin_attachment,
    severity=Severity.CRITICAL,
)

iam_no_cloudshell_attachment = resource_policy(
    name="iam-no-cloudshell-full-access-attachment",
    summary="No role, user or group may be attached arn:aws:iam::aws:policy/AWSCloudShellFullAccess (CloudShell "
    "gives sudo, internet access and file transfer: a way to move data out).",
    remediation="detach it: the platform's roles are service roles (tasks, nodes, controllers, CI deploy) that "
    "never use CloudShell; give a human operator a scoped policy instead.",
    types=[*IAM_ATTACHMENTS, IAM_ROLE, *IAM_EXCLUSIVE_ATTACHMENTS],
    check=_iam_no_cloudshell_attachment,
    severity=Severity.MEDIUM,
)

POLICIES = [
    ec2_launch_template_imdsv2,
    ec2_launch_template_ebs_encrypted,
    ec2_launch_template_no_public_ip,
    ecs_no_privileged,
    ecs_read_only_root,
    ecs_no_env_secrets,
    ecs_logging,
    ecs_container_insights,
    ecr_scan_on_push,
    ecr_immutable_tags,
    ecr_repository_cmk,
    ecr_lifecycle_policy,
    elb_https_redirect,
    elb_http_without_certificate,
    elb_drop_invalid_headers,
    elb_access_logs,
    elb_deletion_protection,
    elb_waf_prod,
    s3_tls_only,
    s3_public_access_block,
    s3_sse_kms,
    s3_versioning,
    kms_key_rotation,
    cloudwatch_log_group_kms,
    sns_topic_kms,
    secretsmanager_cmk,
    ec2_sg_no_public_ingress,
    ec2_sg_rule_description,
    iam_no_full_admin,
    iam_no_admin_attachment,
    iam_no_cloudshell_attachment,
]

__all__ = ["POLICIES", "UNKNOWN", "full_admin_statements", "secret_like_name", "secret_like_value"]
