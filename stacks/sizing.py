"""GPU sizing: does a model fit an instance type, at which tensor-parallel degree, with how much KV cache.

Method (mirrors how vLLM budgets GPU memory at start-up; vllm/v1/worker/gpu_worker.py
determine_available_memory, V0: vllm/worker/worker.py determine_num_available_blocks):
  per-GPU budget  = CUDA-visible GPU memory × gpuMemoryUtilization
  KV-cache memory = budget − weights / TP − non-torch memory − CUDA-graph reserve − profiling peak
  profiling peak  = what the profiling run allocates on top of the weights.
                    V0: the dummy forward pass of max_num_batched_tokens tokens (tokens ×
                    ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN × hidden size) plus the fp32 logits of
                    min(max_num_seqs, tokens) sequences (vocab × 4 bytes each).
                    V1: the larger of that forward pass and the sampler warm-up over min(max_num_seqs,
                    tokens) dummy requests: V1_SAMPLER_COPIES × requests × vocab × 4 bytes
  KV bytes/token  = GQA: 2 (K and V) × layers × KV heads per GPU × head dim × 2 bytes (bf16 cache)
                    MLA: layers × (kv_lora_rank + qk_rope_head_dim) × 2 bytes; vLLM keeps the
                         compressed latent on every TP rank, so it does not shrink with TP
  KV tokens       = KV-cache memory / KV bytes per token per GPU
  A model fits when KV tokens ≥ maxModelLen: vLLM refuses to start otherwise ("max seq len is larger
  than the maximum number of tokens that can be stored in KV cache").
  TP is the smallest power of two that fits, at most the GPUs on the instance, and divides the
  attention heads (a vLLM requirement).

What grows with what (the reason a fixed overhead was optimistic):
  - V0 engine (vLLM ≤ 0.7, the published records in tests/data): max_num_batched_tokens defaults to
    max(max_model_len, 2048) while chunked prefill is off (max_model_len ≤ 32K for the API server), so the
    profiling peak grows with maxModelLen: vllm-project/vllm#10517 prints peak_torch_memory 17.06 GiB at
    20000 and 17.98 GiB at 29000 for the same Llama-8B on the same RTX 3090, and the second one refused.
  - V1 engine (the pinned image): chunked prefill is always on and max_num_batched_tokens is fixed by
    the usage context and the GPU (vllm/engine/arg_utils.py EngineArgs.get_batch_defaults: ≥ 70 GiB and not
    an A100 → 8192 tokens / 1024 sequences for the OpenAI server, else 2048 / 256), so the peak does not
    grow with maxModelLen, but since v0.21 the estimated CUDA-graph pool is reserved before the KV cache is
    sized ("CUDA graph memory profiling is enabled (default since v0.21.0)", vLLM 0.27.1 log in
    gpustack/runner#251).
  - V1's profiling run ends with a sampler warm-up (vllm/v1/worker/gpu_model_runner.py profile_run →
    _dummy_sampler_run): one dummy request per scheduled sequence, top_k = vocab − 1 and top_p 0.9, which
    takes the full-vocabulary sort path, so the peak is several fp32 copies of a [requests × vocab] tensor
    (sorted values, int64 indices, softmax, cumsum, scatter). It does not shrink with TP (every rank
    samples the gathered logits) and it dominates where max_num_seqs is 1024 (H100/H200 defaults): vLLM
    0.11 printed a 4.76 GiB activation peak for Llama-3.1-8B on an H100 (llm-d/llm-d-benchmark
    config_explorer/empirical-vllm-memory-results.md), where the forward pass alone is ~0.8 GiB.
    That is the PyTorch-native top-k/top-p path ("requires sorting the entire logits tensor", vllm#11394).
    FlashInfer's sampling kernel does not sort; vLLM used it by default in V1 when flashinfer was installed
    (log line "Using FlashInfer for top-p & top-k sampling."), disabled it by default in Oct 2025
    (vllm#26859) and enabled it again in Apr 2026 (vllm#40376), with fallbacks to the native path (no
    flashinfer, unsupported GPU, VLLM_USE_FLASHINFER_SAMPLER=0). The pinned image's engine (V1) therefore
    reserves the native path's peak: reserving too little is what makes vLLM refuse to start; reserving
    too much costs at most V1_SAMPLER_COPIES × max_num_seqs × vocab × 4 bytes of KV cache per GPU.

Constants, each derived from the published start-up logs in tests/data/vllm_published_memory.yaml
(checked by tests/test_sizing.py):
  ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN 13: the V0 logs give (activation peak − logits) / tokens /
    (hidden × 2 bytes) = 12.8 (Llama-8B at 20000), 13.0 (at 29000), 11.7 (Qwen-32B TP 2 at 10000).
  NON_TORCH_GIB 0.5: printed non_torch_memory 0.25, 0.30, 0.35 GiB (vllm#13061, #15815, #10517).
  CUDA_VISIBLE_FRACTION 0.99: AWS lists the L40S with 45776 MiB; vLLM printed total_gpu_memory 44.42 GiB
    (99.4 %) for it (vllm#15815). CUDA reports less than the marketing size.
  V1_SAMPLER_COPIES 10: the H100 peaks vLLM 0.11 printed (1024 requests) over 1024 × vocab × 4 bytes:
    Llama-3.1-8B 4.76 GiB (9.7), Llama-3.3-70B TP 2 4.84 GiB (9.9), Qwen3-32B TP 1 and 2 5.64 GiB (9.7),
    Qwen3-0.6B 5.56 GiB (9.6), gpt-oss-20b 7.38 GiB (9.6) (llm-d/llm-d-benchmark, same file); rounded up.
  FLASHINFER_SAMPLER_COPIES 2 (records that printed the FlashInfer line): the fp32 logits and the
    probabilities; vLLM 0.10.1.1 left 0.52–0.54 GiB for non-torch memory and the whole profiling peak
    for Qwen2-7B on an A100 80 GB at 256 requests (dennislee22/vLLM-benchmarking log/), where the native
    path would need ~1.4 GiB.
  CUDA_GRAPH_GIB 1.0 (V1 ≥ 0.21 only): logged CUDA-graph pools 0.09–0.54 GiB on 24–32 GB cards
    (gpustack/runner#251 0.36 GiB estimate; club-3090 logs 0.09, 0.49, 0.52 GiB), rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from stacks.aws_facts import InstanceFacts
from stacks.catalog import GqaAttention, ModelSpec

GIB = 1024**3
MIB = 1024**2
KV_CACHE_DTYPE_BYTES = 2  # vLLM's default kv_cache_dtype "auto" = the model's bf16 activations
ACTIVATION_DTYPE_BYTES = 2
LOGITS_DTYPE_BYTES = 4  # the sampler upcasts logits to fp32
ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN = 13
V1_SAMPLER_COPIES = 10
FLASHINFER_SAMPLER_COPIES = 2
NON_TORCH_GIB = 0.5
CUDA_GRAPH_GIB = 1.0
CUDA_VISIBLE_FRACTION = 0.99
TP_DEGREES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Engine:
    """How one vLLM engine generation budgets start-up memory."""

    name: str
    cuda_graph_gib: float  # reserved before the KV cache is sized
    chunked_prefill_always: bool  # V1: max_num_batched_tokens from the usage-context defaults
    sampler_copies: float = V1_SAMPLER_COPIES  # V1 sampler warm-up: fp32 [requests × vocab] copies at its peak

    def scheduler_defaults(
        self, gpu_bytes: float, gpu_name: str, max_model_len: int, usage: str = "openai"
    ) -> tuple[int, int]:
        """(max_num_batched_tokens, max_num_seqs) vLLM starts with: `usage` "openai" is `vllm serve` (what
        the stacks run), "llm" the offline `LLM(...)` class (some published logs)."""
        if self.chunked_prefill_always:
            # vllm/engine/arg_utils.py EngineArgs.get_batch_defaults: OPENAI_API_SERVER / LLM_CLASS
            large = gpu_bytes >= 70 * GIB and "a100" not in gpu_name.lower()
            tokens = {"openai": 8192 if large else 2048, "llm": 16384 if large else 8192}[usage]
            return tokens, 1024 if large else 256
        # V0 (≤ 0.7): chunked prefill on by default only above 32K for the API server, then 2048 tokens;
        # otherwise max(max_model_len, 2048) (vllm/config.py SchedulerConfig, _DEFAULT_MAX_NUM_BATCHED_TOKENS)
        if max_model_len > 32768:
            return 2048, 256
        return max(max_model_len, 2048), 256


V1 = Engine("v1", cuda_graph_gib=CUDA_GRAPH_GIB, chunked_prefill_always=True)  # the pinned image
V1_EAGER = Engine("v1-eager", cuda_graph_gib=0.0, chunked_prefill_always=True)  # V1 before v0.21, or --enforce-eager
V1_EAGER_FLASHINFER = Engine(  # as V1_EAGER, with FlashInfer's top-k/top-p sampler (no full-vocabulary sort)
    "v1-eager-flashinfer", cuda_graph_gib=0.0, chunked_prefill_always=True, sampler_copies=FLASHINFER_SAMPLER_COPIES
)
V0 = Engine("v0", cuda_graph_gib=0.0, chunked_prefill_always=False)  # CUDA graphs captured after the KV cache
ENGINES = {e.name: e for e in (V1, V1_EAGER, V1_EAGER_FLASHINFER, V0)}


def profiling_peak_bytes(model: ModelSpec, tokens: int, seqs: int, engine: Engine = V0) -> float:
    """Activation memory of vLLM's profiling run over `tokens` tokens in `seqs` sequences: V0 adds the logits
    to the forward pass; V1 then warms the sampler up (freed forward activations make room for it)."""
    hidden = tokens * ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN * model.hidden_size * ACTIVATION_DTYPE_BYTES
    logits = min(seqs, tokens) * model.vocab_size * LOGITS_DTYPE_BYTES
    if engine.chunked_prefill_always:
        return max(hidden, engine.sampler_copies * logits)
    return hidden + logits


@dataclass(frozen=True)
class Sizing:
    model: str
    hf_id: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    gpu_memory_gib: float
    tensor_parallel_size: int
    replicas_per_instance: int
    weights_gib: float
    weights_per_gpu_gib: float
    runtime_overhead_gib: float
    kv_cache_bytes_per_token: int
    kv_cache_gib: float
    kv_cache_tokens: int
    max_model_len: int
    gpu_memory_utilization: float
    max_concurrent_sequences: int
    fits: bool
    reason: str = ""
    nodes_per_replica: int = 1  # > 1: TP within each node, one pipeline stage per node (EKS LeaderWorkerSet)

    @property
    def layout(self) -> str:
        """Nodes × GPUs and the parallelism, e.g. "2 × p5.48xlarge (16 GPUs): TP 8 × PP 2"."""
        gpus = self.tensor_parallel_size * self.nodes_per_replica
        return (
            f"{self.nodes_per_replica} × {self.instance_type} ({gpus} GPUs): "
            f"TP {self.tensor_parallel_size} × PP {self.nodes_per_replica}"
        )

    def as_plan(self) -> dict:
        """The plan's JSON shape (camelCase)."""
        return {
            "model": self.model,
            "hfId": self.hf_id,
            "instanceType": self.instance_type,
            "gpu": self.gpu,
            "gpusPerInstance": self.gpus_per_instance,
            "tensorParallelSize": self.tensor_parallel_size,
            "replicasPerInstance": self.replicas_per_instance,
            "weightsGiB": round(self.weights_gib, 2),
            "weightsPerGpuGiB": round(self.weights_per_gpu_gib, 2),
            "runtimeOverheadGiB": self.runtime_overhead_gib,
            "kvCacheBytesPerToken": self.kv_cache_bytes_per_token,
            "kvCacheGiB": round(self.kv_cache_gib, 2),
            "kvCacheTokens": self.kv_cache_tokens,
            "maxModelLen": self.max_model_len,
            "gpuMemoryUtilization": self.gpu_memory_utilization,
            "maxConcurrentSequences": self.max_concurrent_sequences,
            "fits": self.fits,
            "reason": self.reason,
            "nodesPerReplica": self.nodes_per_replica,
            "layout": self.layout,
        }


def kv_bytes_per_token(model: ModelSpec, tp: int = 1) -> int:
    """KV-cache bytes one token occupies on one GPU at tensor-parallel degree `tp`."""
    attention = model.attention
    if isinstance(attention, GqaAttention):
        heads_per_gpu = max(1, attention.num_kv_heads // tp)  # KV heads are replicated when TP > heads
        return 2 * model.num_layers * heads_per_gpu * attention.head_dim * KV_CACHE_DTYPE_BYTES
    return model.num_layers * (attention.kv_lora_rank + attention.qk_rope_head_dim) * KV_CACHE_DTYPE_BYTES


def size_at(
    model: ModelSpec,
    instance: InstanceFacts,
    tp: int,
    max_model_len: int,
    gpu_memory_utilization: float,
    engine: Engine = V1,
    cuda_total_bytes: float | None = None,
    usage: str = "openai",
    nodes: int = 1,
) -> Sizing:
    """Sizing of `model` on `instance` at one tensor-parallel degree. `cuda_total_bytes` is the per-GPU
    total CUDA reports when a log printed it; otherwise AWS's GPU memory × CUDA_VISIBLE_FRACTION. `usage` is
    how vLLM was started (Engine.scheduler_defaults)."""
    gpu = instance.gpu
    gpu_count = gpu.count if gpu else 0
    gpu_mib = gpu.memory_mib if gpu else 0
    device = cuda_total_bytes if cuda_total_bytes is not None else gpu_mib * MIB * CUDA_VISIBLE_FRACTION
    weights = model.weight_bytes
    per_gpu_weights = weights / (tp * nodes)  # PP: each node holds 1/nodes of the layers
    budget = device * gpu_memory_utilization
    tokens_profiled, seqs = engine.scheduler_defaults(device, gpu.name if gpu else "", max_model_len, usage)
    peak = profiling_peak_bytes(model, tokens_profiled, seqs, engine)
    overhead = (NON_TORCH_GIB + engine.cuda_graph_gib) * GIB + peak
    kv_memory = budget - per_gpu_weights - overhead
    per_token = math.ceil(kv_bytes_per_token(model, tp) / nodes)  # a GPU caches its stage's layers only
    tokens = int(kv_memory // per_token) if kv_memory > 0 else 0
    reason = ""
    if not instance.has_nvidia_gpu:
        reason = f"{instance.instance_type} has no NVIDIA GPU"
    elif tp > gpu_count:
        reason = f"needs {tp} GPUs, {instance.instance_type} has {gpu_count}"
    elif model.num_attention_heads % tp:
        reason = f"{model.num_attention_heads} attention heads do not split over {tp} GPUs"
    elif kv_memory <= 0:
        reason = (
            f"weights {per_gpu_weights / GIB:.1f} GiB/GPU + {overhead / GIB:.1f} GiB runtime overhead exceed "
            f"{budget / GIB:.1f} GiB usable per GPU"
        )
    elif tokens < max_model_len:
        reason = f"KV cache holds {tokens} tokens, fewer than maxModelLen {max_model_len}"
    return Sizing(
        model=model.key,
        hf_id=model.hf_id,
        instance_type=instance.instance_type,
        gpu=instance.describe_gpu(),
        gpus_per_instance=gpu_count,
        gpu_memory_gib=gpu_mib / 1024,
        tensor_parallel_size=tp,
        replicas_per_instance=(gpu_count // tp if gpu_count else 0) if nodes == 1 else 1,
        weights_gib=weights / GIB,
        weights_per_gpu_gib=per_gpu_weights / GIB,
        runtime_overhead_gib=round(overhead / GIB, 2),
        kv_cache_bytes_per_token=kv_bytes_per_token(model),
        kv_cache_gib=max(kv_memory, 0) * tp * nodes / GIB,
        kv_cache_tokens=tokens,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        max_concurrent_sequences=tokens // max_model_len,
        fits=not reason,
        reason=reason,
        nodes_per_replica=nodes,
    )


MAX_NODES_PER_REPLICA = 4


def size_across_nodes(
    model: ModelSpec, instance: InstanceFacts, max_model_len: int, gpu_memory_utilization: float
) -> Sizing | None:
    """When one instance cannot hold the model: the fewest nodes (2..MAX_NODES_PER_REPLICA) that can, at TP =
    the instance's GPUs and PP = nodes (vLLM's multi-node layout: TP within a node, PP across nodes).
    None when even that many do not fit."""
    if instance.gpu is None or not instance.has_nvidia_gpu:
        return None
    tp = instance.gpu.count
    for nodes in range(2, MAX_NODES_PER_REPLICA + 1):
        if model.num_layers < nodes:
            break
        attempt = size_at(model, instance, tp, max_model_len, gpu_memory_utilization, nodes=nodes)
        if attempt.fits:
            return attempt
    return None


def size(model: ModelSpec, instance: InstanceFacts, max_model_len: int, gpu_memory_utilization: float) -> Sizing:
    """The smallest power-of-two TP that fits; if none fits, the sizing at the largest TP tried."""
    attempt = None
    for tp in TP_DEGREES:
        if instance.gpu is not None and tp > instance.gpu.count and attempt is not None:
            break
        attempt = size_at(model, instance, tp, max_model_len, gpu_memory_utilization)
        if attempt.fits:
            return attempt
    assert attempt is not None
    return attempt


def size_pool(
    model: ModelSpec, instances: Iterable[InstanceFacts], max_model_len: int, gpu_memory_utilization: float
) -> list[Sizing]:
    """One task definition serves every instance type in a pool, so they share one TP degree: the
    largest any type needs. Returns each type's sizing at that shared degree (the first is the
    reference shown in the plan). A type that cannot run the shared degree names the type that forced it."""
    instances = list(instances)
    own = [size(model, i, max_model_len, gpu_memory_utilization) for i in instances]
    if not all(s.fits for s in own):
        return own
    shared_tp = max(s.tensor_parallel_size for s in own)
    forcing = [s.instance_type for s in own if s.tensor_parallel_size == shared_tp]
    shared = []
    for i, mine in zip(instances, own, strict=True):
        s = size_at(model, i, shared_tp, max_model_len, gpu_memory_utilization)
        if not s.fits and mine.tensor_parallel_size < shared_tp:
            s = _forced(s, mine, forcing)
        shared.append(s)
    return shared


def _forced(s: Sizing, mine: Sizing, forcing: list[str]) -> Sizing:
    by = " and ".join(forcing)
    reason = (
        f"{by} needs TP {s.tensor_parallel_size}, which the pool shares; {s.reason} "
        f"(alone it fits at TP {mine.tensor_parallel_size})"
    )
    return replace(s, reason=reason)


@dataclass(frozen=True)
class Alternative:
    sizing: Sizing
    hourly_usd: float


def fitting_alternatives(
    model: ModelSpec,
    candidates: Iterable[InstanceFacts],
    max_model_len: int,
    gpu_memory_utilization: float,
    hourly_price: dict[str, float],
) -> list[Alternative]:
    """Candidate instance types the model fits, cheapest on-demand hour first (ties by name). Types
    without a price in `hourly_price` are not candidates: the caller passes the region's price table."""
    out = []
    for c in candidates:
        price = hourly_price.get(c.instance_type)
        if price is None:
            continue
        s = size(model, c, max_model_len, gpu_memory_utilization)
        if s.fits:
            out.append(Alternative(s, price))
    return sorted(out, key=lambda a: (a.hourly_usd, a.sizing.instance_type))
