"""Tiered serving (deepseek-cloud:tiers), platform-neutral: the resolved tiers, their checks, and the router
spec (components/shared/router.py) any platform builder hands to its router with its own tier URLs.

Kept out of stacks/config.py except for the pydantic models: load_stack calls `tier_problems` with the
parsed sections and puts the resolved tiers on the StackContext.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from components.shared import router
from stacks import aws_facts
from stacks.aws_facts import InstanceFacts
from stacks.catalog import ModelSpec, load_catalog
from stacks.errors import Problem, did_you_mean
from stacks.sizing import GIB, Sizing, kv_bytes_per_token, size_pool

# --- CPU sizing -----------------------------------------------------------------------------------------

# vLLM's CPU backend keeps the weights in host memory (bf16) and a KV cache of VLLM_CPU_KVCACHE_SPACE GiB
# (vLLM docs, "CPU" installation: "VLLM_CPU_KVCACHE_SPACE: specify the KV Cache size ... larger setting
# will allow vLLM to run more requests in parallel"). Stated assumptions, not measurements:
CPU_SEQUENCES = 4  # full-length sequences the KV cache holds (CPU decode is slow: few streams at once)
CPU_RUNTIME_GIB = 4.0  # torch, oneDNN scratch, Python, the API server
CPU_KERNEL_SHARE = 0.10  # as stacks/ecs.py KERNEL_SHARE
CPU_AGENT_MIB = 1024  # as stacks/ecs.py AGENT_RESERVED_MIB

# Published per-stream decode throughput of R1 distills on CPU (field notes, "Tiering and CPU serving",
# 2026-12; community runs): ~50 tok/s for the 1.5B distill on 48 vCPUs, ~17 tok/s for the 7B.
CPU_PUBLISHED = {
    "deepseek-r1-distill-qwen-1.5b": 50.0,
    "deepseek-r1-distill-qwen-7b": 17.0,
}
CPU_PUBLISHED_VCPUS = 48
CPU_SOURCE = (
    "field notes (shared/field-notes.md, Tiering and CPU serving, 2026-12): ~50 tok/s per stream for an R1 "
    "1.5B distill on 48 vCPUs, ~17 tok/s for 7B (community runs)"
)


@dataclass(frozen=True)
class CpuSizing:
    model: str
    instance_type: str
    vcpus: int
    memory_gib: float
    weights_gib: float
    kv_cache_gib: int  # VLLM_CPU_KVCACHE_SPACE
    runtime_gib: float
    memory_reservation_mib: int
    fits: bool
    reason: str
    tokens_per_second: float  # per stream, at this instance's vCPUs
    tokens_per_second_basis: str

    def as_plan(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "instanceType": self.instance_type,
            "vcpus": self.vcpus,
            "memoryGiB": round(self.memory_gib, 1),
            "weightsGiB": round(self.weights_gib, 2),
            "kvCacheGiB": self.kv_cache_gib,
            "runtimeGiB": self.runtime_gib,
            "memoryReservationMib": self.memory_reservation_mib,
            "fits": self.fits,
            "reason": self.reason,
            "tokensPerSecondPerStream": round(self.tokens_per_second, 1),
            "tokensPerSecondBasis": self.tokens_per_second_basis,
        }


def cpu_tokens_per_second(model: ModelSpec, vcpus: int) -> tuple[float, str]:
    """Per-stream decode tokens/s: the published figure scaled by vCPUs (assumption: linear below 48)."""
    scale = min(1.0, vcpus / CPU_PUBLISHED_VCPUS)
    if model.key in CPU_PUBLISHED:
        basis = f"published, scaled by {vcpus}/{CPU_PUBLISHED_VCPUS} vCPUs" if scale < 1 else "published"
        return CPU_PUBLISHED[model.key] * scale, f"{basis}: {CPU_SOURCE}"
    # Decode reads every active weight once per token: scale the 7B figure by active parameters.
    seven = load_catalog().resolve("deepseek-r1-distill-qwen-7b")
    assert seven is not None
    tps = CPU_PUBLISHED[seven.key] * seven.active_parameters_b / model.active_parameters_b * scale
    return tps, f"estimated from the 7B figure x {seven.active_parameters_b}/{model.active_parameters_b} active params"


def size_cpu(model: ModelSpec, instance: InstanceFacts, max_model_len: int) -> CpuSizing:
    weights = model.weight_bytes / GIB
    kv = max(1, math.ceil(kv_bytes_per_token(model) * max_model_len * CPU_SEQUENCES / GIB))
    usable_mib = math.floor(instance.memory_mib * (1 - CPU_KERNEL_SHARE)) - CPU_AGENT_MIB
    needed = weights + kv + CPU_RUNTIME_GIB
    reason = ""
    if instance.gpu is not None:
        reason = f"{instance.instance_type} has GPUs: a cpu tier runs on CPU-only types"
    elif needed * 1024 > usable_mib:
        reason = f"needs {needed:.1f} GiB (weights {weights:.1f} + KV {kv} + runtime), {usable_mib / 1024:.1f} usable"
    tps, basis = cpu_tokens_per_second(model, instance.vcpus)
    return CpuSizing(
        model=model.key,
        instance_type=instance.instance_type,
        vcpus=instance.vcpus,
        memory_gib=instance.memory_mib / 1024,
        weights_gib=weights,
        kv_cache_gib=kv,
        runtime_gib=CPU_RUNTIME_GIB,
        memory_reservation_mib=usable_mib,
        fits=not reason,
        reason=reason,
        tokens_per_second=tps,
        tokens_per_second_basis=basis,
    )


# --- resolved tiers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """An extra tier, checked against the catalog, AWS's instance facts and sizing."""

    name: str
    model: ModelSpec
    served_model_name: str
    max_model_len: int
    kind: str  # cpu | gpu
    instances: tuple[InstanceFacts, ...]
    gpu_sizing: tuple[Sizing, ...]  # gpu tiers
    cpu_sizing: tuple[CpuSizing, ...]  # cpu tiers
    config: Any  # the TierConfig

    @property
    def replicas_per_instance(self) -> int:
        if self.kind == "cpu":
            return 1  # one replica binds every core of its instance (OpenMP threads)
        return min(s.replicas_per_instance for s in self.gpu_sizing)


def _tier_names(tiers) -> list[str]:
    return [tiers.default_name, *(t.name for t in tiers.extra)]


def _rule_problems(tiers) -> list[Problem]:
    p: list[Problem] = []
    names = _tier_names(tiers)
    for i, rule in enumerate(tiers.rules):
        path = f"tiers.rules[{i}]"
        if rule.match == "header" and not rule.header:
            p.append(Problem(f"{path}.header", "a header rule needs the header name", "", "e.g. x-deepseek-tier"))
        if rule.match == "promptTokens":
            if rule.tier not in names:
                hint = did_you_mean(rule.tier, names)
                p.append(Problem(f"{path}.tier", "unknown tier", rule.tier, ", ".join(names), hint=hint))
            if rule.max_prompt_tokens <= 0:
                p.append(Problem(f"{path}.maxPromptTokens", "required for promptTokens", rule.max_prompt_tokens, "≥ 1"))
        elif rule.tier or rule.max_prompt_tokens:
            p.append(
                Problem(path, f"tier/maxPromptTokens belong to promptTokens rules, not {rule.match}", rule.tier, "")
            )
    for tier, chain in tiers.fallbacks.items():
        for name in (tier, *chain):
            if name not in names:
                hint = did_you_mean(name, names)
                p.append(Problem(f"tiers.fallbacks.{tier}", "unknown tier", name, ", ".join(names), hint=hint))
        if tier in chain:
            p.append(
                Problem(f"tiers.fallbacks.{tier}", "a tier cannot fall back to itself", list(chain), "other tiers")
            )
        if not chain:
            p.append(
                Problem(f"tiers.fallbacks.{tier}", "no fallback: requests would fail when it is down", [], "a tier")
            )
    return p


def tier_problems(
    tiers, model_cfg, platform: str, slo, alarms, scaling=None
) -> tuple[list[Problem], tuple[Tier, ...], list[str]]:
    """Every problem with deepseek-cloud:tiers, the resolved extra tiers, and warnings for the plan."""
    if tiers is None or not tiers.enabled:
        return [], (), []
    p: list[Problem] = []
    if platform == "eks" and scaling is not None:
        lowest = min([scaling.min_replicas, *(r.min_replicas for r in scaling.schedule)])
        if lowest < 1:
            # stacks/eks_tiers.py: the default tier sits behind the router, so no ALB 503 wakes it from zero.
            p.append(Problem("scaling.minReplicas", NO_WAKE, lowest, "≥ 1 (schedules included) on eks with tiers"))
    catalog = load_catalog()
    names = _tier_names(tiers)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        p.append(Problem("tiers.extra", "tier names must be distinct (defaultName included)", dupes, "distinct names"))
    if not tiers.rules:
        p.append(Problem("tiers.rules", "extra tiers but no routing rule", [], "e.g. [{match: model}]"))
    if tiers.router_model in {t.served_model_name or t.model for t in tiers.extra} | {model_cfg.name}:
        p.append(Problem("tiers.routerModel", "is a tier's model name", tiers.router_model, "another name, e.g. auto"))
    share = tiers.default_traffic_share + sum(t.traffic_share for t in tiers.extra)
    if abs(share - 1.0) > 1e-6:
        p.append(Problem("tiers", "trafficShare values must add up to 1", round(share, 4), "shares summing to 1"))
    p.extend(_rule_problems(tiers))
    resolved: list[Tier] = []
    warnings: list[str] = []
    for i, cfg in enumerate(tiers.extra):
        tier_p, tier = _resolve(i, cfg, catalog, platform)
        p.extend(tier_p)
        if tier is not None:
            resolved.append(tier)
            warnings.extend(_latency_warnings(tier, slo, alarms))
    return p, tuple(resolved), warnings


NO_WAKE = "behind the tier router nothing wakes a tier from zero replicas on EKS"


def _eks_problems(path: str, cfg) -> list[Problem]:
    """What stacks/eks_tiers.py builds: CPU extra tiers (each on its own NodePool), never at zero replicas."""
    p = []
    if cfg.capacity.kind != "cpu":
        p.append(Problem(f"{path}.capacity.kind", "EKS builds cpu extra tiers only", cfg.capacity.kind, "cpu"))
    if cfg.scaling.min_replicas < 1:
        p.append(Problem(f"{path}.scaling.minReplicas", NO_WAKE, cfg.scaling.min_replicas, "≥ 1 on eks"))
    return p


def _resolve(i: int, cfg, catalog, platform: str) -> tuple[list[Problem], Tier | None]:
    path = f"tiers.extra[{i}]"
    p: list[Problem] = _eks_problems(path, cfg) if platform == "eks" else []
    model = catalog.resolve(cfg.model)
    if model is None:
        hint = did_you_mean(cfg.model, catalog.names())
        return [Problem(f"{path}.model", "unknown model", cfg.model, ", ".join(catalog.names()), hint=hint)], None
    if cfg.max_model_len > model.max_context:
        p.append(Problem(f"{path}.maxModelLen", f"longer than {model.key}'s context", cfg.max_model_len, "≤ context"))
    cap, scaling = cfg.capacity, cfg.scaling
    if cap.min_size > cap.max_size:
        p.append(Problem(f"{path}.capacity.minSize", "above maxSize", cap.min_size, f"0–{cap.max_size}"))
    if scaling.min_replicas > scaling.max_replicas:
        p.append(Problem(f"{path}.scaling.minReplicas", "above maxReplicas", scaling.min_replicas, "≤ maxReplicas"))
    instances: list[InstanceFacts] = []
    for j, name in enumerate(cap.instance_types):
        facts = aws_facts.instance_type(name)
        ipath = f"{path}.capacity.instanceTypes[{j}]"
        if facts is None:
            p.append(Problem(ipath, "unknown instance type", name, "an EC2 instance type such as c7i.12xlarge"))
        elif cap.kind == "gpu" and not facts.has_nvidia_gpu:
            p.append(Problem(ipath, "a gpu tier needs an NVIDIA GPU type", name, "e.g. g6e.xlarge"))
        elif cap.kind == "cpu" and facts.gpu is not None:
            p.append(Problem(ipath, "a cpu tier runs on CPU-only types", name, "c7i/m7i (Intel AMX)"))
        elif platform == "ecs" and "x86_64" not in facts.architectures:
            p.append(Problem(ipath, "ECS tiers run x86_64 images here", name, "x86_64 types such as c7i.12xlarge"))
        elif not aws_facts.offered_zones(name):
            p.append(Problem(ipath, "not offered in this region", name, "a type the region offers"))
        else:
            instances.append(facts)
    if p or len(instances) != len(cap.instance_types):
        return p, None
    gpu_sizing: tuple[Sizing, ...] = ()
    cpu_sizing: tuple[CpuSizing, ...] = ()
    if cap.kind == "gpu":
        gpu_sizing = tuple(size_pool(model, instances, cfg.max_model_len, 0.9))
        misfits = [s for s in gpu_sizing if not s.fits]
    else:
        cpu_sizing = tuple(size_cpu(model, f, cfg.max_model_len) for f in instances)
        misfits = [s for s in cpu_sizing if not s.fits]
    for s in misfits:
        j = cap.instance_types.index(s.instance_type)
        p.append(
            Problem(
                f"{path}.capacity.instanceTypes[{j}]",
                f"{model.key} does not fit: {s.reason}",
                s.instance_type,
                "a larger type",
            )
        )
    tier = Tier(
        name=cfg.name,
        model=model,
        served_model_name=cfg.served_model_name or model.key,
        max_model_len=cfg.max_model_len,
        kind=cap.kind,
        instances=tuple(instances),
        gpu_sizing=gpu_sizing,
        cpu_sizing=cpu_sizing,
        config=cfg,
    )
    if not misfits and scaling.max_replicas > cap.max_size * tier.replicas_per_instance:
        hosts = cap.max_size * tier.replicas_per_instance
        p.append(
            Problem(
                f"{path}.scaling.maxReplicas",
                f"capacity.maxSize {cap.max_size} hosts {hosts}",
                scaling.max_replicas,
                f"1–{hosts}",
            )
        )
    return p, (None if p else tier)


def _latency_warnings(tier: Tier, slo, alarms) -> list[str]:
    """A CPU tier of a reasoning model (the R1 distills think for thousands of tokens) against the stack's
    latency targets: slo.tpotP99Seconds per token, alarms.p99LatencySeconds for a whole answer."""
    if tier.kind != "cpu":
        return []
    s = min(tier.cpu_sizing, key=lambda c: c.tokens_per_second)
    out = []
    if s.tokens_per_second < 1 / slo.tpot_p99_seconds:
        out.append(
            f"tier {tier.name}: {tier.model.key} on {s.instance_type} decodes ~{s.tokens_per_second:.0f} tok/s per "
            f"stream ({CPU_SOURCE}), slower than slo.tpotP99Seconds {slo.tpot_p99_seconds} s/token"
        )
    longest = tier.max_model_len / s.tokens_per_second
    if "r1" in tier.model.key and longest > alarms.p99_latency_seconds:
        out.append(
            f"tier {tier.name}: a reasoning trace of maxModelLen {tier.max_model_len} tokens takes ~{longest:.0f} s "
            f"at ~{s.tokens_per_second:.0f} tok/s on {s.instance_type}, above alarms.p99LatencySeconds "
            f"{alarms.p99_latency_seconds} s: route long reasoning to a GPU tier"
        )
    return out


# --- router spec --------------------------------------------------------------------------------------------


def default_fallbacks(names: list[str]) -> dict[str, tuple[str, ...]]:
    """Every tier falls back to the others, in order (the default tier first): never to nothing."""
    return {n: tuple(m for m in names if m != n) for n in names}


def router_spec(ctx, api_bases: dict[str, str], key_envs: dict[str, str]) -> router.RouterSpec:
    """The router for `ctx`'s tiers, each reached at `api_bases[tier]` with the key in env `key_envs[tier]`."""
    tiers = ctx.config.tiers
    default_served = ctx.config.model.served_model_name or ctx.model.key
    entries = [(tiers.default_name, default_served)] + [(t.name, t.served_model_name) for t in ctx.tiers]
    names = [n for n, _ in entries]
    fallbacks = {k: tuple(v) for k, v in tiers.fallbacks.items()} or default_fallbacks(names)
    return router.RouterSpec(
        default_tier=tiers.default_name,
        tiers=tuple(router.RouterTier(n, served, api_bases[n], key_envs[n]) for n, served in entries),
        rules=tuple(
            router.RouteRule(r.match, header=r.header, max_prompt_tokens=r.max_prompt_tokens, tier=r.tier)
            for r in tiers.rules
        ),
        fallbacks=fallbacks,
        router_model=tiers.router_model,
    )


def key_env(tier: str) -> str:
    return f"TIER_{tier.upper()}_API_KEY"
