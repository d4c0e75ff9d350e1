"""vLLM's OpenAI-compatible server, platform-neutral (pure: no resources).

The one place that builds what the server runs: the `vllm serve` arguments, its environment, the
health probes and their timing, and the start-up estimate the grace periods come from. The ECS
container definition (components/ecs/service.py) uses it now; an EKS pod spec uses the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

PORT = 8000  # vLLM's default; /health and /v1/* on one port
HEALTH_PATH = "/health"  # 200 once the engine is up; not behind the API key
# vLLM runs as the image's unprivileged `vllm` user (uid 2000, home /home/vllm; vllm PR #40275 made the
# image non-root ready, ai-dynamo/dynamo PR #12457 runs it as 2000) on a read-only root filesystem (ECS.5,
# ECS.20). What it writes goes to two places only: the cache volume (weights, torch.compile / Inductor /
# Triton caches: reused by the next replica on the node) and a tmpfs /tmp (HOME: ~/.nv, ~/.config).
# USER is set too, so torch's getpass.getuser() never needs a passwd entry (vllm issue #44548).
CONTAINER_USER = "2000"
CACHE_ROOT = "/var/cache/vllm"  # container path of the cache volume
HF_CACHE = f"{CACHE_ROOT}/huggingface"  # HF_HOME
TMP_DIR = "/tmp"  # a tmpfs (and HOME)
TMPFS_MIB = 4096  # counts against the replica's memory, holds no weights
CACHE_ENV = {
    "HOME": TMP_DIR,
    "USER": "vllm",
    "HF_HOME": HF_CACHE,
    "VLLM_CACHE_ROOT": f"{CACHE_ROOT}/vllm",
    "TORCHINDUCTOR_CACHE_DIR": f"{CACHE_ROOT}/torchinductor",
    "TRITON_CACHE_DIR": f"{CACHE_ROOT}/triton",
    "XDG_CACHE_HOME": f"{CACHE_ROOT}/xdg",  # FlashInfer, Outlines and other ~/.cache users
}
STREAMER_LOAD_FORMAT = "runai_streamer"
STREAMER_CONCURRENCY_ENV = "RUNAI_STREAMER_CONCURRENCY"  # OS threads reading from S3 (Run:ai streamer docs)
# vLLM requires VLLM_API_KEY on /v1/* when set; the Hub client reads HF_TOKEN.
API_KEY_ENV = "VLLM_API_KEY"
HF_TOKEN_ENV = "HF_TOKEN"
# A rotated API key (components/ecs/api_key_rotation.py): the replaced key stays valid until the next
# rotation. VLLM_API_KEY holds one key only, but `--api-key` takes several ("the server will require one of
# these keys", FrontendArgs.api_key: list[str]; vllm PR #18548, merged 2025) and wins over VLLM_API_KEY
# (`args.api_key or [envs.VLLM_API_KEY]`, vllm/entrypoints/serve/middleware/register.py at v0.31.0). vLLM's
# startup log prints `api_key` as *** (vllm PR #52523, merged 2026-08-16, before v0.31.0's 2026-10-05 release).
PREVIOUS_API_KEY_ENV = "VLLM_API_KEY_PREVIOUS"


def entrypoint_with_previous_key() -> list[str]:
    """`vllm serve <args> --api-key <current> <previous>`, the keys expanded from the container's secret
    environment by a shell (ECS passes secrets as environment variables only; the task definition keeps
    neither key). $0 is a label; the serve arguments follow as "$@"."""
    script = f'exec vllm serve "$@" --api-key "${API_KEY_ENV}" "${PREVIOUS_API_KEY_ENV}"'
    return ["/bin/sh", "-c", script, "vllm-serve"]


# Start-up estimate (weights download + load + engine start). Stated assumptions, not measurements:
DOWNLOAD_MB_PER_S = 100  # Hugging Face Hub through a NAT gateway, conservative (a first start)
ENGINE_INIT_SECONDS = 120  # torch.compile, CUDA graph capture, KV-cache profiling (vLLM V1)
GRACE_MARGIN = 1.5  # the health-check grace covers the estimate with half again as margin

# uvicorn's keep-alive (vLLM default 5 s, envs.py VLLM_HTTP_TIMEOUT_KEEP_ALIVE, seconds; vLLM PR #18472)
# must outlast the load balancer's idle timeout, else it reuses a socket vLLM already closed: a 502. The
# ALB user guide ("Connection idle timeout") asks for a target keep-alive above the load balancer's.
KEEP_ALIVE_MARGIN_SECONDS = 15


@dataclass(frozen=True)
class VllmServer:
    """What the container runs: `vllm serve <model>` with the sizing's parallelism and memory."""

    # A pinned tag or digest; stacks pass ServingImage.image_ref (an Output: the ECR image by digest).
    image: Any = "vllm/vllm-openai:v0.31.0"
    hf_model_id: str = ""
    # Where the weights come from: "hub" downloads hf_model_id from the Hugging Face Hub at every start;
    # "s3" streams model_uri (s3://<bucket>/<hf id>/<revision>, components/shared/model_bucket.py) with
    # the Run:ai Model Streamer (`--load-format runai_streamer`, vLLM docs "Loading models with Run:ai
    # Model Streamer"), through the VPC's S3 gateway endpoint.
    load_from: Literal["hub", "s3"] = "hub"
    # The Hub commit to serve when loading from the Hub (`--revision`; vLLM's ModelConfig takes the tokenizer
    # from the same commit unless --tokenizer-revision says otherwise, vllm/config/model.py __post_init__).
    # None: the repository's default branch at each start, so two replicas may serve different weights.
    # Loading from S3 serves the revision the bucket prefix names (model_uri) and passes no flag.
    revision: str | None = None
    model_uri: Any = ""  # str, or an Output resolved before serve_args runs
    streamer_concurrency: int = 16  # RUNAI_STREAMER_CONCURRENCY (the streamer's own default is 8: cold_start.py)
    region: str = ""  # AWS_REGION for the streamer's S3 client (load_from s3)
    served_model_name: str = ""
    tensor_parallel_size: int = 1  # = GPUs reserved per replica (per node when pipeline_parallel_size > 1)
    pipeline_parallel_size: int = 1  # nodes per replica: TP within a node, PP across nodes (EKS only)
    max_model_len: int = 8192
    gpu_memory_utilization: float = 0.9
    memory_reservation_mib: int = 4096  # soft limit, used for placement; no hard limit (no OOM kill on load)
    shared_memory_mib: int = 8192  # /dev/shm: PyTorch/NCCL pass tensors between TP workers through it
    startup_seconds: int = 300  # estimate_startup_seconds(...)
    stop_timeout_seconds: int = 30  # SIGTERM→SIGKILL; vLLM drains for shutdown_timeout_seconds() of it
    extra_args: tuple[str, ...] = ()
    # "cpu": vLLM's CPU backend (its own image): no GPUs, the KV cache in host memory (cpu_kv_cache_gib)
    device: str = "cuda"
    cpu_kv_cache_gib: int = 0  # VLLM_CPU_KVCACHE_SPACE


@dataclass(frozen=True)
class HealthTiming:
    """How often and how patiently a checker probes HEALTH_PATH."""

    interval_seconds: int = 30
    timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3


# The load balancer's target health check: ~45 s to pull a dead replica out of rotation.
LOAD_BALANCER_HEALTH = HealthTiming(interval_seconds=15, timeout_seconds=5, healthy_threshold=2, unhealthy_threshold=3)
# The in-container probe (ECS container health check, a pod's liveness probe): 3 misses 30 s apart.
CONTAINER_HEALTH = HealthTiming(interval_seconds=30, timeout_seconds=5, unhealthy_threshold=3)


# Seconds between SIGTERM's deadline and SIGKILL kept for vLLM to exit after it stopped draining (KServe
# computes --shutdown-timeout as the grace period minus the preStop sleep and such a margin; kserve#5496).
SHUTDOWN_MARGIN_SECONDS = 5


def shutdown_timeout_seconds(server: VllmServer) -> int:
    """vLLM's --shutdown-timeout (vLLM ≥ 0.18, vllm PR #34730/#36666): on SIGTERM it refuses new requests
    and lets in-flight ones finish for this long instead of aborting them. Both platforms send SIGTERM
    only after the load balancer has drained the replica (ECS: deregistration delay; EKS: the preStop sleep
    of the same length), then give the container stop_timeout_seconds before SIGKILL."""
    return max(0, server.stop_timeout_seconds - SHUTDOWN_MARGIN_SECONDS)


def serve_args(server: VllmServer) -> list[str]:
    """The arguments after `vllm serve` (the image's entrypoint); the model is positional (`--model` is
    deprecated there). Across nodes (pipeline_parallel_size > 1) the engine runs on a Ray cluster the
    node pods form first (vLLM's multi-node serving docs; the LeaderWorkerSet vLLM example)."""
    if server.device == "cpu":  # no GPU flags; the KV cache size comes from VLLM_CPU_KVCACHE_SPACE
        return [
            server.hf_model_id,
            *_hub_revision(server),
            "--served-model-name", server.served_model_name,
            "--max-model-len", str(server.max_model_len),
            "--port", str(PORT),
            *server.extra_args,
        ]  # fmt: skip

    multi_node = (
        ["--pipeline-parallel-size", str(server.pipeline_parallel_size), "--distributed-executor-backend", "ray"]
        if server.pipeline_parallel_size > 1
        else []
    )
    return [
        server.model_uri if server.load_from == "s3" else server.hf_model_id,
        *_hub_revision(server),
        "--served-model-name", server.served_model_name,
        "--tensor-parallel-size", str(server.tensor_parallel_size),
        *multi_node,
        "--max-model-len", str(server.max_model_len),
        "--gpu-memory-utilization", str(server.gpu_memory_utilization),
        "--port", str(PORT),
        *(("--load-format", STREAMER_LOAD_FORMAT) if server.load_from == "s3" else ()),
        "--shutdown-timeout", str(shutdown_timeout_seconds(server)),
        *server.extra_args,
    ]  # fmt: skip


def _hub_revision(server: VllmServer) -> tuple[str, ...]:
    return ("--revision", server.revision) if server.load_from == "hub" and server.revision else ()


def keep_alive_seconds(idle_timeout_seconds: int) -> int:
    """vLLM's HTTP keep-alive for a load balancer with this idle timeout."""
    return idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS


def environment(keep_alive: int, server: VllmServer | None = None) -> dict[str, str]:
    """The server's plain environment (secrets come separately: API_KEY_ENV, HF_TOKEN_ENV); streaming from
    S3 adds the streamer's concurrency and the region its S3 client uses."""
    env = {
        **CACHE_ENV,
        "VLLM_NO_USAGE_STATS": "1",  # no usage reports to vLLM's collector
        "DO_NOT_TRACK": "1",
        "VLLM_HTTP_TIMEOUT_KEEP_ALIVE": str(keep_alive),
    }
    if server is not None and server.load_from == "s3":
        env[STREAMER_CONCURRENCY_ENV] = str(server.streamer_concurrency)
        env["AWS_REGION"] = server.region
    return env


def cpu_environment(server: VllmServer) -> dict[str, str]:
    """vLLM CPU backend settings (vLLM docs, CPU installation, "Related runtime environment variables"):
    the KV cache in GiB of host memory, and OpenMP threads bound to the task's cores automatically."""
    if server.device != "cpu":
        return {}
    return {"VLLM_CPU_KVCACHE_SPACE": str(server.cpu_kv_cache_gib), "VLLM_CPU_OMP_THREADS_BIND": "auto"}


def probe_command() -> list[str]:
    """The in-container health probe. python3 is in every vLLM image (curl is too, but it is not the
    server's dependency)."""
    probe = f"import urllib.request; urllib.request.urlopen('http://localhost:{PORT}{HEALTH_PATH}', timeout=4)"
    return ["python3", "-c", probe]


def estimate_startup_seconds(weights_bytes: float, load_mib_per_s: int) -> int:
    """Seconds from container start to a ready /health on a fresh instance: download the weights,
    read them from the root volume into GPU memory, start the engine."""
    megabytes = weights_bytes / 1e6
    load_mb_per_s = load_mib_per_s * 1.048576
    return math.ceil(megabytes / DOWNLOAD_MB_PER_S + megabytes / load_mb_per_s + ENGINE_INIT_SECONDS)


def health_check_grace_seconds(startup_seconds: int) -> int:
    """Health checks are ignored this long after a replica starts: the estimate plus margin, in whole
    minutes."""
    return math.ceil(startup_seconds * GRACE_MARGIN / 60) * 60
