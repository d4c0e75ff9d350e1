"""The ONE generator of the AWS Distro for OpenTelemetry (ADOT) collector configuration that turns vLLM's
Prometheus /metrics (and, on EKS, dcgm-exporter's) into CloudWatch metrics, for both platforms:

  EKS: a collector Deployment discovers the vLLM pods (components/eks/cloudwatch_metrics.py);
  ECS: a collector sidecar in each vLLM task scrapes localhost (components/ecs/metrics_sidecar.py).

prometheus receiver → resourcedetection/env (OTEL_RESOURCE_ATTRIBUTES: the dimensions) → batch → awsemf
exporter → CloudWatch Logs (EMF) → metrics under `namespace` with exactly `dimensions`.

Why ADOT and awsemf (not the CloudWatch agent): the agent's Prometheus support drops histograms
(CloudWatch user guide, ContainerInsights-Prometheus-metrics-conversion) and vLLM's TTFT is one; awsemf keeps
it as a statistic set with per-period deltas of Sum and Count (awsemfexporter datapoint.go), so CloudWatch's
Average is the mean TTFT. Metric names are Prometheus' (`vllm:num_requests_waiting`, ...); KV-cache usage is
`vllm:kv_cache_usage_perc` (vLLM V1 PrometheusStatLogger, vllm/v1/metrics/loggers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

QUEUE_DEPTH = "vllm:num_requests_waiting"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
TTFT = "vllm:time_to_first_token_seconds"
GPU_UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"  # dcgm-exporter default-counters.csv: "GPU utilization (in %)", gauge
VLLM_METRICS = (QUEUE_DEPTH, KV_CACHE_USAGE, TTFT)
# Only these series are kept (everything else costs EMF bytes and is never charted); Prometheus anchors it.
VLLM_KEEP = f"{QUEUE_DEPTH}|{KV_CACHE_USAGE}|{TTFT}_(bucket|sum|count)"
# One datapoint per scraped replica per minute: in a 60 s period each replica contributes exactly one, so
# Average over the period is per replica and Sum is the whole endpoint's (what queue-depth scaling divides).
SCRAPE_INTERVAL = "60s"
RESOURCE_ATTRIBUTES_ENV = "OTEL_RESOURCE_ATTRIBUTES"  # read by the `env` resource detector below


def collector_config(
    scrape_configs: Sequence[dict[str, Any]],
    *,
    region: str,
    namespace: str,
    dimensions: Sequence[str],
    metrics: Sequence[str],
    log_group_name: str,
    log_stream_name: str,
) -> dict[str, Any]:
    """The ADOT collector configuration: the scrape jobs, the dimensions as resource attributes (set through
    OTEL_RESOURCE_ATTRIBUTES, see `resource_attributes`), awsemf into one log group under `namespace`."""
    return {
        "receivers": {
            "prometheus": {
                "config": {
                    "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "10s"},
                    "scrape_configs": list(scrape_configs),
                }
            }
        },
        "processors": {
            # OTEL_RESOURCE_ATTRIBUTES (e.g. ClusterName=<cluster>) onto every series, as ADOT's EKS template does.
            "resourcedetection/env": {"detectors": ["env"], "timeout": "2s", "override": False},
            "batch/metrics": {"timeout": "60s"},
        },
        "exporters": {
            "awsemf": {
                "region": region,
                "namespace": namespace,
                "log_group_name": log_group_name,
                "log_stream_name": log_stream_name,
                "resource_to_telemetry_conversion": {"enabled": True},
                "dimension_rollup_option": "NoDimensionRollup",
                "metric_declarations": [
                    {"dimensions": [list(dimensions)], "metric_name_selectors": [f"^{m}$" for m in metrics]},
                ],
            }
        },
        "service": {
            "pipelines": {
                "metrics": {
                    "receivers": ["prometheus"],
                    "processors": ["resourcedetection/env", "batch/metrics"],
                    "exporters": ["awsemf"],
                }
            }
        },
    }


def static_scrape_job(job: str, target: str, keep: str) -> dict[str, Any]:
    """One fixed target (a sidecar scraping its own task over localhost); only the series matching `keep`."""
    return {
        "job_name": job,
        "static_configs": [{"targets": [target]}],
        "metric_relabel_configs": [{"action": "keep", "source_labels": ["__name__"], "regex": keep}],
    }


def resource_attributes(dimensions: dict[str, str]) -> str:
    """The OTEL_RESOURCE_ATTRIBUTES value (key=value,...) that becomes the metrics' dimensions."""
    return ",".join(f"{k}={v}" for k, v in dimensions.items())


def collector_policy(log_group_arn: str) -> dict[str, Any]:
    """The awsemf exporter's calls (CreateLogStream, PutLogEvents, DescribeLogStreams) on the one log group;
    no CreateLogGroup: the group exists (declared with its key and retention)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteEmfMetrics",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }
