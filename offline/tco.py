"""`make tco`: cost per output token and the cloud-vs-on-prem case for a stack, from stated inputs.

Inputs: the workload, tiered mix and on-prem presets in stacks/tco.yaml (each constant cited there); cloud
prices from stacks/pricing.yaml through stacks/cost.py `estimate`; throughput per replica from the published
measurements in stacks/data/throughput.yaml or, where none exists for a (model, GPU, TP), the decode roofline:

  bytes read per decode step per GPU = W + B × C × K
      W = weights read: active parameters × bytes/param ÷ TP; for MoE the routed experts touched by a batch
          of B tokens: W_active + (W_total − W_active) × (1 − (1 − k/E)^B) (k experts per token of E)
      C = mean context during decode = input + output ÷ 2 tokens; K = KV-cache bytes/token/GPU (sizing)
  step time = bytes ÷ memory bandwidth; aggregate output tokens/s = B ÷ step time
  B = min(vLLM max_num_seqs, KV-cache tokens ÷ (input + output), the largest B whose step ≤ the TPOT target)
  estimate = efficiency × roofline; efficiency = median(measured ÷ roofline) over the measured rows.
A measured row taken at other token lengths is scaled by roofline(workload) ÷ roofline(row lengths).

Cloud monthly = replica-hours × replica-hour price + the stack's fixed costs (cost.estimate): replica-hours =
max(min replicas, ⌈average demand ÷ throughput⌉) over the active hours + the pool's minimum outside them.
On-prem monthly per server = price ÷ (years × 12) + kW × mean-power fraction × PUE × 730 h × $/kWh +
kW × hosting $/kW-month + staff; the fleet is bought for the PEAK (⌈peak demand ÷ server throughput⌉).
Break-even utilisation = on-prem monthly per server ÷ (730 h × cloud price of the same token capacity).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks import cost
from stacks import tiers as tiers_mod
from stacks.aws_facts import GpuFacts, InstanceFacts
from stacks.catalog import ModelSpec, load_catalog
from stacks.sizing import GIB, V1, Sizing, kv_bytes_per_token, size, size_at
from stacks.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
INPUTS_PATH = ROOT / "stacks" / "tco.yaml"
THROUGHPUT_PATH = ROOT / "stacks" / "data" / "throughput.yaml"
HOURS = cost.HOURS_PER_MONTH
DAYS_PER_MONTH = HOURS / 24
# The cloud type whose GPU each measured row ran on: its recorded facts size the row's roofline.
GPU_INSTANCE = {
    "A100-80GB": "p4de.24xlarge",
    "A100-40GB": "p4d.24xlarge",
    "H100": "p5.48xlarge",
    "H200": "p5en.48xlarge",
    "L40S": "g6e.12xlarge",
    "L4": "g6.12xlarge",
    "A10G": "g5.12xlarge",
}
UTILISATIONS = tuple(round(0.05 * i, 2) for i in range(1, 21))


@functools.cache
def inputs() -> dict[str, Any]:
    return read_yaml(INPUTS_PATH)


@functools.cache
def throughput_rows() -> tuple[dict[str, Any], ...]:
    return tuple(read_yaml(THROUGHPUT_PATH)["rows"])


@dataclass(frozen=True)
class Workload:
    requests_per_day: float
    input_tokens: int
    output_tokens: int
    active_hours: float
    peak_to_average: float
    tpot_ms: float | None

    @property
    def average_rps(self) -> float:
        """Requests per second within the active hours."""
        return self.requests_per_day / (self.active_hours * 3600)

    @property
    def average_output_tps(self) -> float:
        return self.average_rps * self.output_tokens

    @property
    def peak_output_tps(self) -> float:
        return self.average_output_tps * self.peak_to_average

    @property
    def monthly_output_tokens(self) -> float:
        return self.requests_per_day * self.output_tokens * DAYS_PER_MONTH

    def as_dict(self) -> dict[str, Any]:
        return {
            "requestsPerDay": self.requests_per_day,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "activeHoursPerDay": self.active_hours,
            "peakToAverage": self.peak_to_average,
            "latencyTargetTpotMs": self.tpot_ms,
            "averageRequestsPerSecond": round(self.average_rps, 3),
            "peakRequestsPerSecond": round(self.average_rps * self.peak_to_average, 3),
            "averageOutputTokensPerSecond": round(self.average_output_tps, 1),
            "peakOutputTokensPerSecond": round(self.peak_output_tps, 1),
            "monthlyOutputTokens": round(self.monthly_output_tokens),
        }


def workload_for(environment: str, data: dict[str, Any] | None = None) -> Workload:
    w = dict((data or inputs())["workload"])
    w.update(w.pop("byEnvironment", {}).get(environment) or {})
    return Workload(
        requests_per_day=float(w["requestsPerDay"]),
        input_tokens=int(w["inputTokens"]),
        output_tokens=int(w["outputTokens"]),
        active_hours=float(w["activeHoursPerDay"]),
        peak_to_average=float(w["peakToAverage"]),
        tpot_ms=w.get("latencyTargetTpotMs"),
    )


# --- hardware -------------------------------------------------------------------------------------


@functools.cache
def instance_facts(instance_type: str) -> InstanceFacts:
    """DescribeInstanceTypes from the recorded AWS data (the offline plan's source for the same call)."""
    from offline import recorded

    data = recorded.instance_types()[instance_type]
    gpus = (data.get("GpuInfo") or {}).get("Gpus") or []
    gpu = None
    if gpus:
        g = gpus[0]
        gpu = GpuFacts(g["Name"], g["Manufacturer"], int(g["Count"]), int(g["MemoryInfo"]["SizeInMiB"]))
    arch = tuple(data["ProcessorInfo"]["SupportedArchitectures"])
    return InstanceFacts(
        instance_type, int(data["VCpuInfo"]["DefaultVCpus"]), int(data["MemoryInfo"]["SizeInMiB"]), arch, gpu
    )


def gpu_key(facts: InstanceFacts) -> str:
    name = facts.gpu.name if facts.gpu else "none"
    if name == "A100":
        return "A100-80GB" if facts.gpu.memory_mib > 60 * 1024 else "A100-40GB"
    return name


def bandwidth_gbs(key: str) -> float:
    return float(inputs()["roofline"]["gpuBandwidthGBs"][key])


# --- throughput -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    tokens_per_second: float  # output tokens/s of one replica
    kind: str  # "measured" | "estimated"
    basis: str
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outputTokensPerSecond": round(self.tokens_per_second, 1),
            "kind": self.kind,
            "basis": self.basis,
            "source": self.source,
        }


def weights_read_bytes(model: ModelSpec, tp: int, batch: int) -> float:
    active = model.active_parameters_b * 1e9 * model.bytes_per_param
    if model.moe is None:
        return active / tp
    total = model.weight_bytes
    touched = 1 - (1 - model.moe.experts_per_token / model.moe.routed_experts) ** batch
    return (active + (total - active) * touched) / tp


def roofline(model: ModelSpec, sizing: Sizing, gpu: str, input_tokens: int, output_tokens: int, tpot_ms=None):
    """(aggregate output tokens/s, batch, step seconds) of one replica at the memory-bandwidth bound."""
    bw = bandwidth_gbs(gpu) * 1e9
    kv = kv_bytes_per_token(model, sizing.tensor_parallel_size)
    context = input_tokens + output_tokens / 2
    gpu_bytes = sizing.gpu_memory_gib * GIB
    max_seqs = V1.scheduler_defaults(gpu_bytes, gpu, sizing.max_model_len)[1]
    kv_cap = max(1, sizing.kv_cache_tokens // (input_tokens + output_tokens))
    batch = min(max_seqs, kv_cap)
    if tpot_ms:
        budget = bw * tpot_ms / 1000
        while (
            batch > 1 and weights_read_bytes(model, sizing.tensor_parallel_size, batch) + batch * context * kv > budget
        ):
            batch -= 1
    step = (weights_read_bytes(model, sizing.tensor_parallel_size, batch) + batch * context * kv) / bw
    return batch / step, batch, step


@functools.cache
def _row_roofline(row_id: str) -> tuple[float, float]:
    """(roofline at the row's own lengths, its efficiency measured ÷ roofline) for one measured row."""
    row = next(r for r in throughput_rows() if r["id"] == row_id)
    model = load_catalog().models[row["catalogKey"]]
    tp = int(row.get("standsForTensorParallel") or row["tensorParallel"])
    sizing = size_at(model, instance_facts(GPU_INSTANCE[row["gpu"]]), tp, 8192, 0.9)
    tps, _, _ = roofline(model, sizing, row["gpu"], row["inputTokens"], row["outputTokens"])
    return tps, row["outputTokensPerSecond"] / tps


@functools.cache
def efficiency() -> float:
    """Median of measured ÷ roofline over the measured rows: how far real serving falls below the bound."""
    unique = {(r["source"], r["model"], r["gpu"]): r["id"] for r in throughput_rows()}  # one row can stand for two keys
    return statistics.median(_row_roofline(row_id)[1] for row_id in unique.values())


def measured_row(model_key: str, gpu: str, tp: int) -> dict[str, Any] | None:
    for row in throughput_rows():
        row_tp = int(row.get("standsForTensorParallel") or row["tensorParallel"])
        if row["catalogKey"] == model_key and row["gpu"] == gpu and row_tp == tp:
            return row
    return None


def replica_throughput(model: ModelSpec, sizing: Sizing, gpu: str, workload: Workload) -> Throughput:
    tp = sizing.tensor_parallel_size
    here, batch, step = roofline(model, sizing, gpu, workload.input_tokens, workload.output_tokens, workload.tpot_ms)
    row = measured_row(model.key, gpu, tp)
    if row is not None:
        at_row, _ = _row_roofline(row["id"])
        scaled = row["outputTokensPerSecond"] * here / at_row
        basis = (
            f"measured {row['outputTokensPerSecond']} tok/s: {row['model']} on {row['gpus']}× {gpu} "
            f"({row['precision']}, {row['engine']}, {row['dataset']} "
            f"{row['inputTokens']}/{row['outputTokens']} tokens, "
            f"concurrency {row['concurrency']}), × roofline ratio {here / at_row:.2f} for "
            f"{workload.input_tokens}/{workload.output_tokens} tokens"
            + (f"; proxy: {row['proxy']}" if row.get("proxy") else "")
        )
        return Throughput(scaled, "measured", basis, row["source"])
    eta = efficiency()
    basis = (
        f"estimated: {eta:.2f} (efficiency) × roofline {here:,.0f} tok/s = batch {batch} ÷ step "
        f"{step * 1000:.1f} ms; step = (weights {weights_read_bytes(model, tp, batch) / 1e9:.1f} GB + {batch} × "
        f"{workload.input_tokens + workload.output_tokens / 2:.0f} tokens × {kv_bytes_per_token(model, tp):,} B) "
        f"÷ {bandwidth_gbs(gpu):g} GB/s ({gpu}, TP {tp})"
    )
    return Throughput(eta * here, "estimated", basis)


def throughput_on(model: ModelSpec, instance_type: str, workload: Workload, max_model_len: int, gmu: float = 0.9):
    """(sizing, per-replica throughput) of `model` on `instance_type`, or (sizing, None) when it does not fit."""
    facts = instance_facts(instance_type)
    sizing = size(model, facts, min(max_model_len, model.max_context), gmu)
    if not sizing.fits:
        return sizing, None
    return sizing, replica_throughput(model, sizing, gpu_key(facts), workload)


# --- the report -----------------------------------------------------------------------------------


def per_million(monthly_usd: float, monthly_tokens: float) -> float:
    return monthly_usd / (monthly_tokens / 1e6)


def cloud_block(est: dict, workload: Workload, tps: float, min_replicas: int, idle_replicas: int) -> dict[str, Any]:
    """Replicas, $/hour, $/month and $ per 1M output tokens, all on-demand and at the stack's spot mix."""
    rh = est["replicaHour"]
    discount = float(inputs()["cloud"]["savingsPlanDiscount"])
    prices = {"onDemand": rh["onDemand"] * (1 - discount), "atSpotMix": rh["atSpotMix"]}
    peak = math.ceil(workload.peak_output_tps / tps)
    average = max(min_replicas, math.ceil(workload.average_output_tps / tps))
    replica_hours = (average * workload.active_hours + idle_replicas * (24 - workload.active_hours)) * DAYS_PER_MONTH
    out: dict[str, Any] = {
        "replicasAtPeak": peak,
        "replicasAtAverage": average,
        "replicasIdle": idle_replicas,
        "replicaHoursPerMonth": round(replica_hours, 1),
        "fixedMonthly": est["fixedMonthly"],
        "idleMonthly": est["idle"]["monthly"],
        "savingsPlanDiscount": discount,
    }
    for label, price in prices.items():
        monthly = replica_hours * price + est["fixedMonthly"]
        out[label] = {
            "replicaHour": round(price, 4),
            "hourlyAtPeak": round(peak * price + est["fixedHourly"], 2),
            "hourlyAverage": round(monthly / HOURS, 2),
            "monthly": round(monthly, 2),
            "perMillionOutputTokens": round(per_million(monthly, workload.monthly_output_tokens), 4),
            "perMillionAtFullUtilisation": round(price / (tps * 3600) * 1e6, 4),
        }
    return out


def spot_share(est: dict) -> float:
    top = est["max"]
    return top["spotInstances"] / top["instances"] if top["instances"] else 0.0


def tier_price(est: dict, region: str, instance_type: str) -> float:
    """An instance-hour at the stack's spot share (on-demand where the snapshot has no spot price)."""
    prices = cost.load_prices()
    od = prices.on_demand(region, instance_type) or 0.0
    spot = prices.spot(region, instance_type) or od
    share = spot_share(est)
    return (1 - share) * od + share * spot


def _share_workload(workload: Workload, share: float, output_tokens: int) -> Workload:
    return Workload(
        workload.requests_per_day * share,
        workload.input_tokens,
        output_tokens,
        workload.active_hours,
        workload.peak_to_average,
        workload.tpot_ms,
    )


def _extra_tier_throughput(tier, workload: Workload) -> Throughput:
    """Per-replica output tokens/s of an extra tier: CPU from its sizing (per-stream figure × the streams its KV
    cache holds, assumed to add up without slowdown), GPU as any pool (measured or roofline)."""
    if tier.kind == "cpu":
        s = min(tier.cpu_sizing, key=lambda c: c.tokens_per_second)
        streams = tiers_mod.CPU_SEQUENCES
        basis = (
            f"estimated: {s.tokens_per_second:.1f} tok/s per stream × {streams} streams (assumed linear); "
            f"{s.tokens_per_second_basis}"
        )
        return Throughput(s.tokens_per_second * streams, "estimated", basis)
    _, tput = throughput_on(tier.model, tier.instances[0].instance_type, workload, tier.max_model_len)
    return tput


def stack_tiered_block(ctx, est: dict, workload: Workload, big: dict, big_tps: float) -> dict[str, Any]:
    """The blended cost of the stack's own tiers (deepseek-cloud:tiers) at the workload split by trafficShare:
    each tier runs max(minReplicas, replicas for its share) in the active hours and minReplicas otherwise."""
    t = est["tiers"]
    rows, monthly, tokens = [], est["fixedMonthly"], 0.0
    idle_hours = (24 - workload.active_hours) * DAYS_PER_MONTH
    for row in t["tiers"]:
        wl = _share_workload(workload, row["trafficShare"], workload.output_tokens)
        if row["name"] == ctx.config.tiers.default_name:
            tput = Throughput(big_tps, "stack", "the stack's replica throughput (key `throughput`)")
            idle = big["replicasIdle"]
        else:
            tier = next(x for x in ctx.tiers if x.name == row["name"])
            tput = _extra_tier_throughput(tier, wl)
            idle = row["replicas"]["min"]
        active = max(row["replicas"]["min"], math.ceil(wl.average_output_tps / tput.tokens_per_second))
        hours = active * workload.active_hours * DAYS_PER_MONTH + idle * idle_hours
        monthly += hours * row["replicaHourly"]
        tokens += wl.monthly_output_tokens
        rows.append(
            {**row, "throughput": tput.as_dict(), "replicasActive": active, "replicaHoursPerMonth": round(hours, 1)}
        )
    cheap = max(rows[1:], key=lambda r: r["trafficShare"])
    return {
        "share": cheap["trafficShare"],
        "cheapModel": cheap["model"],
        "cheapInstanceType": cheap["instanceType"],
        "cheapThroughput": cheap["throughput"],
        "cheapReplicaHour": cheap["replicaHourly"],
        "monthly": round(monthly, 2),
        "hourly": round(monthly / HOURS, 4),
        "perMillionOutputTokens": round(per_million(monthly, tokens), 4),
        "tiers": rows,
        "source": f"the stack's deepseek-cloud:tiers (trafficShare per tier) at the stacks/tco.yaml "
        f"{ctx.config.environment} workload; fixed costs include the router and internal load balancers",
    }


def tiered_block(ctx, est: dict, model: ModelSpec, workload: Workload, big: dict, big_tps: float) -> dict[str, Any]:
    if "tiers" in est:
        return stack_tiered_block(ctx, est, workload, big, big_tps)
    t = inputs()["tiered"]
    cheap_model = load_catalog().models[t["cheapModel"]]
    cheap_wl = Workload(
        workload.requests_per_day * t["share"],
        workload.input_tokens,
        int(t["cheapOutputTokens"]),
        workload.active_hours,
        workload.peak_to_average,
        workload.tpot_ms,
    )
    sizing, cheap = throughput_on(cheap_model, t["cheapInstanceType"], cheap_wl, ctx.config.model.max_model_len)
    cheap_hour = tier_price(est, ctx.region, t["cheapInstanceType"]) / max(1, sizing.replicas_per_instance)
    big_wl = Workload(
        workload.requests_per_day * (1 - t["share"]),
        workload.input_tokens,
        workload.output_tokens,
        workload.active_hours,
        workload.peak_to_average,
        workload.tpot_ms,
    )
    big_hours = max(1, math.ceil(big_wl.average_output_tps / big_tps)) * workload.active_hours * DAYS_PER_MONTH
    cheap_hours = (
        math.ceil(cheap_wl.average_output_tps / cheap.tokens_per_second) * workload.active_hours * DAYS_PER_MONTH
    )
    idle = big["replicasIdle"] * (24 - workload.active_hours) * DAYS_PER_MONTH
    monthly = (big_hours + idle) * big["atSpotMix"]["replicaHour"] + cheap_hours * cheap_hour + est["fixedMonthly"]
    tokens = big_wl.monthly_output_tokens + cheap_wl.monthly_output_tokens
    return {
        "share": t["share"],
        "cheapModel": cheap_model.key,
        "cheapInstanceType": t["cheapInstanceType"],
        "cheapThroughput": cheap.as_dict(),
        "cheapReplicaHour": round(cheap_hour, 4),
        "monthly": round(monthly, 2),
        "perMillionOutputTokens": round(per_million(monthly, tokens), 4),
        "source": "stacks/tco.yaml tiered (a stand-in: the stack has no deepseek-cloud:tiers)",
    }


def on_prem_block(
    ctx, model: ModelSpec, workload: Workload, preset: tuple[str, dict], stack: tuple[float, float]
) -> dict[str, Any]:
    """One on-prem preset at the workload. `stack`: (this stack's $ per output-tok/s-hour at its spot mix, its
    monthly cost at the workload)."""
    name, preset = preset
    stack_cost_per_tps_hour, stack_monthly = stack
    o = inputs()["onPrem"]
    capex = preset.get("priceUsd") or preset["priceCny"] / o["exchangeRateCnyPerUsd"]
    sizing, tput = throughput_on(model, preset["equivalentInstanceType"], workload, ctx.config.model.max_model_len)
    out: dict[str, Any] = {
        "preset": name,
        "description": preset["description"],
        "capexUsd": round(capex, 2),
        "equivalentInstanceType": preset["equivalentInstanceType"],
    }
    if "priceCny" in preset:
        out["capexCny"] = preset["priceCny"]
        out["exchangeRateCnyPerUsd"] = o["exchangeRateCnyPerUsd"]
    if tput is None:
        return {**out, "fits": False, "reason": sizing.reason}
    server_tps = tput.tokens_per_second * sizing.replicas_per_instance
    lines = {
        "depreciation": capex / (preset["depreciationYears"] * 12),
        "power": preset["powerKw"] * o["averagePowerFraction"] * o["pue"] * HOURS * o["electricityUsdPerKwh"],
        "hosting": preset["powerKw"] * o["hostingUsdPerKwMonth"],
        "staff": o["staffUsdPerYear"] / 12 * o["staffFtePerServer"],
    }
    per_server = sum(lines.values())
    servers = max(1, math.ceil(workload.peak_output_tps / server_tps))
    monthly = servers * per_server
    od = cost.load_prices().on_demand(ctx.region, preset["equivalentInstanceType"])
    capacity_tokens = servers * server_tps * HOURS * 3600
    cloud_same_hw = od * HOURS if od else None
    cloud_stack = stack_cost_per_tps_hour * server_tps * HOURS
    opex = servers * (per_server - lines["depreciation"])
    months = servers * capex / (stack_monthly - opex) if stack_monthly > opex else None
    return {
        **out,
        "fits": True,
        "tensorParallel": sizing.tensor_parallel_size,
        "replicasPerServer": sizing.replicas_per_instance,
        "serverOutputTokensPerSecond": round(server_tps, 1),
        "throughput": tput.as_dict(),
        "monthlyPerServer": {k: round(v, 2) for k, v in lines.items()} | {"total": round(per_server, 2)},
        "serversForPeak": servers,
        "monthly": round(monthly, 2),
        "perMillionOutputTokens": round(per_million(monthly, workload.monthly_output_tokens), 4),
        "utilisationAtWorkload": round(workload.monthly_output_tokens / capacity_tokens, 4),
        "breakEvenUtilisation": {
            "vsSameHardwareOnDemand": round(per_server / cloud_same_hw, 4) if cloud_same_hw else None,
            "vsStackAtSpotMix": round(per_server / cloud_stack, 4),
        },
        "breakEvenMonthsVsStack": round(months, 1) if months is not None else None,
        "sameHardwareOnDemandHourly": od,
    }


def sensitivity(per_server: float, server_tps: float, prices_per_tps_hour: dict[str, float]) -> list[dict]:
    """Monthly cost of the token volume one on-prem server makes at utilisation u: on-prem is flat, the cloud
    (ideal autoscaling, fixed costs left out) grows with u."""
    rows = []
    for u in UTILISATIONS:
        tokens = u * server_tps * HOURS * 3600
        row = {"utilisation": u, "onPrem": round(per_server, 2)}
        for label, price in prices_per_tps_hour.items():
            row[label] = round(u * server_tps * HOURS * price, 2)
        row["onPremPerMillion"] = round(per_million(per_server, tokens), 4)
        rows.append(row)
    return rows


def seed_claims(est: dict, tco: dict, workload: Workload) -> dict[str, Any]:
    """What the seed article's round numbers would require, computed from this stack's figures."""
    replica_hours = tco["cloud"]["replicaHoursPerMonth"]
    gpu_od = replica_hours * tco["cloud"]["onDemand"]["replicaHour"]
    fixed = est["fixedMonthly"]
    share = spot_share(est)
    saving = 1 - tco["cloud"]["atSpotMix"]["monthly"] / tco["cloud"]["onDemand"]["monthly"]
    needed_at_mix = 0.7 * (gpu_od + fixed) / (share * gpu_od) if share and gpu_od else None
    needed_all_spot = 0.7 * (gpu_od + fixed) / gpu_od if gpu_od else None
    tier = tco["tiered"]
    big = tco["cloud"]["atSpotMix"]["perMillionAtFullUtilisation"]
    cheap = tier["cheapReplicaHour"] / (tier["cheapThroughput"]["outputTokensPerSecond"] * 3600) * 1e6
    gpu_mix = replica_hours * tco["cloud"]["atSpotMix"]["replicaHour"]
    routing = 0.35 * (gpu_mix + fixed) / (gpu_mix * (1 - cheap / big)) if cheap < big and gpu_mix else None
    seed = next((p for p in tco["onPrem"] if p["preset"] == "seed-a100"), None)
    a100 = [r for r in throughput_rows() if r["gpu"].startswith("A100")]
    best = max(a100, key=lambda r: r["requestsPerSecond"] / r["gpus"])
    return {
        "spotMinus70": {
            "snapshotSpotDiscount": est["spotDiscountAssumed"],
            "stackSpotShare": round(share, 4),
            "stackSavingWithSpot": round(saving, 4),
            "discountNeededAtStackMix": round(needed_at_mix, 4) if needed_at_mix else None,
            "discountNeededAllSpot": round(needed_all_spot, 4) if needed_all_spot else None,
        },
        "routingMinus35": {
            "cheapToBigCostPerToken": round(cheap / big, 4),
            "shareNeeded": round(routing, 4) if routing else None,
            "savingAtStatedShare": round(1 - tier["monthly"] / tco["cloud"]["atSpotMix"]["monthly"], 4),
        },
        # Only when the seed server holds the model (671B does not fit 8 × A100 80 GB): no figures otherwise.
        "a100Cny1p8M": {
            "capexUsd": seed["capexUsd"],
            "breakEvenUtilisationVsP4deOnDemand": seed.get("breakEvenUtilisation", {}).get("vsSameHardwareOnDemand"),
            "breakEvenUtilisationVsStack": seed.get("breakEvenUtilisation", {}).get("vsStackAtSpotMix"),
            "utilisationAtWorkload": seed.get("utilisationAtWorkload"),
        }
        if seed and seed.get("fits")
        else None,
        "qps50PerA100": {
            "bestMeasuredRequestsPerSecondPerGpu": round(best["requestsPerSecond"] / best["gpus"], 2),
            "bestRow": best["id"],
            "outputTokensPerSecondNeeded": 50 * best["outputTokens"],
            "outputTokensPerSecondMeasured": best["outputTokensPerSecond"],
            "maxOutputTokensPerRequestAt50Qps": round(best["outputTokensPerSecond"] / 50, 1),
            "atWorkloadOutputTokensPerSecondNeeded": 50 * workload.output_tokens,
        },
    }


def report(run) -> dict[str, Any]:
    """The whole TCO document for one planned stack (offline/harness.py run)."""
    ctx = run.program_globals["context"]
    est = cost.estimate(ctx, run.registrations)
    workload = workload_for(ctx.config.environment)
    model = load_catalog().resolve(ctx.config.model.name)
    doc: dict[str, Any] = {
        "stack": run.stack,
        "environment": ctx.config.environment,
        "region": ctx.region,
        "model": ctx.sizing.model,
        "instanceType": est["instanceType"],
        "pricesCapturedOn": est["pricesCapturedOn"],
        "workload": workload.as_dict(),
        "efficiency": round(efficiency(), 4),
    }
    if model is None:
        return {**doc, "error": f"{ctx.config.model.name} is not in the catalog: no throughput to price tokens with"}
    facts = instance_facts(est["instanceType"])
    tput = replica_throughput(model, ctx.sizing, gpu_key(facts), workload)
    replicas_per_instance = max(1, ctx.sizing.replicas_per_instance)
    cloud = cloud_block(
        est,
        workload,
        tput.tokens_per_second,
        ctx.config.scaling.min_replicas,
        est["idle"]["instances"] * replicas_per_instance,
    )
    doc.update(throughput=tput.as_dict(), cloud=cloud)
    doc["tiered"] = tiered_block(ctx, est, model, workload, cloud, tput.tokens_per_second)
    per_tps_hour = {
        "cloudOnDemand": cloud["onDemand"]["replicaHour"] / tput.tokens_per_second,
        "cloudSpotMix": cloud["atSpotMix"]["replicaHour"] / tput.tokens_per_second,
        "tiered": doc["tiered"]["perMillionOutputTokens"]
        / cloud["atSpotMix"]["perMillionOutputTokens"]
        * cloud["atSpotMix"]["replicaHour"]
        / tput.tokens_per_second,
    }
    o = inputs()["onPrem"]
    doc["onPrem"] = [
        on_prem_block(ctx, model, workload, item, (per_tps_hour["cloudSpotMix"], cloud["atSpotMix"]["monthly"]))
        for item in o["presets"].items()
    ]
    compare = next(p for p in doc["onPrem"] if p["preset"] == o["compare"])
    if compare.get("fits"):
        per_tps_hour["sameHardwareOnDemand"] = (
            compare["sameHardwareOnDemandHourly"] / compare["serverOutputTokensPerSecond"]
        )
        doc["sensitivity"] = {
            "preset": compare["preset"],
            "serverOutputTokensPerSecond": compare["serverOutputTokensPerSecond"],
            "rows": sensitivity(
                compare["monthlyPerServer"]["total"], compare["serverOutputTokensPerSecond"], per_tps_hour
            ),
        }
    doc["seedClaims"] = seed_claims(est, doc, workload)
    return doc


def plan_summary(ctx, est: dict) -> dict[str, Any] | None:
    """The plan's "$ per 1M output tokens" keys (offline/plan.py): cloud only, no on-prem, no charts."""
    model = load_catalog().resolve(ctx.config.model.name)
    if model is None:
        return None
    workload = workload_for(ctx.config.environment)
    tput = replica_throughput(model, ctx.sizing, gpu_key(instance_facts(est["instanceType"])), workload)
    idle = est["idle"]["instances"] * max(1, ctx.sizing.replicas_per_instance)
    cloud = cloud_block(est, workload, tput.tokens_per_second, ctx.config.scaling.min_replicas, idle)
    return {
        "onDemand": cloud["onDemand"]["perMillionOutputTokens"],
        "atSpotMix": cloud["atSpotMix"]["perMillionOutputTokens"],
        "atFullUtilisationSpotMix": cloud["atSpotMix"]["perMillionAtFullUtilisation"],
        "replicaOutputTokensPerSecond": round(tput.tokens_per_second, 1),
        "throughputKind": tput.kind,
        "workload": "stacks/tco.yaml " + ctx.config.environment,
        "monthlyOutputTokens": round(workload.monthly_output_tokens),
    }


def plan_tiers_blended(ctx, est: dict) -> dict[str, Any] | None:
    """The plan's blended $/hour and $ per 1M output tokens of the stack's tiers at their traffic mix."""
    model = load_catalog().resolve(ctx.config.model.name)
    if model is None or "tiers" not in est:
        return None
    workload = workload_for(ctx.config.environment)
    tput = replica_throughput(model, ctx.sizing, gpu_key(instance_facts(est["instanceType"])), workload)
    idle = est["idle"]["instances"] * max(1, ctx.sizing.replicas_per_instance)
    cloud = cloud_block(est, workload, tput.tokens_per_second, ctx.config.scaling.min_replicas, idle)
    block = stack_tiered_block(ctx, est, workload, cloud, tput.tokens_per_second)
    return {
        "hourly": block["hourly"],
        "monthly": block["monthly"],
        "perMillionOutputTokens": block["perMillionOutputTokens"],
        "trafficMix": {r["name"]: r["trafficShare"] for r in block["tiers"]},
        "replicasActive": {r["name"]: r["replicasActive"] for r in block["tiers"]},
        "outputTokensPerSecondPerReplica": {
            r["name"]: r["throughput"]["outputTokensPerSecond"] for r in block["tiers"]
        },
        "workload": "stacks/tco.yaml " + ctx.config.environment,
        "monthlyOutputTokens": round(workload.monthly_output_tokens),
    }


def model_gpu_table(region: str, workload: Workload) -> list[dict[str, Any]]:
    """$ per 1M output tokens at full utilisation, on-demand, for every catalog model on the chart's types."""
    chart = inputs()["chart"]
    prices = cost.load_prices()
    rows = []
    for model in load_catalog().models.values():
        for itype in chart["instanceTypes"]:
            od = prices.on_demand(region, itype) or prices.on_demand("us-east-1", itype)
            sizing, tput = throughput_on(model, itype, workload, chart["maxModelLen"])
            if tput is None or od is None:
                continue
            tps = tput.tokens_per_second * sizing.replicas_per_instance
            rows.append(
                {
                    "model": model.key,
                    "instanceType": itype,
                    "gpu": gpu_key(instance_facts(itype)),
                    "tensorParallel": sizing.tensor_parallel_size,
                    "instanceOutputTokensPerSecond": round(tps, 1),
                    "kind": tput.kind,
                    "onDemandHourly": od,
                    "perMillionOutputTokens": round(od / (tps * 3600) * 1e6, 4),
                }
            )
    return rows


# --- CLI ------------------------------------------------------------------------------------------


def render(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    w, c, t = doc["workload"], doc["cloud"], doc["throughput"]
    console.print(
        f"[bold]deepseek-cloud TCO[/] stack [cyan]{doc['stack']}[/] · {doc['model']} on {doc['instanceType']} · "
        f"prices {doc['pricesCapturedOn']} · USD"
    )
    console.print(
        f"workload (stacks/tco.yaml): {w['requestsPerDay']:,.0f} requests/day, {w['inputTokens']} in / "
        f"{w['outputTokens']} out tokens, {w['activeHoursPerDay']:g} active h/day, peak ×{w['peakToAverage']:g} → "
        f"{w['averageOutputTokensPerSecond']:,} tok/s average, {w['peakOutputTokensPerSecond']:,} peak"
    )
    console.print(f"throughput per replica: {t['outputTokensPerSecond']:,} output tok/s ({t['basis']})")
    table = Table(title="Cloud (this stack)")
    for col in ("pricing", "replica-hour", "$/hour at peak", "$/hour average", "$/month", "$ per 1M output tokens"):
        table.add_column(col, justify="right")
    for label, name in (("onDemand", "on-demand"), ("atSpotMix", "spot mix")):
        row = c[label]
        table.add_row(
            name,
            f"{row['replicaHour']:.4f}",
            f"{row['hourlyAtPeak']:,.2f}",
            f"{row['hourlyAverage']:,.2f}",
            f"{row['monthly']:,.2f}",
            f"{row['perMillionOutputTokens']:,.4f}",
        )
    tier = doc["tiered"]
    table.add_row(
        f"tiered {tier['share']:.0%} → {tier['cheapModel']}",
        "",
        "",
        "",
        f"{tier['monthly']:,.2f}",
        f"{tier['perMillionOutputTokens']:,.4f}",
    )
    console.print(table)
    console.print(
        f"replicas: {c['replicasAtPeak']} at peak, {c['replicasAtAverage']} at average, {c['replicasIdle']} idle; "
        f"idle cost {c['idleMonthly']:,.2f}/month; fixed {c['fixedMonthly']:,.2f}/month"
    )
    prem = Table(title="On-prem (bought for the peak)")
    for col in (
        "preset",
        "capex USD",
        "servers",
        "$/month",
        "$ per 1M",
        "utilisation",
        "break-even util. vs same HW / stack",
        "break-even months",
    ):
        prem.add_column(col, justify="right")
    for p in doc["onPrem"]:
        if not p.get("fits"):
            prem.add_row(p["preset"], f"{p['capexUsd']:,.0f}", "-", "-", "-", "-", f"does not fit: {p['reason']}", "-")
            continue
        be = p["breakEvenUtilisation"]
        same = f"{be['vsSameHardwareOnDemand']:.0%}" if be["vsSameHardwareOnDemand"] is not None else "-"
        months = p["breakEvenMonthsVsStack"]
        prem.add_row(
            p["preset"],
            f"{p['capexUsd']:,.0f}",
            str(p["serversForPeak"]),
            f"{p['monthly']:,.2f}",
            f"{p['perMillionOutputTokens']:,.4f}",
            f"{p['utilisationAtWorkload']:.1%}",
            f"{same} / {be['vsStackAtSpotMix']:.0%}",
            "never" if months is None else f"{months:,.1f}",
        )
    console.print(prem)
    s = doc["seedClaims"]
    sp, ro, q = s["spotMinus70"], s["routingMinus35"], s["qps50PerA100"]
    console.print("[bold]The seed article's claims, against this stack[/]")
    console.print(
        f"· spot −70 %: the snapshot's spot price is {sp['snapshotSpotDiscount']:.0%} below on-demand; at this stack's "
        f"spot share {sp['stackSpotShare']:.0%} the month costs {sp['stackSavingWithSpot']:.0%} less; −70 % would need "
        + _needed(sp["discountNeededAtStackMix"], "discount at this mix")
        + ", "
        + _needed(sp["discountNeededAllSpot"], "discount with every instance on spot")
    )
    console.print(
        f"· routing −35 %: a {ro['cheapToBigCostPerToken']:.0%}-cost cheap tier "
        + (
            f"saves {ro['savingAtStatedShare']:.0%}"
            if ro["savingAtStatedShare"] >= 0
            else f"costs {-ro['savingAtStatedShare']:.0%} more (each tier keeps at least one replica at this load)"
        )
        + " at the stated share; −35 % needs "
        + (
            f"{ro['shareNeeded']:.0%} of requests routed"
            if ro["shareNeeded"] and ro["shareNeeded"] <= 1
            else "more than every request"
        )
    )
    a = s["a100Cny1p8M"]
    if a:
        console.print(
            f"· 8×A100 ¥1.8 M = ${a['capexUsd']:,.0f}: it beats p4de on-demand above "
            f"{a['breakEvenUtilisationVsP4deOnDemand']:.0%} utilisation and this stack above "
            f"{a['breakEvenUtilisationVsStack']:.0%}; this workload would keep it "
            f"{a['utilisationAtWorkload'] or 0:.1%} busy"
        )
    console.print(
        f"· 50 QPS per A100: best published A100 figure {q['bestMeasuredRequestsPerSecondPerGpu']} req/s "
        f"({q['bestRow']}); "
        f"50 QPS needs {q['outputTokensPerSecondNeeded']:,} output tok/s at its lengths (measured "
        f"{q['outputTokensPerSecondMeasured']:,}), i.e. answers of ≤ {q['maxOutputTokensPerRequestAt50Qps']} tokens"
    )
    console.print(f"[dim]· efficiency of the roofline (median measured ÷ roofline): {doc['efficiency']}[/]")
    if doc.get("charts"):
        console.print(f"charts: {', '.join(doc['charts'])}")


def _needed(fraction: float | None, what: str) -> str:
    if fraction is None or fraction > 1:
        return f"more than a 100 % {what} (impossible)" + (f": {fraction:.0%}" if fraction else "")
    return f"a {fraction:.0%} {what}"


def main(argv: list[str] | None = None, load=None) -> int:
    """`load` runs the stack (default `run_program`; tests that only read the result pass `shared_run`)."""
    from offline.harness import run_program, stack_names
    from stacks.errors import ConfigError

    parser = argparse.ArgumentParser(prog="make tco", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help=f"one of: {', '.join(stack_names())}")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--out", help="chart directory (default build/tco/<stack>)")
    parser.add_argument("--no-charts", action="store_true")
    args = parser.parse_args(argv)
    try:
        run = (load or run_program)(args.stack)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"deepseek-cloud: {exc}", file=sys.stderr)
        return 2
    doc = report(run)
    doc["modelGpuTable"] = model_gpu_table(run.region, workload_for(doc.get("environment", "prod")))
    if not args.no_charts and "error" not in doc:
        from offline import tco_charts

        out = Path(args.out) if args.out else ROOT / "build" / "tco" / args.stack
        doc["charts"] = [str(p) for p in tco_charts.write(doc, out)]
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
