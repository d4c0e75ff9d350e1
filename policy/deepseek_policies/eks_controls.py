"""EKS controls (Security Hub EKS.1/.2/.3/.8), the interruption queue's SQS.1/.3, the instance controls
Karpenter's EC2NodeClass answers for (EC2.3/.8/.9), and Kubernetes workload rules. Control labels and
standards come from controls.yaml.

What the pack can see of Kubernetes: the objects a stack declares through pulumi-kubernetes (pods and
their controllers, Helm releases by chart and version), not what a Helm chart renders inside the cluster.
Property names: pulumi-aws 7.51 `aws.eks.Cluster` wire names; Kubernetes objects as the API has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import Severity

from deepseek_policies.common import Ctx, as_list, dig, is_set, is_true, is_unknown, resource_policy
from deepseek_policies.more_controls import NODE_CLASS, _not_public

EKS_CLUSTER = "aws:eks/cluster:Cluster"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
# Kubernetes minors in EKS standard support on 2026-12-01 (endoflife.date/amazon-eks, read 2026-12-01):
# 1.35 until 2027-03-27, 1.36 released on EKS. Extended support fails EKS.2. 1.34's standard support ends
# 2026-12-02: a cluster planned today would be in extended support tomorrow, so it is left out.
# Operators update the list through policy config (standardSupportVersions) as EKS releases/retires minors.
EKS_STANDARD_SUPPORT = ["1.35", "1.36"]
HELM_RELEASES = ("kubernetes:helm.sh/v3:Release",)
POD = "kubernetes:core/v1:Pod"
# Controllers whose spec.template is a pod template (CronJob: spec.jobTemplate.spec.template).
POD_TEMPLATES = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:core/v1:ReplicationController",
    "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet",
)
CRON_JOB = "kubernetes:batch/v1:CronJob"
WORKLOADS = (POD, *POD_TEMPLATES, CRON_JOB)
SYSTEM_NAMESPACE = "kube-system"
AUDIT_LOGS = ("api", "audit", "authenticator")
GPU = "nvidia.com/gpu"


def _eks_public_endpoint(ctx: Ctx, report: Callable[[str], None]) -> None:
    vpc = ctx.props.get("vpcConfig")
    public = dig(vpc, "endpointPublicAccess")
    if is_unknown(vpc) or is_unknown(public) or public is False:
        return
    cidrs = dig(vpc, "publicAccessCidrs")
    if is_unknown(cidrs):
        return
    if not cidrs or any(c in ("0.0.0.0/0", "::/0") for c in as_list(cidrs)):
        # The provider leaves publicAccessCidrs to EKS when unset: EKS then admits 0.0.0.0/0.
        report(f"{ctx.name}: public API endpoint open to {', '.join(as_list(cidrs)) or '0.0.0.0/0 (default)'}")


def _eks_secrets_encryption(ctx: Ctx, report: Callable[[str], None]) -> None:
    config = ctx.props.get("encryptionConfig")
    if is_unknown(config):
        return
    resources = dig(config, "resources")
    key = dig(config, "provider", "keyArn")
    if is_unknown(resources) or "secrets" not in as_list(resources) or not (key or is_unknown(key)):
        report(f"{ctx.name}: Kubernetes secrets are not envelope-encrypted with a KMS key")


def _eks_audit_logging(ctx: Ctx, report: Callable[[str], None]) -> None:
    types = ctx.props.get("enabledClusterLogTypes")
    if is_unknown(types):
        return
    missing = [t for t in AUDIT_LOGS if t not in as_list(types)]
    if missing:
        report(f"{ctx.name}: control-plane logs missing {', '.join(missing)}")


def _eks_supported_version(ctx: Ctx, report: Callable[[str], None]) -> None:
    version = ctx.props.get("version")
    if is_unknown(version):
        return
    supported = as_list(ctx.config.get("standardSupportVersions"))
    if version not in supported:
        shown = version if version else "unset (EKS picks its default, which drifts)"
        report(f"{ctx.name}: Kubernetes {shown} is not in EKS standard support ({', '.join(supported)})")


def _sqs_encrypted(ctx: Ctx, report: Callable[[str], None]) -> None:
    """SSE-SQS (sqsManagedSseEnabled) or SSE-KMS (kmsMasterKeyId): both encrypt messages at rest."""
    sse, key = ctx.props.get("sqsManagedSseEnabled"), ctx.props.get("kmsMasterKeyId")
    if is_unknown(sse) or is_set(key) or is_true(sse):
        return
    report(f"{ctx.name}: queue is not encrypted at rest (sqsManagedSseEnabled={sse!r}, no kmsMasterKeyId)")


def _node_class_spec(ctx: Ctx) -> Mapping[str, Any]:
    spec = ctx.props.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _node_class_imdsv2(ctx: Ctx, report: Callable[[str], None]) -> None:
    """Karpenter's CRD defaults httpTokens to required; only an explicit optional fails."""
    opts = _node_class_spec(ctx).get("metadataOptions")
    tokens, endpoint = dig(opts, "httpTokens"), dig(opts, "httpEndpoint")
    if is_unknown(opts) or is_unknown(tokens) or endpoint == "disabled":
        return
    if tokens not in (None, "required"):
        report(f"{ctx.name}: metadataOptions.httpTokens is {tokens!r}; GPU nodes must require IMDSv2 tokens")


def _node_class_ebs(ctx: Ctx, report: Callable[[str], None]) -> None:
    mappings = _node_class_spec(ctx).get("blockDeviceMappings")
    if is_unknown(mappings):
        return
    if not as_list(mappings):
        report(f"{ctx.name}: no blockDeviceMappings; the root volume's encryption is left to Karpenter's defaults")
        return
    for m in as_list(mappings):
        ebs, device = dig(m, "ebs"), dig(m, "deviceName") or "?"
        if is_unknown(ebs):
            continue
        encrypted, key = dig(ebs, "encrypted"), dig(ebs, "kmsKeyID")
        if not is_unknown(encrypted) and not is_true(encrypted):
            report(f"{ctx.name}: EBS volume {device} has encrypted={encrypted!r}")
        if not is_set(key):
            report(f"{ctx.name}: EBS volume {device} has no kmsKeyID (customer-managed KMS key required)")


def _node_class_no_public_ip(ctx: Ctx, report: Callable[[str], None]) -> None:
    """Unset, the subnet's MapPublicIpOnLaunch decides, which the pack cannot see from here: require false."""
    value = _node_class_spec(ctx).get("associatePublicIPAddress")
    if is_unknown(value) or value is False:
        return
    report(f"{ctx.name}: associatePublicIPAddress is {value!r}; set false so GPU nodes never get a public IP")


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
    """The pod spec inside a workload and its namespace ("" = default)."""
    namespace = dig(props, "metadata", "namespace") or ""
    if resource_type == POD:
        return dig(props, "spec"), namespace
    if resource_type == CRON_JOB:
        return dig(props, "spec", "jobTemplate", "spec", "template", "spec"), namespace
    if resource_type.endswith(":LeaderWorkerSet"):
        return dig(props, "spec", "leaderWorkerTemplate", "workerTemplate", "spec"), namespace
    return dig(props, "spec", "template", "spec"), namespace


def containers(spec: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not isinstance(spec, Mapping):
        return []
    found = [*as_list(spec.get("initContainers")), *as_list(spec.get("containers"))]
    return [c for c in found if isinstance(c, Mapping)]


def _no_privileged(ctx: Ctx, report: Callable[[str], None]) -> None:
    spec, namespace = pod_spec(ctx.type, ctx.props)
    if namespace == SYSTEM_NAMESPACE:
        return  # node add-ons (CNI, device plugins) that must touch the host live here
    for c in containers(spec):
        context = c.get("securityContext") or {}
        if is_true(dig(context, "privileged")) or is_true(dig(context, "allowPrivilegeEscalation")):
            report(f"{ctx.name}: container {c.get('name')} runs privileged or may escalate (namespace {namespace})")


def _requests_gpu(c: Mapping[str, Any]) -> bool:
    return GPU in (dig(c, "resources", "limits") or {}) or GPU in (dig(c, "resources", "requests") or {})


def _gpu_requests(ctx: Ctx, report: Callable[[str], None]) -> None:
    spec, _ = pod_spec(ctx.type, ctx.props)
    for c in containers(spec):
        if not _requests_gpu(c):
            continue
        requests = dig(c, "resources", "requests") or {}
        missing = [r for r in ("cpu", "memory") if r not in requests]
        if GPU not in (dig(c, "resources", "limits") or {}):
            missing.append(f"limits.{GPU}")
        if missing:
            report(f"{ctx.name}: GPU container {c.get('name')} lacks {', '.join(missing)}")


def image_pinned(image: Any) -> bool:
    if not isinstance(image, str) or is_unknown(image):
        return True
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and not name.endswith(":latest")


def _images_pinned(ctx: Ctx, report: Callable[[str], None]) -> None:
    spec, _ = pod_spec(ctx.type, ctx.props)
    for c in containers(spec):
        if not image_pinned(c.get("image")):
            report(f"{ctx.name}: container {c.get('name')} image {c.get('image')} has no version tag or digest")


def _helm_chart_pinned(ctx: Ctx, report: Callable[[str], None]) -> None:
    version = ctx.props.get("version")
    if is_unknown(version):
        return
    if not isinstance(version, str) or not version or any(ch in version for ch in "^~*><x| "):
        report(f"{ctx.name}: chart {ctx.props.get('chart')} version {version!r} is not one exact version")


eks_public_endpoint = resource_policy(
    name="eks-endpoint-not-public",
    summary="EKS cluster endpoints must not be publicly accessible: public access off, or limited to "
    "explicit CIDRs (never 0.0.0.0/0, which EKS applies when none is given).",
    remediation="set vpcConfig.endpointPublicAccess=false (private endpoint only), or "
    "vpcConfig.publicAccessCidrs to the deployers' and CI's CIDRs (eks.publicAccessCidrs).",
    types=[EKS_CLUSTER],
    check=_eks_public_endpoint,
    severity=Severity.HIGH,
)

eks_supported_version = resource_policy(
    name="eks-supported-version",
    summary="EKS clusters must pin a Kubernetes minor in EKS standard support (extended support costs more and "
    "fails EKS.2).",
    remediation="set eks.kubernetesVersion to a standard-support minor (stacks/versions.py) and upgrade in place.",
    types=[EKS_CLUSTER],
    check=_eks_supported_version,
    severity=Severity.MEDIUM,
    defaults={"standardSupportVersions": EKS_STANDARD_SUPPORT},
    schema={"standardSupportVersions": {"type": "array", "items": {"type": "string"}}},
)

eks_secrets_encryption = resource_policy(
    name="eks-secrets-encrypted",
    summary="EKS clusters must use envelope encryption of Kubernetes secrets with a KMS key.",
    remediation="set encryptionConfig={resources: ['secrets'], provider: {keyArn: <stack key ARN>}}.",
    types=[EKS_CLUSTER],
    check=_eks_secrets_encryption,
    severity=Severity.MEDIUM,
)

eks_audit_logging = resource_policy(
    name="eks-audit-logging",
    summary="EKS clusters must send api, audit and authenticator control-plane logs to CloudWatch.",
    remediation="set enabledClusterLogTypes=['api', 'audit', 'authenticator'] (and create "
    "/aws/eks/<cluster>/cluster first, KMS-encrypted with a retention).",
    types=[EKS_CLUSTER],
    check=_eks_audit_logging,
    severity=Severity.MEDIUM,
)

sqs_queue_encrypted = resource_policy(
    name="sqs-queue-encrypted",
    summary="SQS queues must be encrypted at rest: SSE-SQS or SSE-KMS (Karpenter's interruption queue uses "
    "SSE-SQS as upstream does, so EventBridge needs no key grant).",
    remediation="set sqsManagedSseEnabled=true, or kmsMasterKeyId (then grant events.amazonaws.com and the "
    "consumer kms:GenerateDataKey/kms:Decrypt on the key).",
    types=[SQS_QUEUE],
    check=_sqs_encrypted,
    severity=Severity.MEDIUM,
)

sqs_queue_policy_not_public = resource_policy(
    name="sqs-queue-policy-not-public",
    summary="SQS queue policies must not allow Principal '*' without a condition.",
    remediation="name the service principals (events.amazonaws.com, sqs.amazonaws.com) instead of '*'.",
    types=[SQS_QUEUE, SQS_QUEUE_POLICY],
    check=_not_public,
    severity=Severity.HIGH,
)

karpenter_nodeclass_imdsv2 = resource_policy(
    name="karpenter-nodeclass-imdsv2",
    summary="Karpenter EC2NodeClasses must require IMDSv2 (httpTokens required, or unset: the CRD's default).",
    remediation="spec.metadataOptions: {httpTokens: required, httpPutResponseHopLimit: 1}.",
    types=[NODE_CLASS],
    check=_node_class_imdsv2,
    severity=Severity.HIGH,
)

karpenter_nodeclass_ebs_encrypted = resource_policy(
    name="karpenter-nodeclass-ebs-encrypted",
    summary="Karpenter EC2NodeClasses must declare their block devices encrypted with a customer-managed key.",
    remediation="spec.blockDeviceMappings[].ebs: {encrypted: true, kmsKeyID: <stack key ARN>}.",
    types=[NODE_CLASS],
    check=_node_class_ebs,
    severity=Severity.HIGH,
)

karpenter_nodeclass_no_public_ip = resource_policy(
    name="karpenter-nodeclass-no-public-ip",
    summary="Karpenter EC2NodeClasses must set associatePublicIPAddress false (GPU nodes live in private subnets).",
    remediation="spec.associatePublicIPAddress: false.",
    types=[NODE_CLASS],
    check=_node_class_no_public_ip,
    severity=Severity.HIGH,
)

k8s_no_privileged = resource_policy(
    name="k8s-no-privileged-pods",
    summary="Pods outside kube-system (where node add-ons live) must not run privileged or allow privilege escalation.",
    remediation="drop securityContext.privileged / allowPrivilegeEscalation; GPUs come from the "
    "nvidia.com/gpu resource through the device plugin, not from privileged mode.",
    types=WORKLOADS,
    check=_no_privileged,
    severity=Severity.CRITICAL,
)

k8s_gpu_requests = resource_policy(
    name="k8s-gpu-pod-resources",
    summary="Containers that use nvidia.com/gpu must set it as a limit and request cpu and memory, so "
    "Karpenter sizes the node for the whole pod and the scheduler does not overpack a GPU node.",
    remediation="resources: {limits: {nvidia.com/gpu: <TP>}, requests: {cpu: ..., memory: ...}}.",
    types=WORKLOADS,
    check=_gpu_requests,
    severity=Severity.HIGH,
)

k8s_images_pinned = resource_policy(
    name="k8s-images-pinned",
    summary="Container images must carry a version tag (not latest) or a sha256 digest.",
    remediation="use e.g. vllm/vllm-openai:v0.31.0 or <image>@sha256:<digest>.",
    types=WORKLOADS,
    check=_images_pinned,
    severity=Severity.HIGH,
)

helm_chart_pinned = resource_policy(
    name="helm-chart-version-pinned",
    summary="Helm releases must pin one exact chart version (the chart pins its images).",
    remediation="set version to an exact release (stacks/versions.py), never a range or empty.",
    types=HELM_RELEASES,
    check=_helm_chart_pinned,
    severity=Severity.HIGH,
)

POLICIES = [
    eks_public_endpoint,
    eks_supported_version,
    eks_secrets_encryption,
    eks_audit_logging,
    sqs_queue_encrypted,
    sqs_queue_policy_not_public,
    karpenter_nodeclass_imdsv2,
    karpenter_nodeclass_ebs_encrypted,
    karpenter_nodeclass_no_public_ip,
    k8s_no_privileged,
    k8s_gpu_requests,
    k8s_images_pinned,
    helm_chart_pinned,
]
