"""GPU sizing: does a model fit an instance type, at which tensor-parallel degree, with how much KV cache.

Method (mirrors how vLLM budgets GPU memory at start-up):
  per-GPU budget  = GPU memory × gpuMemoryUtilization
  KV-cache memory = budget − weights / TP − runtime overhead          (per GPU)
  KV bytes/token  = GQA: 2 (K and V) × layers × KV heads per GPU × head dim × 2 bytes (bf16 cache)
                    MLA: layers × (kv_lora_rank + qk_rope_head_dim) × 2 bytes; vLLM keeps the
                         compressed latent on every TP rank, so it does not shrink with TP
  KV tokens       = KV-cache memory / KV bytes per token per GPU
  A model fits when KV tokens ≥ maxModelLen: vLLM refuses to start otherwise ("max seq len is larger
  than the maximum number of tokens that can be stored in KV cache").
  TP is the smallest power of two that fits, at most the GPUs on the instance, and divides the
  attention heads (a vLLM requirement).

Runtime overhead per GPU: CUDA context and non-torch allocations, the profiling run's peak
activations and CUDA graphs. RUNTIME_OVERHEAD_GIB is checked against published vLLM start-up logs in
tests/test_sizing.py (tests/data/vllm_published_memory.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stacks.aws_facts import InstanceFacts
from stacks.catalog import GqaAttention, ModelSpec

GIB = 1024**3
MIB = 1024**2
KV_CACHE_DTYPE_BYTES = 2  # vLLM's default kv_cache_dtype "auto" = the model's bf16 activations
RUNTIME_OVERHEAD_GIB = 2.0
TP_DEGREES = (1, 2, 4, 8, 16)


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
    overhead_gib: float = RUNTIME_OVERHEAD_GIB,
) -> Sizing:
    """Sizing of `model` on `instance` at one tensor-parallel degree."""
    gpu = instance.gpu
    gpu_count = gpu.count if gpu else 0
    gpu_mib = gpu.memory_mib if gpu else 0
    weights = model.weight_bytes
    per_gpu_weights = weights / tp
    budget = gpu_mib * MIB * gpu_memory_utilization
    kv_memory = budget - per_gpu_weights - overhead_gib * GIB
    per_token = kv_bytes_per_token(model, tp)
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
            f"weights {per_gpu_weights / GIB:.1f} GiB/GPU + {overhead_gib} GiB overhead exceed "
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
        replicas_per_instance=gpu_count // tp if gpu_count else 0,
        weights_gib=weights / GIB,
        weights_per_gpu_gib=per_gpu_weights / GIB,
        runtime_overhead_gib=overhead_gib,
        kv_cache_bytes_per_token=kv_bytes_per_token(model),
        kv_cache_gib=max(kv_memory, 0) * tp / GIB,
        kv_cache_tokens=tokens,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        max_concurrent_sequences=tokens // max_model_len,
        fits=not reason,
        reason=reason,
    )


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
    reference shown in the plan)."""
    instances = list(instances)
    own = [size(model, i, max_model_len, gpu_memory_utilization) for i in instances]
    if not all(s.fits for s in own):
        return own
    shared_tp = max(s.tensor_parallel_size for s in own)
    return [size_at(model, i, shared_tp, max_model_len, gpu_memory_utilization) for i in instances]


def fitting_alternatives(
    model: ModelSpec, candidates: Iterable[InstanceFacts], max_model_len: int, gpu_memory_utilization: float
) -> list[Sizing]:
    """Candidate instance types the model fits, cheapest GPU footprint first."""
    fits = [size(model, c, max_model_len, gpu_memory_utilization) for c in candidates]
    fits = [s for s in fits if s.fits]
    return sorted(fits, key=lambda s: (s.tensor_parallel_size * s.gpu_memory_gib, s.instance_type))
