"""vLLM's serving metrics on ECS: an ADOT collector sidecar in each vLLM task scrapes the task's own
vLLM over localhost and writes CloudWatch metrics (EMF) into one log group, so ECS stacks get the same
queue-depth, KV-cache and TTFT panels as EKS and can scale on queue depth (components/ecs/autoscaling.py).

  vLLM :8000/metrics ◄─ localhost (awsvpc: one network namespace per task) ─ adot-collector (sidecar)
                           prometheus receiver → awsemf exporter ─► /deepseek/<stack>/vllm/metrics ─► metrics

The configuration comes from the one generator EKS uses too (components/shared/metrics_collector.py), only
the scrape job differs (a static localhost target instead of pod discovery). It reaches the collector as
the AOT_CONFIG_CONTENT environment variable: the collector loads its configuration from that variable when
set (aws-observability/aws-otel-collector pkg/config/config_factory.go, `envKey = "AOT_CONFIG_CONTENT"`,
then `env:` confmap provider) and logs it at start ("Reading AOT config from environment: ..."), so it holds
no secret: names, region and regexes only.

The sidecar must never take serving down: `essential: false` (its exit does not stop the task, ECS
developer guide "essential"), it waits for vLLM to START (dependsOn on the sidecar; vLLM depends on
nothing), non-root (the image's user `aoc`, uid 4317: cmd/awscollector/Dockerfile), read-only root file
system with a small /tmp tmpfs, and its reservations come out of the task's memory budget (task.py).

Dimension: ClusterName only, as on EKS. Every ModelService owns its ECS cluster, so the cluster identifies
the service's tasks; the service's own name cannot be one: the task definition would depend on the service
that runs it (a cycle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from components.ecs.task import CONTAINER_NAME
from components.shared import vllm
from components.shared.metrics_collector import (
    KV_CACHE_USAGE,
    QUEUE_DEPTH,
    RESOURCE_ATTRIBUTES_ENV,
    TTFT,
    VLLM_KEEP,
    VLLM_METRICS,
    collector_config,
    collector_policy,
    resource_attributes,
    static_scrape_job,
)
from components.shared.serving_metrics import ServingMetrics

NAMESPACE = "DeepSeek/ECS"  # CloudWatch namespace of the ECS vLLM series
DIMENSION = "ClusterName"
COLLECTOR_NAME = "adot-collector"
COLLECTOR_USER = "4317"  # `aoc` in the aws-otel-collector image (cmd/awscollector/Dockerfile USER_UID)
CONFIG_ENV = "AOT_CONFIG_CONTENT"
# Taken out of the task's budget (task.py container_definitions): placement reserves these for the sidecar.
# 128 MiB as the EKS collector's request (cloudwatch_metrics.py); a 512 MiB hard limit as its limit there.
COLLECTOR_MEMORY_RESERVATION_MIB = 128
COLLECTOR_MEMORY_LIMIT_MIB = 512
COLLECTOR_CPU_UNITS = 64  # 1/16 vCPU: one scrape of one target a minute
TMP_MIB = 64


@dataclass(frozen=True)
class VllmMetricsArgs:
    collector_image: str = ""  # public.ecr.aws/aws-observability/aws-otel-collector:vX.Y.Z (pinned)
    region: str = ""
    cluster_name: pulumi.Input[str] = ""  # the metrics' ClusterName dimension
    task_role_name: pulumi.Input[str] = ""  # gets PutLogEvents & co. on the metrics log group only
    log_group_name: str = ""  # EMF events, e.g. /deepseek/<stack>/vllm/metrics
    log_retention_days: int = 30
    kms_key_arn: pulumi.Input[str] = ""
    protect: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def sidecar_config(region: str, log_group_name: str) -> dict[str, Any]:
    """The shared collector configuration scraping this task's vLLM over localhost."""
    return collector_config(
        [static_scrape_job("vllm", f"localhost:{vllm.PORT}", VLLM_KEEP)],
        region=region,
        namespace=NAMESPACE,
        dimensions=[DIMENSION],
        metrics=VLLM_METRICS,
        log_group_name=log_group_name,
        # One stream name for every task's sidecar: CloudWatch Logs accepts parallel PutLogEvents on one
        # stream and no longer has a per-stream request quota, only a per-account one (PutLogEvents API
        # reference, read 2026-12-01). The EMF events carry their dimensions; the stream name is not one.
        log_stream_name=COLLECTOR_NAME,
    )


def collector_container(
    image: str, region: str, cluster_name: str, metrics_log_group: str, container_log_group: str
) -> dict[str, Any]:
    """The sidecar's ECS container definition (RegisterTaskDefinition shape)."""
    config = yaml.safe_dump(sidecar_config(region, metrics_log_group), sort_keys=False)
    return {
        "name": COLLECTOR_NAME,
        "image": image,
        "essential": False,  # a collector crash leaves vLLM serving
        # The OpenTelemetry collector's `env:` config provider (collector service README, "How to provide
        # configuration"); ADOT would also pick the variable up by itself (config_factory.go).
        "command": [f"--config=env:{CONFIG_ENV}"],
        "cpu": COLLECTOR_CPU_UNITS,
        "memoryReservation": COLLECTOR_MEMORY_RESERVATION_MIB,
        "memory": COLLECTOR_MEMORY_LIMIT_MIB,
        "user": COLLECTOR_USER,
        "readonlyRootFilesystem": True,
        "environment": [
            {"name": CONFIG_ENV, "value": config},
            {"name": RESOURCE_ATTRIBUTES_ENV, "value": resource_attributes({DIMENSION: cluster_name})},
            {"name": "AWS_REGION", "value": region},
        ],
        # Started once vLLM has started (not healthy: it would wait through the weight load for nothing);
        # vLLM itself depends on nothing, so the sidecar never delays serving.
        "dependsOn": [{"containerName": CONTAINER_NAME, "condition": "START"}],
        "linuxParameters": {
            "tmpfs": [{"containerPath": "/tmp", "size": TMP_MIB, "mountOptions": ["rw", "nosuid", "nodev", "noexec"]}],
            "initProcessEnabled": True,
        },
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": container_log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": COLLECTOR_NAME,
                "mode": "non-blocking",
                "max-buffer-size": "4m",
            },
        },
    }


class VllmMetrics(pulumi.ComponentResource):
    """The EMF log group and the task role's write grant on it; the container itself joins the task
    definition (ModelService._task_definition)."""

    log_group_name: pulumi.Output[str]
    serving_metrics: ServingMetrics

    def __init__(self, name: str, args: VllmMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:ecs:VllmMetrics", name, None, opts)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-emf",
            name=args.log_group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        aws.iam.RolePolicy(
            f"{name}-emf-write",
            role=args.task_role_name,
            policy=log_group.arn.apply(lambda arn: json.dumps(collector_policy(arn))),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.log_group_name = log_group.name
        self.serving_metrics = ServingMetrics(
            namespace=NAMESPACE,
            dimensions={DIMENSION: args.cluster_name},
            queue_depth=QUEUE_DEPTH,
            kv_cache_usage=KV_CACHE_USAGE,
            ttft=TTFT,
            gpu_utilization="",  # the CloudWatch agent's nvidia_smi series per ASG (cloudwatch_agent.py)
        )
        self.register_outputs({"logGroupName": self.log_group_name, "namespace": NAMESPACE})
