"""GPU sizing, checked against AWS's recorded instance data and published vLLM start-up figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from offline import recorded
from stacks.aws_facts import GpuFacts, InstanceFacts
from stacks.catalog import load_catalog
from stacks.sizing import GIB, fitting_alternatives, kv_bytes_per_token, size, size_at

PUBLISHED = yaml.safe_load((Path(__file__).parent / "data" / "vllm_published_memory.yaml").read_text())["records"]
CATALOG = load_catalog()


def facts(instance_type: str) -> InstanceFacts:
    """InstanceFacts from the recorded DescribeInstanceTypes data (as the mocks answer the program)."""
    data = recorded.instance_types()[instance_type]
    gpus = (data.get("GpuInfo") or {}).get("Gpus", [])
    gpu = (
        GpuFacts(
            gpus[0]["Name"], gpus[0]["Manufacturer"], sum(g["Count"] for g in gpus), gpus[0]["MemoryInfo"]["SizeInMiB"]
        )
        if gpus
        else None
    )
    return InstanceFacts(
        instance_type,
        data["VCpuInfo"]["DefaultVCpus"],
        data["MemoryInfo"]["SizeInMiB"],
        tuple(data["ProcessorInfo"]["SupportedArchitectures"]),
        gpu,
    )


def test_qwen_7b_fits_a_single_l4_g6_xlarge_at_4096():
    s = size(CATALOG.models["deepseek-r1-distill-qwen-7b"], facts("g6.xlarge"), 4096, 0.9)
    assert s.fits
    assert s.tensor_parallel_size == 1
    assert s.gpus_per_instance == 1
    # 7.62B bf16 parameters = 14.19 GiB of weights
    assert s.weights_gib == pytest.approx(14.19, abs=0.01)
    # 2 (K,V) × 28 layers × 4 KV heads × 128 head dim × 2 bytes
    assert s.kv_cache_bytes_per_token == 57344
    assert s.max_concurrent_sequences >= 1


def test_deepseek_v3_on_p5_is_refused_and_h200_or_b200_types_fit():
    v3 = CATALOG.models["deepseek-v3"]
    s = size(v3, facts("p5.48xlarge"), 8192, 0.9)
    assert not s.fits
    assert s.tensor_parallel_size == 8
    alternatives = [
        a.instance_type
        for a in fitting_alternatives(
            v3, [facts(t) for t in ("p5.48xlarge", "p5en.48xlarge", "p6-b200.48xlarge", "g6e.48xlarge")], 8192, 0.9
        )
    ]
    assert "p5en.48xlarge" in alternatives
    assert "p5.48xlarge" not in alternatives


def test_mla_kv_cache_is_the_compressed_latent_and_does_not_shrink_with_tp():
    v3 = CATALOG.models["deepseek-v3"]
    # 61 layers × (kv_lora_rank 512 + qk_rope_head_dim 64) × 2 bytes
    assert kv_bytes_per_token(v3, 1) == 61 * 576 * 2 == 70272
    assert kv_bytes_per_token(v3, 8) == 70272


def test_gqa_kv_cache_splits_over_tp_until_heads_run_out():
    qwen32 = CATALOG.models["deepseek-r1-distill-qwen-32b"]  # 8 KV heads
    assert kv_bytes_per_token(qwen32, 2) * 2 == kv_bytes_per_token(qwen32, 1)
    assert kv_bytes_per_token(qwen32, 16) == kv_bytes_per_token(qwen32, 8)


def test_tp_is_the_smallest_power_of_two_that_fits():
    llama70 = CATALOG.models["deepseek-r1-distill-llama-70b"]
    s = size(llama70, facts("g6e.12xlarge"), 8192, 0.9)  # 4× L40S 44.7 GiB: 131 GiB of weights needs 4
    assert (s.fits, s.tensor_parallel_size) == (True, 4)
    s = size(llama70, facts("g6e.48xlarge"), 8192, 0.9)
    assert s.tensor_parallel_size == 4


def test_tp_must_divide_attention_heads():
    qwen15 = CATALOG.models["deepseek-r1-distill-qwen-1.5b"]  # 12 attention heads
    s = size_at(qwen15, facts("g5.48xlarge"), 8, 4096, 0.9)
    assert not s.fits
    assert "attention heads" in s.reason


USABLE = [r for r in PUBLISHED if r.get("gpuMemoryGiB") and r.get("catalogKey") and not r.get("excludeFromMethodCheck")]


@pytest.mark.parametrize("record", USABLE, ids=[f"{r['model']}-{r['maxModelLen']}" for r in USABLE])
def test_method_matches_published_vllm_startup_figures(record):
    """Weights within 3 % and KV-cache tokens within 15 % of what vLLM printed (tests/data, sources inside)."""
    model = CATALOG.models[record["catalogKey"]]
    tp = record["tensorParallelSize"]
    gpu = InstanceFacts(
        "published", 8, 65536, ("x86_64",), GpuFacts(record["gpu"], "NVIDIA", tp, int(record["gpuMemoryGiB"] * 1024))
    )
    s = size_at(model, gpu, tp, record["maxModelLen"], record["gpuMemoryUtilization"])
    assert s.weights_per_gpu_gib == pytest.approx(record["weightsGiB"], rel=0.03)
    assert s.kv_cache_tokens == pytest.approx(record["kvCacheTokens"], rel=0.15)


def test_published_records_used_cover_at_least_three_models():
    assert len({r["catalogKey"] for r in USABLE}) >= 3


def test_weight_bytes_follow_published_checkpoint_sizes():
    # The bf16 distills: parameters × 2 bytes ≈ the safetensors total on Hugging Face.
    for key in ("deepseek-r1-distill-qwen-1.5b", "deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-qwen-14b"):
        spec = CATALOG.models[key]
        assert spec.weight_bytes / 1e9 == pytest.approx(spec.checkpoint_gb, rel=0.02), key
    assert CATALOG.models["deepseek-r1"].weight_bytes / GIB == pytest.approx(625, abs=1)  # 671B fp8
