"""Where a platform publishes vLLM's serving metrics and its GPU utilization in CloudWatch.

Both platforms scrape vLLM's Prometheus /metrics with an ADOT collector configured by one generator
(components/shared/metrics_collector.py). ECS: a sidecar in each vLLM task (components/ecs/metrics_sidecar.py,
namespace DeepSeek/ECS, dimension ClusterName); GPU utilization there comes from the CloudWatch agent on its
Auto Scaling group (cloudwatch_agent.py, dimension AutoScalingGroupName). EKS: a collector Deployment that
also scrapes NVIDIA's DCGM exporter (components/eks/cloudwatch_metrics.py, DeepSeek/EKS, ClusterName). The
alarms, dashboard and ECS queue-depth scaling read whichever series a ServingMetrics names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServingMetrics:
    """CloudWatch metrics of one endpoint, all under `namespace` with the same `dimensions`.

    Each name is "" when the platform does not publish that series. `ttft` is published as a statistic
    set (SampleCount, Sum): its Average is the mean time to first token over the period; no percentiles.
    `kv_cache_usage` is vLLM's 0–1 fraction; `gpu_utilization` a percentage averaged over every GPU.
    """

    namespace: str
    # Plain strings, or Outputs (ECS: the cluster's name) that the dashboard resolves before drawing.
    dimensions: dict[str, Any] = field(default_factory=dict)
    queue_depth: str = ""
    kv_cache_usage: str = ""
    ttft: str = ""
    gpu_utilization: str = ""
