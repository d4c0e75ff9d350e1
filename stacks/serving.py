"""What a serving platform hands to the parts that watch it (alarms, dashboard, policy checks).

Every platform builder (ECS, EKS) returns a ServingEndpoint, so observability is wired the
same way whatever serves the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.shared.serving_metrics import ServingMetrics


@dataclass(frozen=True)
class ServingEndpoint:
    platform: str  # "ecs" | "eks"
    load_balancer_arn_suffix: pulumi.Output[str]  # CloudWatch dimension LoadBalancer
    target_group_arn_suffix: pulumi.Output[str]  # CloudWatch dimension TargetGroup
    target_group_name: str  # logical name of the target group resource (plan/policy matching)
    asg_name: pulumi.Output[str] | None  # CloudWatch dimension AutoScalingGroupName; None on EKS (Karpenter)
    asg_arn: pulumi.Output[str] | None
    gpu_pool_min_size: int
    min_replicas: int
    cluster_name: pulumi.Output[str] | None = None  # ECS: ClusterName dimension
    service_name: pulumi.Output[str] | None = None  # ECS: ServiceName dimension
    kms_key_arn: pulumi.Output[str] | None = None  # the stack's customer-managed key
    serving_metrics: ServingMetrics | None = None  # vLLM / GPU series in CloudWatch beyond the ASG's (EKS)
