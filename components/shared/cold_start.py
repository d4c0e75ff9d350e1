"""Cold start, per phase: from a scale-out decision to a replica that answers its first token.

Each term is bytes ÷ a measured rate, or a measured duration, with its source:

  launch    GPU instance launch and ECS agent (or kubelet) registration: 120 s, the low end of "GPU VM +
            drivers 2-5 min" in vLLM RFC vllm-project/vllm#41893. A warm-pool instance (stopped, image
            already on its root volume) is started, not launched; no separate figure was found, so the same
            120 s is kept (conservative).
  pull      image bytes ÷ pull rate. AWS measured its 10.78 GB vLLM container at 112 s by default and 45-60 s
            with SOCI parallel pull (aws-samples/karpenter-blueprints): 96.25 MB/s and (at 60 s) 179.7 MB/s.
            0 when the image is already on the node (warm pool, or a second replica on the same host).
  weights   weight bytes ÷ min(Run:ai streamer S3 rate, instance network bandwidth). Run:ai Model Streamer
            benchmarks (run-ai/runai-model-streamer docs/src/benchmarks.md, Llama-3-8B, g5.12xlarge): 3.5 GiB/s
            from S3. Network: the instance's recorded NetworkInfo (EC2 DescribeInstanceTypes): peak bandwidth,
            since a one-off load of seconds fits the burst of "Up to N Gigabit" types (EC2 user guide, "Amazon
            EC2 instance network bandwidth": such instances "can burst ... for a limited time"); the baseline
            rate is reported as the floor. From the Hub instead: bytes ÷ 100 MB/s (vllm.py's stated
            assumption) plus reading them from the gp3 root volume.
  engine    vLLM engine start (torch.compile, CUDA graphs, KV-cache profiling) once weights are in, on a node
            whose compile cache is cold. Two measurements, interpolated linearly in parameters (never below the
            first): 8B → 18.1 s = Run:ai's "vLLM ready 23 s from S3" minus its 4.9 s S3 load (same benchmark,
            Llama-3-8B); 27B at TP 2 → 102.7 s = "torch.compile took 48.89 s in total" + "Initial
            profiling/warmup run took 53.79 s" (vLLM V1 log, Qwen3.6-27B on 2 GPUs, noonghunna/club-3090#75,
            2026-05). Compile time grows with the graph, not the bytes, so a quantized 27B counts as 27B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.shared import vllm

GIB = 1024**3
LAUNCH_SECONDS = 120.0
PULL_BYTES_PER_S = 10.78e9 / 112  # default pull
SOCI_PULL_BYTES_PER_S = 10.78e9 / 60  # SOCI parallel pull, slow end of 45-60 s
STREAMER_S3_BYTES_PER_S = 3.5 * GIB
ENGINE_POINTS = ((8.0, 23.0 - 4.9), (27.0, 48.89 + 53.79))  # (billions of parameters, seconds)
ENGINE_SECONDS = ENGINE_POINTS[0][1]  # the smallest measured start


def engine_seconds(parameters_b: float) -> float:
    """Engine start for a model of `parameters_b` billion parameters (dense or active-expert count)."""
    (p0, s0), (p1, s1) = ENGINE_POINTS
    return max(s0, s0 + (parameters_b - p0) * (s1 - s0) / (p1 - p0))


HUB_BYTES_PER_S = vllm.DOWNLOAD_MB_PER_S * 1e6  # a stated assumption (components/shared/vllm.py), not measured
# Issue 13: "every replica pulls a ~12 GB public image"; AWS's measured vLLM container is 10.78 GB.
IMAGE_BYTES = 12e9
# Object-storage workers per replica (env RUNAI_STREAMER_CONCURRENCY, which sets the S3 concurrency when
# RUNAI_STREAMER_OBJ_CONCURRENCY is unset; the streamer's default for object storage is 8: run-ai/
# runai-model-streamer streamer/impl/config, default_s3_concurrency). Each worker is one S3 client with its
# own connections. Stated assumption (not measured): one worker per 1.25 Gbit/s of the instance's peak
# bandwidth, never below the default 8, at most 64.
CONCURRENCY_MIN, CONCURRENCY_MAX, GBPS_PER_THREAD = 8, 64, 1.25


def streamer_concurrency(peak_gbps: float) -> int:
    return max(CONCURRENCY_MIN, min(CONCURRENCY_MAX, math.ceil(peak_gbps / GBPS_PER_THREAD)))


@dataclass(frozen=True)
class Node:
    instance_type: str
    peak_gbps: float  # NetworkInfo.NetworkCards[0].PeakBandwidthInGbps
    baseline_gbps: float  # NetworkInfo.NetworkCards[0].BaselineBandwidthInGbps
    disk_bytes_per_s: float = 500 * 1024**2  # gp3 throughput the node pool provisions (MiB/s → B/s)


@dataclass(frozen=True)
class ColdStart:
    """Seconds per phase of one scenario."""

    scenario: str
    launch: float
    pull: float
    weights: float
    engine: float

    @property
    def total(self) -> float:
        return self.launch + self.pull + self.weights + self.engine

    @property
    def container(self) -> float:
        """From the container's start (ECS counts the health-check grace from there): weights + engine."""
        return self.weights + self.engine

    @property
    def dominant(self) -> str:
        phases = {"launch": self.launch, "pull": self.pull, "weights": self.weights, "engine": self.engine}
        return max(phases, key=phases.__getitem__)

    def as_plan(self) -> dict:
        return {
            "scenario": self.scenario,
            "launchSeconds": round(self.launch, 1),
            "imagePullSeconds": round(self.pull, 1),
            "weightLoadSeconds": round(self.weights, 1),
            "engineStartSeconds": round(self.engine, 1),
            "totalSeconds": round(self.total, 1),
            "dominantPhase": self.dominant,
        }


def weight_seconds(weights_bytes: float, node: Node, load_from: str) -> float:
    if load_from == "hub":
        return weights_bytes / HUB_BYTES_PER_S + weights_bytes / node.disk_bytes_per_s
    network = node.peak_gbps * 1e9 / 8
    return weights_bytes / min(STREAMER_S3_BYTES_PER_S, network)


def estimate(
    weights_bytes: float,
    node: Node,
    load_from: str = "s3",
    image_cached: bool = False,
    soci: bool = False,
    image_bytes: float = IMAGE_BYTES,
    scenario: str = "",
    parameters_b: float = 8.0,
) -> ColdStart:
    pull = 0.0 if image_cached else image_bytes / (SOCI_PULL_BYTES_PER_S if soci else PULL_BYTES_PER_S)
    return ColdStart(
        scenario=scenario or ("cached" if image_cached else "fresh" + ("+soci" if soci else "")),
        launch=LAUNCH_SECONDS,
        pull=pull,
        weights=weight_seconds(weights_bytes, node, load_from),
        engine=engine_seconds(parameters_b),
    )


def bandwidth_floor_seconds(weights_bytes: float, node: Node) -> float:
    """Weights at the instance's sustained (baseline) network rate: the slowest a load should be."""
    return weights_bytes / min(STREAMER_S3_BYTES_PER_S, node.baseline_gbps * 1e9 / 8)
