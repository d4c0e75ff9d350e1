"""Every check a component makes on its args is reported by the config layer first, before anything is
declared.

The component checks are read from components/**/*.py (every `problems.check(ok, path, reason)` call), so
a check added later fails `test_every_component_check_has_a_config_counterpart` until it gets a row
here: either a config value that triggers it (REACHABLE) or a reason no config value can (UNREACHABLE).

For each REACHABLE row the program is run with that value: it must stop with a ConfigError naming the
config path, with no custom resource registered. Rows marked `bypass=True` are then run again with the
config layer's own checks switched off, and the component must refuse the same value: proof that the
row maps the right config value to the right component check (not one that happens to fail elsewhere).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings

from offline.harness import run_program, stack_config
from stacks import config as stack_config_module
from stacks.errors import ConfigError

COMPONENTS = Path(__file__).resolve().parent.parent / "components"

# Components no deepseek-cloud stack config reaches.
OTHER_PROJECTS = {
    "GithubOidcRole": "built by the ci/ project from deepseek-cloud-ci:* keys (stacks/ci.py load_ci_config)",
}


def component_checks() -> set[tuple[str, str, str]]:
    """(component, path source, reason source) of every `problems.check(...)` in components/**/*.py."""
    found: set[tuple[str, str, str]] = set()
    for path in sorted(COMPONENTS.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            names = [
                ast.literal_eval(n.args[0])
                for n in ast.walk(func)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "ArgsProblems"
            ]
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check":
                    assert len(names) == 1, f"{path.name}:{node.lineno}: check outside one ArgsProblems function"
                    found.add((names[0], ast.unparse(node.args[1]), ast.unparse(node.args[2])))
    return found


def _schedule(*rules: tuple[str, str, int, int]) -> list[dict[str, Any]]:
    return [{"name": n, "cron": c, "minReplicas": lo, "maxReplicas": hi} for n, c, lo, hi in rules]


NIGHT = "cron(0 20 ? * MON-FRI *)"
MORNING = "cron(0 8 ? * MON-FRI *)"
ADOPT = {
    "deepseek-cloud:network.vpcId": "vpc-0abc",
    "deepseek-cloud:network.publicSubnetIds": ["subnet-01", "subnet-02"],
    "deepseek-cloud:network.privateSubnetIds": ["subnet-03", "subnet-04"],
}


@dataclass(frozen=True)
class Case:
    overrides: dict[str, Any]
    config_line: str  # the start of the config problem's line: `<namespace>:<path>: <reason>`
    component_path: str = ""  # the property_path the component reports for the same value
    bypass: bool = False  # True: the value passes the schema, so the component check is reachable
    stack: str = "dev"
    config: dict[str, Any] | None = field(default=None)


EKS_DEV = stack_config("eks-dev")  # EKS rows run the eks-dev stack's own config
HYBRID_EKS = stack_config("hybrid-eks")  # tiered EKS rows (stacks/eks_tiers.py)

REACHABLE: dict[tuple[str, str, str], Case] = {
    # ServingImage, ModelBucket (components/shared/)
    ("ServingImage", "'source'", "'must be build or uri'"): Case(
        {"deepseek-cloud:image.source": "registry"}, "deepseek-cloud:image.source: not an allowed value"
    ),
    ("ServingImage", "'uri'", "'must pin a digest (<image>[:tag]@sha256:<64 hex>)'"): Case(
        {
            "deepseek-cloud:image.source": "uri",
            "deepseek-cloud:image.pullThroughCache.credentialArn": (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
            ),
        },
        "deepseek-cloud:image.uri: is required with source uri",
        "uri",
        bypass=True,
    ),
    (
        "ServingImage",
        "'pullThroughCache.credentialArn'",
        "'Docker Hub needs a Secrets Manager secret named ecr-pullthroughcache/…'",
    ): Case(
        {
            "deepseek-cloud:image.source": "uri",
            "deepseek-cloud:image.uri": "docker.io/vllm/vllm-openai:v0.31.0@sha256:" + "c" * 64,
        },
        "deepseek-cloud:image.pullThroughCache.credentialArn: Docker Hub pull-through cache rules need credentials",
        "pullThroughCache.credentialArn",
        bypass=True,
    ),
    ("ModelBucket", "'revision'", "'must be a 40-hex Hugging Face commit'"): Case(
        {
            "deepseek-cloud:model.name": "deepseek-v2-lite-chat",
            "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge"],
        },
        "deepseek-cloud:model.loadFrom: deepseek-v2-lite-chat has no pinned revision",
        "revision",
        bypass=True,
    ),
    # GpuNodePool
    ("GpuNodePool", "'instanceTypes'", "'needs at least one instance type'"): Case(
        {"deepseek-cloud:gpuPool.instanceTypes": []}, "deepseek-cloud:gpuPool.instanceTypes: too short"
    ),
    ("GpuNodePool", "'instanceTypes'", "'lists a type twice'"): Case(
        {"deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge", "g6e.xlarge"]},
        "deepseek-cloud:gpuPool.instanceTypes: lists a type twice",
        "instanceTypes",
        bypass=True,
    ),
    ("GpuNodePool", "'instanceTypes'", "'the ECS GPU-optimized AMI is x86_64 only'"): Case(
        {
            "deepseek-cloud:gpuPool.instanceTypes": ["g5g.xlarge"],
            "deepseek-cloud:model.name": "deepseek-r1-distill-qwen-1.5b",
        },
        "deepseek-cloud:gpuPool.instanceTypes[0]: is arm64; the ECS GPU-optimized AMI is x86_64 only",
        "instanceTypes",
        bypass=True,
    ),
    ("GpuNodePool", "'minSize'", "'must be between 0 and maxSize'"): Case(
        {"deepseek-cloud:gpuPool.minSize": 3}, "deepseek-cloud:gpuPool.minSize: larger than", "minSize", bypass=True
    ),
    ("GpuNodePool", "'maxSize'", "'must be at least 1'"): Case(
        {"deepseek-cloud:gpuPool.maxSize": 0}, "deepseek-cloud:gpuPool.maxSize: out of range"
    ),
    ("GpuNodePool", "'targetCapacity'", "'ECS allows 1-100 percent'"): Case(
        {"deepseek-cloud:gpuPool.targetCapacity": 101}, "deepseek-cloud:gpuPool.targetCapacity: out of range"
    ),
    ("GpuNodePool", "'spot.onDemandBaseCapacity'", "'must be between 0 and maxSize'"): Case(
        {"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 3},
        "deepseek-cloud:gpuPool.spot.onDemandBaseCapacity: larger than gpuPool.maxSize",
        "spot.onDemandBaseCapacity",
        bypass=True,
    ),
    ("GpuNodePool", "'spot.onDemandPercentageAboveBaseCapacity'", "'must be 0-100'"): Case(
        {"deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity": 101},
        "deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity: out of range",
    ),
    (
        "GpuNodePool",
        "'rootVolumeGiB'",
        'f"the AMI\'s root snapshot is {AMI_SNAPSHOT_GIB} GiB; a volume cannot be smaller"',
    ): Case(
        {"deepseek-cloud:gpuPool.rootVolumeGiB": 20},
        "deepseek-cloud:gpuPool.rootVolumeGiB: smaller than the ECS GPU AMI's 30 GiB root snapshot",
        "rootVolumeGiB",
        bypass=True,
    ),
    ("GpuNodePool", "'rootVolumeGiB'", "f'gp3 volumes stop at {GP3_MAX_GIB} GiB'"): Case(
        {"deepseek-cloud:gpuPool.rootVolumeGiB": 65537}, "deepseek-cloud:gpuPool.rootVolumeGiB: out of range"
    ),
    (
        "GpuNodePool",
        "'warmPool.enabled'",
        "'a warm pool cannot be added to a group that requests Spot instances (PutWarmPool)'",
    ): Case(
        {"deepseek-cloud:gpuPool.warmPool.enabled": True, "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge"]},
        "deepseek-cloud:gpuPool.warmPool.enabled: AWS refuses a warm pool on a group that requests Spot",
        "warmPool.enabled",
        bypass=True,
    ),
    (
        "GpuNodePool",
        "'warmPool.enabled'",
        "'a warm-pool group has no mixed instances policy: exactly one instance type'",
    ): Case(
        {"deepseek-cloud:gpuPool.warmPool.enabled": True, "deepseek-cloud:gpuPool.spot.enabled": False},
        "deepseek-cloud:gpuPool.instanceTypes: a warm-pool group launches one type",
        "warmPool.enabled",
        bypass=True,
    ),
    ("GpuNodePool", "'warmPool.minSize'", "'must be between 0 and maxSize'"): Case(
        {"deepseek-cloud:gpuPool.warmPool.minSize": 3},
        "deepseek-cloud:gpuPool.warmPool.minSize: larger than gpuPool.maxSize",
        "warmPool.minSize",
        bypass=True,
    ),
    ("GpuNodePool", "'warmPool.maxGroupPreparedCapacity'", "'0 (maxSize - desired) or at least minSize'"): Case(
        {"deepseek-cloud:gpuPool.minSize": 2, "deepseek-cloud:gpuPool.warmPool.maxGroupPreparedCapacity": 1},
        "deepseek-cloud:gpuPool.warmPool.maxGroupPreparedCapacity: below gpuPool.minSize",
        "warmPool.maxGroupPreparedCapacity",
        bypass=True,
    ),
    # InferenceAlarms
    ("InferenceAlarms", "'name'", "'1–40 of A-Za-z0-9._-'"): Case(
        {}, "pulumi:stack: load balancer name ds-ssssssssssssssssssssssssssssss", "name", bypass=True, stack="s" * 31
    ),
    ("InferenceAlarms", "'environment'", "'must be dev, staging or prod'"): Case(
        {"deepseek-cloud:environment": "test"}, "deepseek-cloud:environment: not an allowed value"
    ),
    ("InferenceAlarms", "'thresholds.errorRatePercent'", "'must be in (0, 100]'"): Case(
        {"deepseek-cloud:alarms.errorRatePercent": 0.0}, "deepseek-cloud:alarms.errorRatePercent: out of range"
    ),
    ("InferenceAlarms", "'thresholds.p99LatencySeconds'", "'must be in (0, 3600]'"): Case(
        {"deepseek-cloud:alarms.p99LatencySeconds": 3601.0}, "deepseek-cloud:alarms.p99LatencySeconds: out of range"
    ),
    ("InferenceAlarms", "'thresholds.gpuUtilizationLowPercent'", "'needs 0 ≤ low < high ≤ 100'"): Case(
        {"deepseek-cloud:alarms.gpuUtilizationLowPercent": 95},
        "deepseek-cloud:alarms.gpuUtilizationLowPercent: not below alarms.gpuUtilizationHighPercent",
        "thresholds.gpuUtilizationLowPercent",
        bypass=True,
    ),
    ("InferenceAlarms", "'thresholds.replicaStartupMinutes'", "'must be 1–1440'"): Case(
        {"deepseek-cloud:alarms.replicaStartupMinutes": -1}, "deepseek-cloud:alarms.replicaStartupMinutes: out of range"
    ),
    ("InferenceAlarms", "'minReplicas'", "'must be ≥ 0'"): Case(
        {"deepseek-cloud:scaling.minReplicas": -1}, "deepseek-cloud:scaling.minReplicas: out of range"
    ),
    ("InferenceAlarms", "'gpuPoolMinSize'", "'must be ≥ 0'"): Case(
        {"deepseek-cloud:gpuPool.minSize": -1}, "deepseek-cloud:gpuPool.minSize: out of range"
    ),
    ("InferenceAlarms", "'topic.arn'", "'must be an SNS topic ARN'"): Case(
        {"deepseek-cloud:alarms.topicArn": "arn:aws:sns:us-east-1:oncall"},
        "deepseek-cloud:alarms.topicArn: not an SNS topic ARN",
        "topic.arn",
        bypass=True,
    ),
    ("InferenceAlarms", "'topic.emails'", "'must be email addresses'"): Case(
        {"deepseek-cloud:alarms.emails": ["oncall"]}, "deepseek-cloud:alarms.emails[0]: wrong format"
    ),
    # Dashboard
    ("Dashboard", "'name'", "'only A-Za-z0-9_- (≤255)'"): Case(
        {}, "pulumi:stack: load balancer and target group names take only letters", "name", bypass=True, stack="dev.eu"
    ),
    ("Dashboard", "'region'", "'required: metric widgets name their region'"): Case(
        {"aws:region": ""}, "aws:region: required key is missing"
    ),
    # ModelService (and its children Endpoint and ModelSecrets, whose problems it reports before declaring)
    ("ModelService", "'server.gpuMemoryUtilization'", "'must be in (0, 1]'"): Case(
        {"deepseek-cloud:model.gpuMemoryUtilization": 1.5}, "deepseek-cloud:model.gpuMemoryUtilization: out of range"
    ),
    ("Endpoint", "'certificateArn'", "'must be an ACM certificate ARN'"): Case(
        {"deepseek-cloud:serving.certificateArn": "arn:aws:acm:us-east-1:cert"},
        "deepseek-cloud:serving.certificateArn: wrong format",
    ),
    ("ModelSecrets", "key", "'must be a Secrets Manager secret ARN'"): Case(
        {"deepseek-cloud:serving.hfTokenSecretArn": "arn:aws:secretsmanager:us-east-1:hf-token"},
        "deepseek-cloud:serving.hfTokenSecretArn: not a Secrets Manager secret ARN",
        "hfTokenSecretArn",
        bypass=True,
    ),
    ("Endpoint", "f'allowedCidrs[{i}]'", "'must be an IPv4 CIDR block'"): Case(
        {"deepseek-cloud:serving.allowedCidrs": ["10.0.0.0/33"]}, "deepseek-cloud:serving.allowedCidrs[0]: "
    ),
    # Network
    ("Network", "'existing.vpcId'", "'must be a VPC id (vpc-…)'"): Case(
        {**ADOPT, "deepseek-cloud:network.vpcId": "0abc"},
        "deepseek-cloud:network.vpcId: not a VPC id",
        "existing.vpcId",
        bypass=True,
    ),
    ("Network", "f'existing.{key}'", "'needs subnets in at least two AZs'"): Case(
        {**ADOPT, "deepseek-cloud:network.privateSubnetIds": ["subnet-03"]},
        "deepseek-cloud:network.privateSubnetIds: an adopted VPC needs subnets in at least two AZs",
        "existing.privateSubnetIds",
        bypass=True,
    ),
    ("Network", "f'existing.{key}'", "'must be subnet ids'"): Case(
        {**ADOPT, "deepseek-cloud:network.publicSubnetIds": ["subnet-01", "sn-02"]},
        "deepseek-cloud:network.publicSubnetIds: not subnet ids",
        "existing.publicSubnetIds",
        bypass=True,
    ),
    ("Network", "'availabilityZones'", "'needs 2 to 6 AZs'"): Case(
        {"deepseek-cloud:network.azCount": 7}, "deepseek-cloud:network.azCount: out of range"
    ),
    ("Network", "'cidr'", "'must be a /16 to /22 block'"): Case(
        {"deepseek-cloud:network.cidr": "10.40.0.0/24"},
        "deepseek-cloud:network.cidr: prefix leaves no room for two subnets per AZ",
        "cidr",
        bypass=True,
    ),
    # ReplicaAutoscaling
    ("ReplicaAutoscaling", "'minReplicas'", "'must be between 0 and maxReplicas'"): Case(
        {"deepseek-cloud:scaling.minReplicas": 3},
        "deepseek-cloud:scaling.minReplicas: larger than scaling.maxReplicas",
        "minReplicas",
        bypass=True,
    ),
    ("ReplicaAutoscaling", "'maxReplicas'", "'must be at least 1'"): Case(
        {"deepseek-cloud:scaling.maxReplicas": 0}, "deepseek-cloud:scaling.maxReplicas: out of range"
    ),
    ("ReplicaAutoscaling", "'targetRequestsPerSecond'", "'must be above 0'"): Case(
        {"deepseek-cloud:scaling.targetQpsPerReplica": 0.0}, "deepseek-cloud:scaling.targetQpsPerReplica: out of range"
    ),
    ("ReplicaAutoscaling", "'scaleOutCooldownSeconds'", "'must be 0 or more'"): Case(
        {"deepseek-cloud:scaling.scaleOutCooldownSeconds": -1},
        "deepseek-cloud:scaling.scaleOutCooldownSeconds: out of range",
    ),
    ("ReplicaAutoscaling", "'scaleInCooldownSeconds'", "'must be 0 or more'"): Case(
        {"deepseek-cloud:scaling.scaleInCooldownSeconds": -1},
        "deepseek-cloud:scaling.scaleInCooldownSeconds: out of range",
    ),
    ("ReplicaAutoscaling", "'schedule'", "'names must be distinct'"): Case(
        {"deepseek-cloud:scaling.schedule": _schedule(("night", NIGHT, 0, 0), ("night", MORNING, 0, 1))},
        "deepseek-cloud:scaling.schedule[1].name: already names scaling.schedule[0]",
        "schedule",
        bypass=True,
    ),
    (
        "ReplicaAutoscaling",
        "f'schedule[{i}].cron'",
        "'must be cron(minutes hours day-of-month month day-of-week year)'",
    ): Case(
        {"deepseek-cloud:scaling.schedule": _schedule(("night", "cron(0  20 ? * MON-FRI *)", 0, 0))},
        "deepseek-cloud:scaling.schedule[0].cron: fields must be separated by single spaces",
        "schedule[0].cron",
        bypass=True,
    ),
    (
        "ReplicaAutoscaling",
        "f'schedule[{i}]'",
        '"needs 0 <= minReplicas <= maxReplicas <= the service\'s maxReplicas"',
    ): Case(
        {"deepseek-cloud:scaling.schedule": _schedule(("night", NIGHT, 0, 5))},
        "deepseek-cloud:scaling.schedule[0].maxReplicas: larger than scaling.maxReplicas",
        "schedule[0]",
        bypass=True,
    ),
    ("ReplicaAutoscaling", "'metric'", "'must be qps or queueDepth'"): Case(
        {"deepseek-cloud:scaling.metric": "latency"}, "deepseek-cloud:scaling.metric: not an allowed value"
    ),
    ("ModelService", "'scaling.metric'", "'must be qps or queueDepth'"): Case(
        {"deepseek-cloud:scaling.metric": "latency"}, "deepseek-cloud:scaling.metric: not an allowed value"
    ),
    ("ReplicaAutoscaling", "'targetQueueDepth'", "'must be above 0'"): Case(
        {"deepseek-cloud:scaling.targetQueueDepthPerReplica": 0.0},
        "deepseek-cloud:scaling.targetQueueDepthPerReplica: out of range",
    ),
    (
        "ReplicaAutoscaling",
        "'minReplicas'",
        "'queueDepth cannot scale from zero: no task reports a queue at zero tasks'",
    ): Case(
        {"deepseek-cloud:scaling.metric": "queueDepth", "deepseek-cloud:scaling.minReplicas": 0},
        "deepseek-cloud:scaling.minReplicas: queueDepth on ECS cannot scale from zero",
        "minReplicas",
        bypass=True,
    ),
    # ModelService: adopted secrets' keys
    (
        "ModelService",
        "'secretsKmsKeyArns'",
        "'must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>; an alias is no IAM resource)'",
    ): Case(
        {
            "deepseek-cloud:serving.apiKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf",
            "deepseek-cloud:serving.secretsKmsKeyArns": ["arn:aws:kms:us-east-1:123456789012:alias/theirs"],
        },
        "deepseek-cloud:serving.secretsKmsKeyArns[0]: wrong format",
    ),
    # ApiKeyRotation (serving.apiKeyRotationDays; ECS stacks that create their key)
    ("ApiKeyRotation", "'rotationDays'", "f'must be 1-{MAX_ROTATION_DAYS} (Security Hub SecretsManager.4)'"): Case(
        {"deepseek-cloud:serving.apiKeyRotationDays": 120},
        "deepseek-cloud:serving.apiKeyRotationDays: out of range",
    ),
    # WebAcl (serving.waf; on in dev only when enabled)
    ("WebAcl", "'rateLimitPer5Min'", "f'AWS WAF allows {MIN_RATE_LIMIT}-{MAX_RATE_LIMIT}'"): Case(
        {"deepseek-cloud:serving.waf.enabled": True, "deepseek-cloud:serving.waf.rateLimitPer5Min": 5},
        "deepseek-cloud:serving.waf.rateLimitPer5Min: out of range",
    ),
    ("WebAcl", "'maxBodyBytes'", "f'must be 0 (no rule) or above {ALB_BODY_INSPECTION_BYTES}'"): Case(
        {"deepseek-cloud:serving.waf.enabled": True, "deepseek-cloud:serving.waf.maxBodyBytes": 4096},
        "deepseek-cloud:serving.waf.maxBodyBytes: refuses prompts that fit model.maxModelLen",
        "maxBodyBytes",
        bypass=True,
    ),
    ("WebAcl", "'countRules'", "f\"not rules of {COMMON_RULE_SET}: {', '.join(unknown)}\""): Case(
        {"deepseek-cloud:serving.waf.enabled": True, "deepseek-cloud:serving.waf.countRules": ["NoSuchRule_BODY"]},
        "deepseek-cloud:serving.waf.countRules[0]: not a rule of AWSManagedRulesCommonRuleSet",
        "countRules",
        bypass=True,
    ),
    # EKS components (stack eks-dev; stacks/eks_checks.py and the eks/gpuPool schema report these first)
    ("EksCluster", "'kubernetesVersion'", "'a minor such as 1.35'"): Case(
        {"deepseek-cloud:eks.kubernetesVersion": "1.99"},
        "deepseek-cloud:eks.kubernetesVersion: unknown Kubernetes version",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    (
        "EksCluster",
        "'publicAccessCidrs'",
        "'required when the public endpoint is on (EKS would open it to 0.0.0.0/0)'",
    ): Case(
        {"deepseek-cloud:eks.publicAccessCidrs": []},
        "deepseek-cloud:eks.publicAccessCidrs: public endpoint open to everyone",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("EksCluster", "'publicAccessCidrs'", "'set without endpointPublicAccess'"): Case(
        {"deepseek-cloud:eks.endpointPublicAccess": False},
        "deepseek-cloud:eks.publicAccessCidrs: set while eks.endpointPublicAccess is false",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("EksCluster", "f'adminPrincipalArns[{i}]'", "'an IAM role ARN'"): Case(
        {"deepseek-cloud:eks.adminRoleArn": "arn:aws:iam::123456789012:user/x"},
        "deepseek-cloud:eks.adminRoleArn: wrong format",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("GpuCapacity", "'instanceTypes'", "'at least one GPU instance type'"): Case(
        {"deepseek-cloud:gpuPool.instanceTypes": []},
        "deepseek-cloud:gpuPool.instanceTypes: too short",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("GpuCapacity", "'maxSize'", "'at least 1'"): Case(
        {"deepseek-cloud:gpuPool.maxSize": 0},
        "deepseek-cloud:gpuPool.maxSize: out of range",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("GpuCapacity", "'onDemandBase'", "'0 to maxSize'"): Case(
        {"deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 5},
        "deepseek-cloud:gpuPool.spot.onDemandBaseCapacity: larger than gpuPool.maxSize",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("SystemNodeGroup", "'instanceType'", "'required'"): Case(
        {"deepseek-cloud:eks.systemPool.instanceType": ""},
        "deepseek-cloud:eks.systemPool.instanceType: String should have at least 1 character",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("SystemNodeGroup", "'size'", "'1 to 10 nodes'"): Case(
        {"deepseek-cloud:eks.systemPool.size": 11},
        "deepseek-cloud:eks.systemPool.size: out of range",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    # EKS serving (issue 12): the ScaledObject takes the scaling section as parsed.
    ("QueueAutoscaling", "'metric'", "'queueDepth or qps'"): Case(
        {"deepseek-cloud:scaling.metric": "cpu"},
        "deepseek-cloud:scaling.metric: not an allowed value",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("QueueAutoscaling", "'minReplicas'", "'at least 1 behind the router (nothing wakes a tier from zero)'"): Case(
        {"deepseek-cloud:tiers.extra.0.scaling.minReplicas": 0},
        "deepseek-cloud:tiers.extra[0].scaling.minReplicas: behind the tier router nothing wakes a tier from zero",
        stack="hybrid-eks",
        config=HYBRID_EKS,
    ),
    ("QueueAutoscaling", "'minReplicas'", "'0 to maxReplicas'"): Case(
        {"deepseek-cloud:scaling.minReplicas": 5},
        "deepseek-cloud:scaling.minReplicas: larger than scaling.maxReplicas",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("QueueAutoscaling", "'targetQueueDepth'", "'above 0'"): Case(
        {"deepseek-cloud:scaling.targetQueueDepthPerReplica": 0},
        "deepseek-cloud:scaling.targetQueueDepthPerReplica: out of range",
        stack="eks-dev",
        config=EKS_DEV,
    ),
    ("QueueAutoscaling", "'targetQps'", "'above 0'"): Case(
        {"deepseek-cloud:scaling.targetQpsPerReplica": 0},
        "deepseek-cloud:scaling.targetQpsPerReplica: out of range",
        stack="eks-dev",
        config=EKS_DEV,
    ),
}

# Checks on args the builder (stacks/ecs.py, stacks/observability.py, stacks/build.py) always derives.
# Children whose problems their parent reports, with its own, before declaring anything.
REPORTED_BY = {"Endpoint": "ModelService", "ModelSecrets": "ModelService"}

DEFAULTED = "the builder never sets it: the dataclass default always passes"
UNREACHABLE: dict[tuple[str, str, str], str] = {
    ("WebAcl", "'logGroupName'", "f'AWS WAF logs only to a log group named {LOG_GROUP_PREFIX}...'"): (
        "stacks/ecs.py build_web_acl names it aws-waf-logs-<stack>"
    ),
    ("ApiKeyRotation", "'functionName'", "'is required and at most 64 characters (Lambda)'"): (
        "components/ecs/service.py names it <service>-api-key-rotation from the short stack name (stacks/names.py)"
    ),
    ("ApiKeyRotation", "'logGroupName'", "'is required (CloudWatch Logs names: letters, digits and _-./#)'"): (
        "components/ecs/service.py derives it from the service's log group, /deepseek/<stack>/vllm"
    ),
    ("ModelService", "'server.image'", "'needs a pinned tag or digest, not latest'"): (
        "stacks/ecs.py passes ServingImage's <repo>@sha256 reference (an Output, not re-checked); the config's "
        "serving.image must name the Dockerfile's pinned base (stacks/config.py _weights_and_image_problems)"
    ),
    ("ModelService", "'server.modelUri'", "'is required when loading from s3'"): (
        "stacks/ecs.py sets load_from s3 only together with the ModelBucket's model URI (streamer_server_args)"
    ),
    ("EksModelServer", "'workload.server.modelUri'", "'required loading from s3'"): (
        "stacks/eks.py builds the server with stacks/ecs.py vllm_server, which sets load_from s3 only together "
        "with the ModelBucket's model URI (streamer_server_args)"
    ),
    ("ModelService", "'modelBucketArn'", "'is required when the server loads from s3'"): (
        "stacks/ecs.py passes the ModelBucket's ARN whenever it sets load_from s3"
    ),
    ("ModelService", "'modelPrefix'", "'is required when the server loads from s3'"): (
        "stacks/ecs.py passes the ModelBucket's <hfId>/<revision> prefix; model.loadFrom s3 needs a revision "
        "(stacks/config.py _weights_and_image_problems)"
    ),
    ("ModelService", "'server.streamerConcurrency'", "'must be 1-256 streamer threads'"): (
        "components/shared/cold_start.py streamer_concurrency clamps it to 8-64"
    ),
    ("ServingImage", "'repositoryName'", "'ECR repository names are lowercase letters, digits and ._/- (up to 256)'"): (
        "stacks/ecs.py names it deepseek/<stack>/vllm; stacks/names.py limits stack names"
    ),
    ("ModelBucket", "'hfId'", "'must be <owner>/<repo>'"): "the catalog's hfId (stacks/models.yaml), never config",
    ("ModelBucket", "'noncurrentDays'", "'must be 1-3650'"): DEFAULTED,
    ("WeightsSync", "'revision'", "'must be a 40-hex Hugging Face commit'"): (
        "the ModelBucket of the same revision is declared first and refuses it (row above)"
    ),
    (
        "WeightsSync",
        "'logGroupName'",
        "'must be an explicit /path name'",
    ): "stacks/ecs.py passes /deepseek/<stack>/sync-weights",
    # EKS builder (stacks/eks.py)
    ("EksCluster", "'addonVersions'", "f\"no pinned version for {', '.join(sorted(missing))}\""): (
        "stacks/versions.py ADDON_VERSIONS pins all four add-ons for every version eks.kubernetesVersion accepts"
    ),
    ("EksCluster", "'adminPrincipalArns'", "'at least one principal must administer'"): (
        "the builder always adds the deployer (getSessionContext issuer of getCallerIdentity)"
    ),
    ("EksCluster", "'clusterName'", "'1-100 letters, digits, - and _'"): (
        "the stack's short name ds-<stack> (stacks/names.py: letters, digits, hyphens; name-limit tests)"
    ),
    ("GpuCapacity", "'amiAlias'", "'al2023@vYYYYMMDD (a pinned AMI release, never @latest)'"): (
        "stacks/versions.py ami_alias(), a pinned release"
    ),
    ("GpuCapacity", "'architecture'", "'amd64 or arm64'"): "K8S_ARCH of the instance facts' architecture",
    ("GpuCapacity", "'devicePluginVersion'", "'a pinned chart version'"): "stacks/versions.py DEVICE_PLUGIN_VERSION",
    ("GpuCapacity", "'efaPluginVersion'", "'a pinned chart version'"): "stacks/versions.py EFA_PLUGIN_VERSION",
    ("GpuCapacity", "'efaInstanceTypes'", "'a subset of instanceTypes'"): (
        "stacks/eks.py passes gpuPool.instanceTypes itself (or nothing) as the EFA types"
    ),
    # Metrics collector (stacks/eks_metrics.py)
    ("CloudWatchMetrics", "'clusterName'", '"required: the metrics\' ClusterName dimension"'): (
        "the stack's short name ds-<stack>, never empty (stacks/names.py)"
    ),
    ("CloudWatchMetrics", "'region'", "'required'"): "the stack's aws:region, required by config",
    ("CloudWatchMetrics", "'logGroupName'", "'an absolute log group name'"): "/deepseek/<stack>/metrics",
    ("CloudWatchMetrics", "'podSelector'", '"the vLLM pods\' labels: an empty selector scrapes nothing"'): (
        "components/eks/workload.py Workload.labels, never empty"
    ),
    ("CloudWatchMetrics", "'collectorImage'", "'a pinned aws-otel-collector tag (never latest)'"): (
        "stacks/versions.py ADOT_COLLECTOR_IMAGE"
    ),
    ("CloudWatchMetrics", "'dcgmExporter.version'", "'a pinned chart version'"): (
        "stacks/versions.py DCGM_EXPORTER_VERSION"
    ),
    # Router log shipper on tiered EKS stacks (stacks/eks_tiers.py)
    ("RouterLogs", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("RouterLogs", "'logGroupName'", "'an absolute log group name'"): (
        "stacks/eks_tiers.py: /aws/containerinsights/ds-<stack>/application"
    ),
    ("RouterLogs", "'nodeSelector'", '"the router\'s nodes: an empty selector tails every node"'): (
        "stacks/eks_tiers.py passes the system nodes' label (SYSTEM_LABEL), as the router's nodeSelector"
    ),
    ("RouterLogs", "'chart'", "'the aws-for-fluent-bit chart and its repo'"): (
        "stacks/versions.py FLUENT_BIT_CHART and FLUENT_BIT_REPO"
    ),
    ("RouterLogs", "'chart.version'", "'an exact x.y.z chart version'"): "stacks/versions.py FLUENT_BIT_VERSION",
    ("GpuCapacity", "'maxGpusPerInstance'", "'at least 1'"): (
        "the largest GPU count of gpuPool.instanceTypes, which the config requires to be GPU types"
    ),
    ("GpuCapacity", "'rootVolumeIops'", "f'gp3 takes {GP3_MIN_IOPS}-{GP3_MAX_IOPS} IOPS'"): DEFAULTED,
    (
        "GpuCapacity",
        "'rootVolumeThroughputMibps'",
        "f'gp3 allows at most {GP3_MIBPS_PER_IOPS} MiB/s per provisioned IOPS'",
    ): DEFAULTED,
    ("GpuCapacity", "'rootVolumeThroughputMibps'", "f'gp3 takes {GP3_MIN_MIBPS}-{GP3_MAX_MIBPS} MiB/s'"): DEFAULTED,
    ("Karpenter", "'accountId'", "'a 12-digit AWS account id'"): "getCallerIdentity's account id",
    ("Karpenter", "'chart'", '"Karpenter\'s OCI chart reference"'): "stacks/versions.py KARPENTER_CHART",
    ("Karpenter", "'chartVersion'", "'an exact x.y.z version'"): "stacks/versions.py KARPENTER_VERSION",
    ("Karpenter", "'clusterName'", "'required (known at plan time)'"): "the stack's short name ds-<stack>",
    ("Karpenter", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("Karpenter", "'replicas'", "'1 to 3'"): "min(2, eks.systemPool.size); the schema keeps size at 1 or more",
    ("SystemNodeGroup", "'rootVolumeGib'", "'the AL2023 AMI needs 20 GiB or more'"): DEFAULTED,
    # EKS serving builder (stacks/eks.py build_serving; issue 12)
    ("EksModelServer", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("EksModelServer", "'kmsKeyArns'", "'at least the stack key'"): (
        "the builder always passes the stack key's ARN (plus serving.secretsKmsKeyArns)"
    ),
    ("EksModelServer", "'secretGrants'", "'the API key and HF token secrets'"): (
        "ModelSecrets always yields both grants (created or adopted secrets)"
    ),
    (
        "EksModelServer",
        "'workload.drainSeconds'",
        "f'drain plus stop timeout must finish inside the {workload.SPOT_NOTICE_SECONDS} s spot notice'",
    ): "EndpointArgs' deregistration delay and VllmServer's stop timeout, both defaulted (no config key)",
    (
        "EksModelServer",
        "'workload.nodesPerReplica'",
        '"equals the server\'s pipeline-parallel size (one pipeline stage per node)"',
    ): "both come from the sizing's nodes_per_replica (stacks/ecs.py vllm_server, stacks/eks.py)",
    ("EksModelServer", "'workload.nodesPerReplica'", "'at least 1'"): "the sizing's nodes per replica, 1 or more",
    ("EksModelServer", "'workload.server.tensorParallelSize'", "'at least 1'"): "the sizing's degree, 1 or more",
    ("QueueAutoscaling", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("QueueAutoscaling", "'target'", "'apiVersion, kind and name'"): (
        "stacks/eks.py targets its own Deployment or LeaderWorkerSet"
    ),
    ("ServingAddons", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("ServingAddons", "f'{key}.chart'", "'required'"): "stacks/versions.py serving_addons() chart names",
    ("ServingAddons", "f'{key}.version'", "'an exact x.y.z chart version'"): (
        "stacks/versions.py pins each serving add-on chart to an exact release"
    ),
    ("WebAcl", "'resourceArn'", "'is required (the load balancer to protect)'"): "the ECS builder passes its ALB",
    ("WebAcl", "'metricPrefix'", "'letters, digits and #:.-/_ only'"): (
        "the stack's short name ds-<stack>, which stacks/names.py limits to letters, digits and hyphens"
    ),
    ("GpuNodePool", "'clusterName'", "'is required'"): "ModelService passes its own cluster's name",
    ("GpuNodePool", "'rootVolumeThroughputMibps'", "f'gp3 takes {GP3_MIN_MIBPS}-{GP3_MAX_MIBPS} MiB/s'"): DEFAULTED,
    (
        "GpuNodePool",
        "'rootVolumeThroughputMibps'",
        "f'gp3 allows at most {GP3_MIBPS_PER_IOPS} MiB/s per provisioned IOPS'",
    ): DEFAULTED,
    ("GpuNodePool", "'rootVolumeIops'", "f'gp3 takes {GP3_MIN_IOPS}-{GP3_MAX_IOPS} IOPS'"): DEFAULTED,
    ("GpuNodePool", "'prepullImage'", "'a warm pool needs the image to pre-pull'"): (
        "ModelService passes its server image (stacks/ecs.py: ServingImage.image_ref)"
    ),
    ("EksWeightsSync", "'revision'", "'must be a 40-hex Hugging Face commit'"): (
        "built only with the model bucket, which needs the catalog's pinned revision (ModelBucket row)"
    ),
    ("EksWeightsSync", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("EksWeightsSync", "'hfTokenGrant'", '"the HF token secret\'s ARN or name pattern"'): (
        "ModelSecrets.grants[1]: the created or adopted HF token secret"
    ),
    ("GpuNodePool", "'warmPool.prepullTimeoutSeconds'", "'a lifecycle hook times out after 30-7200 s'"): DEFAULTED,
    ("GpuNodePool", "'containerStopTimeoutSeconds'", "'must end before the 2-minute spot interruption'"): DEFAULTED,
    ("GpuNodePool", "'ingressPortRange'", "'must be a port range within 1-65535'"): "ModelService passes vLLM's port",
    (
        "InferenceAlarms",
        "'serviceName'",
        "'clusterName and serviceName come together (Container Insights needs both dimensions)'",
    ): "the ECS builder's ServingEndpoint sets both",
    ("InferenceAlarms", "'topic.arn'", "'adopt a topic or skip notifications, not both'"): "skip is never set",
    ("InferenceAlarms", "'topic.emails'", "'nobody is notified when the topic is skipped'"): "skip is never set",
    (
        "InferenceAlarms",
        "'kmsKeyArn'",
        "'required to create the topic: alarms and EventBridge can only publish to a topic encrypted with a "
        "customer-managed key that grants them use'",
    ): "the ECS builder always passes the stack key's ARN",
    ("Dashboard", "'serviceName'", "'clusterName and serviceName come together'"): "ServingEndpoint sets both",
    ("StackKey", "'deletionWindowInDays'", "'KMS allows 7 to 30 days'"): "30 in prod, 7 elsewhere (stacks/ecs.py)",
    (
        "StackKey",
        "'existingKeyArn'",
        "'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)'",
    ): "the stacks never adopt a key",
    # Tiered serving: stacks/tiers.py tier_problems rejects these configs first (tests/test_tiers.py).
    ("RouterSpec", "'defaultTier'", "'must name one of the tiers'"): "router_spec always lists tiers.defaultName",
    ("RouterSpec", "'fallbacks'", "'unknown tier'"): "tiers.fallbacks.<tier>: unknown tier (tier_problems)",
    ("RouterSpec", "'routerModel'", '"must not be a tier\'s model name"'): "tiers.routerModel: is a tier's model name",
    ("RouterSpec", "'tiers'", "'names must be distinct'"): "tiers.extra: tier names must be distinct",
    ("RouterSpec", "'tiers'", "'served model names must be distinct'"): "each tier serves its own catalog model name",
    ("RouterSpec", "f'rules[{i}].header'", "'is required for a header rule'"): "tiers.rules[i].header (tier_problems)",
    ("RouterSpec", "f'rules[{i}].maxPromptTokens'", "'must be above 0'"): "tiers.rules[i].maxPromptTokens",
    ("RouterSpec", "f'rules[{i}].tier'", "'must name one of the tiers'"): "tiers.rules[i].tier: unknown tier",
    ("TierRouter", "'image'", "'must be pinned by digest'"): "the image is components/shared/router.py IMAGE",
    (
        "TierRouter",
        "'logGroupName'",
        "'must be an explicit /path name'",
    ): "stacks/ecs_tiers.py: /deepseek/<stack>/router",
    ("TierRouter", "'minReplicas'", "'must be 1..maxReplicas'"): "tiers.router.minReplicas ≥ 1 (pydantic)",
    ("TierRouter", "'tierUrls'", "'one per tier'"): "stacks/ecs_tiers.py passes one URL per spec tier",
    ("TierRouter", "'tiers'", "'at least one tier'"): "built only when tiers.extra is not empty",
    # Tiered EKS builder (stacks/eks_tiers.py)
    ("EksTierRouter", "'spec'", "'required'"): "stacks/eks_tiers.py always passes tiers.router_spec(ctx, ...)",
    ("EksTierRouter", "'tierKeySecretArns'", "'one per tier'"): "stacks/eks_tiers.py passes one key per spec tier",
    ("EksTierRouter", "'image'", "'must be pinned by digest'"): "the image is components/shared/router.py IMAGE",
    ("EksTierRouter", "'minReplicas'", "'must be 1..maxReplicas'"): "tiers.router.minReplicas ≥ 1 (pydantic)",
    (
        "EksTierRouter",
        "'logGroupName'",
        "'must be an explicit /path name'",
    ): "stacks/eks_tiers.py: /aws/containerinsights/<cluster>/application",
    ("EksTierRouter", "'region'", "'required'"): "aws:region, required and checked by the config layer",
    ("EksTierRouter", "'kmsKeyArns'", "'at least the stack key'"): "stacks/eks_tiers.py always passes the stack key",
    (
        "EksTierRouter",
        "'drainSeconds'",
        "f'drain plus stop must finish inside the {workload.SPOT_NOTICE_SECONDS} s spot notice'",
    ): "EndpointArgs.deregistration_delay_seconds (80) + 30 s stop, both fixed in code",
    ("CpuCapacity", "'tier'", '"the tier\'s name"'): "tiers.extra[].name, required by its pattern (pydantic)",
    (
        "CpuCapacity",
        "'instanceTypes'",
        "'at least one CPU instance type'",
    ): "tiers.extra[].capacity.instanceTypes: too short",
    ("CpuCapacity", "'architecture'", "'amd64 or arm64'"): "stacks/eks_tiers.py passes amd64 (the x86_64 CPU image)",
    ("CpuCapacity", "'maxSize'", "'at least 1'"): "tiers.extra[].capacity.maxSize ≥ 1 (pydantic)",
    ("CpuCapacity", "'maxVcpusPerInstance'", "'at least 1'"): "the instance facts' vCPUs (every EC2 type has some)",
    ("CpuCapacity", "'amiAlias'", "'al2023@vYYYYMMDD (a pinned AMI release, never @latest)'"): (
        "stacks/versions.py ami_alias(), the GPU pool's pinned release"
    ),
    ("QueueAutoscaling", "'modelName'", "'required behind the router'"): (
        "stacks/eks_tiers.py / stacks/eks.py pass the tier's served model name whenever behind_router"
    ),
    ("ModelService", "'server.hfModelId'", "'is required'"): "the catalog entry's hf_id (every entry has one)",
    ("ModelService", "'server.servedModelName'", "'is required'"): "model.servedModelName or the catalog key",
    ("ModelService", "'server.tensorParallelSize'", "'must be at least 1'"): "the sizing's degree, 1 or more",
    (
        "ModelService",
        "'server.memoryReservationMib'",
        '"must be at least 1024 (plus the metrics collector\'s reservation)"',
    ): "derived from the instance's memory; test_memory_reservation_of_every_gpu_type_is_enough (≥ 1024 + 128 MiB)",
    (
        "ModelService",
        "'server.sharedMemoryMib'",
        '"must be above 0 and within the vLLM container\'s memory reservation"',
    ): "half the memory reservation, at most 16 GiB (the collector's 128 MiB leave more than half to vLLM)",
    ("ModelService", "'collectorImage'", "'a pinned aws-otel-collector tag or digest (never latest)'"): (
        "stacks/ecs.py passes stacks/versions.py ADOT_COLLECTOR_IMAGE, a pinned tag (EKS's)"
    ),
    ("ModelService", "'scaling.metric'", '"queueDepth needs vLLM\'s metrics: set collectorImage"'): (
        "stacks/ecs.py always passes the collector image to the service that scales on scaling.metric"
    ),
    (
        "ReplicaAutoscaling",
        "'servingMetrics'",
        '"queueDepth needs where vLLM\'s queue depth is published (the metrics sidecar)"',
    ): ("ModelService hands its VllmMetrics' series whenever it has a collector image, which queueDepth requires"),
    ("ModelService", "'server.stopTimeoutSeconds'", "'ECS allows 2-120 s'"): DEFAULTED,
    (
        "ModelService",
        "'deregistrationDelaySeconds'",
        "'drain plus stop timeout must finish inside the 120 s spot interruption notice'",
    ): DEFAULTED,
    ("Endpoint", "'deregistrationDelaySeconds'", "'ALB allows 0-3600'"): DEFAULTED,
    ("Endpoint", "'idleTimeoutSeconds'", "'ALB allows 1-4000 s'"): DEFAULTED,
    ("ModelService", "'logGroupName'", "'must be an explicit /path name'"): "/deepseek/<stack>/vllm",
    (
        "ModelService",
        "'logRetentionDays'",
        "'must be a CloudWatch Logs retention value (e.g. 30, 90, 365)'",
    ): "30/90/365 by environment (stacks/ecs.py)",
    (
        "ModelSecrets",
        "'recoveryWindowDays'",
        "'Secrets Manager allows 0 (no recovery) or 7-30'",
    ): "0/7/30 by environment (stacks/ecs.py)",
    (
        "ModelSecrets",
        "'namePrefix'",
        "'is required to create secrets and may hold letters, digits and /_+=.@-'",
    ): "deepseek/<stack>; Pulumi stack names hold only letters, digits, -, _ and .",
    ("ModelService", "'deploymentMinimumHealthyPercent'", "'must be 0-100'"): "50 or 100 (stacks/ecs.py)",
    ("ModelService", "'deploymentMaximumPercent'", "'must be 100-200'"): DEFAULTED,
    ("Network", "'availabilityZones'", "'lists an AZ twice'"): "the first azCount of AWS's own AZ list",
    (
        "VpcFlowLogs",
        "'kmsKeyArn'",
        "'is required (flow logs name every peer the tasks talk to)'",
    ): "the stack key's ARN (stacks/ecs.py)",
    ("VpcFlowLogs", "'logGroupName'", "'must be an explicit /path name'"): "/deepseek/<stack>/vpc-flow-logs",
    ("VpcFlowLogs", "'maxAggregationInterval'", "'must be 60 or 600'"): DEFAULTED,
    (
        "VpcFlowLogs",
        "'retentionDays'",
        "'must be a CloudWatch Logs retention value'",
    ): "30/90/365 by environment (stacks/ecs.py FLOW_LOG_DAYS)",
    ("Network", "'cidr'", "str(exc)"): "str() of the CIDR the schema already parsed",
}


def test_every_component_check_has_a_config_counterpart():
    checks = {c for c in component_checks() if c[0] not in OTHER_PROJECTS}
    missing = sorted(checks - REACHABLE.keys() - UNREACHABLE.keys())
    assert not missing, "component checks with no config-level counterpart (add a config check and a row):\n" + (
        "\n".join(map(repr, missing))
    )
    stale = sorted((REACHABLE.keys() | UNREACHABLE.keys()) - checks)
    assert not stale, f"rows for checks that no longer exist: {stale}"
    assert not REACHABLE.keys() & UNREACHABLE.keys()


def test_the_walk_finds_the_checks_it_maps():
    # A walk that found nothing would make the test above pass vacuously.
    checks = component_checks()
    assert len(checks) >= len(REACHABLE) + len(UNREACHABLE)
    assert ("ReplicaAutoscaling", "'schedule'", "'names must be distinct'") in checks
    assert {c[0] for c in checks} >= {"GpuNodePool", "InferenceAlarms", "Dashboard", "ModelService", "Network"}


def _run(case: Case):
    config = case.config or (stack_config("dev") if case.stack != "dev" else None)
    return run_program(case.stack, overrides=case.overrides, config=config)


@pytest.mark.parametrize("key", sorted(REACHABLE), ids=lambda k: f"{k[0]}.{k[1]}")
def test_config_reports_it_before_anything_is_declared(key):
    case = REACHABLE[key]
    with pytest.raises(ConfigError) as caught:
        _run(case)
    lines = [str(p) for p in caught.value.problems]
    assert any(line.startswith(case.config_line) for line in lines), lines
    assert [r.type for r in settings.SETTINGS.monitor.registrations if r.custom] == []


@pytest.mark.parametrize("key", sorted(k for k, c in REACHABLE.items() if c.bypass), ids=lambda k: f"{k[0]}.{k[1]}")
def test_the_component_refuses_the_same_value(key, monkeypatch):
    case = REACHABLE[key]
    monkeypatch.setattr(stack_config_module, "_cross_field_problems", lambda sections: [])
    monkeypatch.setattr(stack_config_module, "_derived_problems", lambda *args: [])
    monkeypatch.setattr(stack_config_module, "_weights_and_image_problems", lambda *args: [])
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        _run(case)
    assert str(caught.value).startswith(f"{REPORTED_BY.get(key[0], key[0])}: ")
    assert case.component_path in [e["property_path"] for e in caught.value.errors]


def test_memory_reservation_of_every_gpu_type_is_enough():
    """ModelService needs ≥ 1024 MiB per task: true of every recorded NVIDIA type at one replica per GPU."""
    import math

    from components.ecs.metrics_sidecar import COLLECTOR_MEMORY_RESERVATION_MIB
    from offline import recorded
    from stacks.ecs import AGENT_RESERVED_MIB, KERNEL_SHARE

    for name, data in recorded.instance_types().items():
        gpus = (data.get("GpuInfo") or {}).get("Gpus") or []
        if not any(g["Manufacturer"] == "NVIDIA" for g in gpus):
            continue
        usable = math.floor(data["MemoryInfo"]["SizeInMiB"] * (1 - KERNEL_SHARE)) - AGENT_RESERVED_MIB
        # stacks/ecs.py divides by replicas per instance: at most one per GPU (and 1 on a GPU partition)
        # ... and the vLLM container keeps ≥ 1024 after the metrics sidecar's reservation (metrics_sidecar.py)
        assert usable // max(1, sum(g["Count"] for g in gpus)) >= 1024 + COLLECTOR_MEMORY_RESERVATION_MIB, name
