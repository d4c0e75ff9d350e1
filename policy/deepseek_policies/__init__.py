"""deepseek-cloud CrossGuard policy pack: AWS Security Hub FSBP / CIS controls and platform rules.

`__main__.py` (one directory up) builds the PolicyPack from `ALL_POLICIES`; everything here is
importable without starting the gRPC server (tests, `report.check`, `grpc_client`).
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from deepseek_policies import aws_controls, domain, eks_controls, more_controls
from deepseek_policies.config import PACK_NAME

# New rule modules (e.g. EKS controls) add their POLICIES here and a row per control in controls.yaml.
ALL_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    *aws_controls.POLICIES,
    *more_controls.POLICIES,
    *domain.POLICIES,
    *eks_controls.POLICIES,
]
POLICIES_BY_NAME = {p.name: p for p in ALL_POLICIES}

PACK_DESCRIPTION = (
    "Guardrails for deepseek-cloud (vLLM DeepSeek inference on AWS GPUs): the AWS Security Hub controls "
    "(FSBP, CIS, NIST 800-53) that apply to what the stacks declare - VPC, EC2 launch templates, autoscaling, "
    "ECS, ECR, ALB, S3, KMS, CloudWatch, SNS, WAF, security groups, IAM, EKS (EKS.1/3/8) - enforced or waived "
    "per controls.yaml, plus Kubernetes workload rules (privileged pods, GPU requests, pinned images and "
    "charts), GPU-pool sizing, instance-family, tagging and endpoint-alarm rules."
)
PACK_TAGS = ["aws", "security-hub", "fsbp", "cis", "gpu", "vllm"]

assert len(POLICIES_BY_NAME) == len(ALL_POLICIES), "policy names must be unique"


def default_level(policy: ResourceValidationPolicy | StackValidationPolicy) -> EnforcementLevel:
    return policy.enforcement_level or EnforcementLevel.MANDATORY


def schema_properties(policy: ResourceValidationPolicy | StackValidationPolicy) -> list[str]:
    return list(policy.config_schema.properties) if policy.config_schema else []


__all__ = [
    "ALL_POLICIES",
    "PACK_DESCRIPTION",
    "PACK_NAME",
    "PACK_TAGS",
    "POLICIES_BY_NAME",
    "default_level",
    "schema_properties",
]
