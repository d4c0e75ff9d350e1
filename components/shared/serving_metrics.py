"""Where a platform publishes vLLM's serving metrics and its GPU utilization in CloudWatch.

ECS publishes GPU utilization through the CloudWatch agent on its Auto Scaling group (cloudwatch_agent.py,
dimension AutoScalingGroupName) and no vLLM series: nothing there scrapes vLLM's Prometheus /metrics (that
is why config refuses `scaling.metric: queueDepth` on ECS). EKS scrapes both vLLM and NVIDIA's DCGM exporter
with a collector that writes CloudWatch metrics (components/eks/cloudwatch_metrics.py). The alarms and
dashboard read whichever series a ServingMetrics names, so both platforms are watched by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServingMetrics:
    """CloudWatch metrics of one endpoint, all under `namespace` with the same `dimensions`.

    Each name is "" when the platform does not publish that series. `ttft` is published as a statistic
    set (SampleCount, Sum): its Average is the mean time to first token over the period; no percentiles.
    `kv_cache_usage` is vLLM's 0–1 fraction; `gpu_utilization` a percentage averaged over every GPU.
    """

    namespace: str
    dimensions: dict[str, str] = field(default_factory=dict)
    queue_depth: str = ""
    kv_cache_usage: str = ""
    ttft: str = ""
    gpu_utilization: str = ""
