"""The EKS stack's metrics collector (components/eks/cloudwatch_metrics.py), kept apart from stacks/eks.py:
vLLM's and the GPUs' series into CloudWatch, handed to the alarms and dashboard through the ServingEndpoint."""

from __future__ import annotations

import pulumi

from components.eks.addons import Chart
from components.eks.cloudwatch_metrics import CloudWatchMetrics, CloudWatchMetricsArgs
from components.eks.cluster import EksCluster
from components.eks.workload import Workload
from components.shared import vllm
from components.shared.kms_key import StackKey
from components.shared.serving_metrics import ServingMetrics
from stacks import versions
from stacks.config import StackContext
from stacks.ecs import LOG_RETENTION_DAYS


def build_cloudwatch_metrics(
    ctx: StackContext,
    cluster: EksCluster,
    key: StackKey,
    work: Workload,
    namespace: str,
    after: list[pulumi.Resource],
) -> ServingMetrics:
    v = versions
    collector = CloudWatchMetrics(
        f"{ctx.short_name}-cw-metrics",
        CloudWatchMetricsArgs(
            cluster_name=ctx.short_name,
            region=ctx.region,
            serving_namespace=namespace,
            pod_selector=work.labels,
            metrics_port=vllm.PORT,
            collector_image=v.ADOT_COLLECTOR_IMAGE,
            dcgm_exporter=Chart(v.DCGM_EXPORTER_CHART, v.DCGM_EXPORTER_VERSION, v.DCGM_EXPORTER_REPO),
            kms_key_arn=key.key_arn,
            log_group_name=f"/deepseek/{ctx.stack}/metrics",
            log_retention_days=LOG_RETENTION_DAYS[ctx.config.environment],
            permissions_boundary_arn=ctx.config.iam.permissions_boundary_arn,
            tags=dict(ctx.tags),
        ),
        cluster.provider,
        opts=pulumi.ResourceOptions(depends_on=after),  # the serving namespace holds one of its Roles
    )
    return collector.serving_metrics
