"""The cold-start estimate of a stack (components/shared/cold_start.py), from its validated context: the
first instance type of the pool (the sizing reference), the model's bytes and where they load from.

Targets (issue 13): dev ≤ 150 s with the image cached on the node and ≤ 240 s on a fresh node; prod ≤ 300 s
fresh. The fresh target is checked on the stack's scale-out path: a warm-pool start when gpuPool.warmPool is
on (the image is on the stopped instance's root volume), else a fresh launch. The plan lists every scenario,
the phase that dominates, and whether SOCI parallel pull or a warm pool meets a missed target, and whether
this stack can use that warm pool (not with Spot / several instance types, not on EKS).
"""

from __future__ import annotations

import math
from typing import Any

from components.shared import cold_start as cs
from components.shared import vllm
from stacks.config import StackContext

TARGETS = {"dev": {"cached": 150, "fresh": 240}, "staging": {"fresh": 240}, "prod": {"fresh": 300}}
ALARM_MARGIN = 1.5
WARM = "warm-pool"
# Mechanisms that cut the pull, in the order the plan proposes them: a warm pool (ECS, on-demand groups of one
# instance type); SOCI parallel pull needs the soci-snapshotter on the node (Bottlerocket / EKS AMIs).
MECHANISMS = (
    ("cached", "ASG warm pool: stopped instances keep the image on their root volume"),
    ("fresh+soci", "SOCI parallel pull"),
)


def weights_bytes(ctx: StackContext) -> float:
    """Bytes to load: the published checkpoint when known, else parameters × dtype bytes."""
    return ctx.model.checkpoint_gb * 1e9 if ctx.model.checkpoint_gb else ctx.model.weight_bytes


def node(ctx: StackContext) -> cs.Node:
    facts = ctx.instances[0]
    return cs.Node(facts.instance_type, facts.peak_gbps, facts.baseline_gbps)


def warm_pool(ctx: StackContext) -> dict[str, Any]:
    """Whether the stack has a warm pool, and whether it could: EC2 Auto Scaling refuses a warm pool on a group
    with a mixed instances policy or Spot (PutWarmPool), and EKS GPU nodes come from Karpenter, not a group."""
    pool = ctx.config.gpu_pool
    if ctx.config.platform != "ecs":
        why = "EKS: Karpenter launches GPU nodes (no Auto Scaling group)"
    elif pool.spot.enabled:
        why = "gpuPool.spot.enabled: AWS refuses a warm pool on a group with Spot or a mixed instances policy"
    elif len(pool.instance_types) != 1:
        why = "several gpuPool.instanceTypes need a mixed instances policy, which a warm pool refuses"
    else:
        why = ""
    return {"enabled": pool.warm_pool.enabled, "possible": not why, "notPossibleBecause": why or None}


def scenarios(ctx: StackContext) -> dict[str, cs.ColdStart]:
    w, n, load = weights_bytes(ctx), node(ctx), ctx.config.model.load_from
    p = ctx.model.parameters_b
    runs = {
        "fresh": cs.estimate(w, n, load, parameters_b=p),
        "fresh+soci": cs.estimate(w, n, load, soci=True, parameters_b=p),
        "cached": cs.estimate(w, n, load, image_cached=True, parameters_b=p),
    }
    if ctx.config.gpu_pool.warm_pool.enabled:
        # A stopped warm-pool instance is started, not launched, and its root volume holds the image. No
        # measured start-to-registered time for a stopped GPU instance was found, so the launch figure stays.
        runs[WARM] = cs.estimate(w, n, load, image_cached=True, parameters_b=p, scenario=WARM)
    return runs


def scale_out_scenario(ctx: StackContext) -> str:
    """What one more replica's host goes through: a warm-pool start while the pool has instances, else a launch."""
    return WARM if ctx.config.gpu_pool.warm_pool.enabled else "fresh"


def fresh(ctx: StackContext) -> cs.ColdStart:
    """The fresh-node path: also the warm-pool stack's worst case (pool empty), so grace and alarm use it."""
    return scenarios(ctx)["fresh"]


def replica_startup_minutes(ctx: StackContext) -> int:
    """alarms.replicaStartupMinutes, or (0) the fresh-node estimate with half again as margin."""
    given = ctx.config.alarms.replica_startup_minutes
    return given or max(1, math.ceil(fresh(ctx).total * ALARM_MARGIN / 60))


def _cut(runs: dict[str, cs.ColdStart], limit: int, warm: dict[str, Any]) -> dict[str, Any] | None:
    """The first mechanism whose scenario meets a missed fresh-node target, and whether this stack can use it."""
    for scenario, mechanism in MECHANISMS:
        if runs[scenario].total <= limit:
            usable = warm["possible"] if scenario == "cached" else True
            return {
                "mechanism": mechanism,
                "scenario": scenario,
                "totalSeconds": round(runs[scenario].total, 1),
                "usableHere": usable,
                "notUsableBecause": None if usable else warm["notPossibleBecause"],
            }
    return None


def as_plan(ctx: StackContext) -> dict[str, Any]:
    runs = scenarios(ctx)
    warm = warm_pool(ctx)
    scale_out = scale_out_scenario(ctx)
    checks = []
    for name, limit in TARGETS[ctx.config.environment].items():
        # The fresh-node target is what a scale-out costs: with a warm pool, a start of a stopped instance.
        measured = scale_out if name == "fresh" else name
        met = runs[measured].total <= limit
        checks.append(
            {
                "scenario": name,
                "measuredOn": measured,
                "targetSeconds": limit,
                "estimateSeconds": round(runs[measured].total, 1),
                "met": met,
                "dominantPhase": runs[measured].dominant,
                "cutBy": _cut(runs, limit, warm) if not met and name == "fresh" else None,
            }
        )
    n = node(ctx)
    return {
        "instanceType": n.instance_type,
        "network": {"peakGbps": n.peak_gbps, "baselineGbps": n.baseline_gbps},
        "loadFrom": ctx.config.model.load_from,
        "weightsBytes": weights_bytes(ctx),
        "imageBytes": cs.IMAGE_BYTES,
        "warmPool": warm,
        "scaleOutScenario": scale_out,
        "scenarios": [r.as_plan() for r in runs.values()],
        "weightLoadFloorSeconds": round(cs.bandwidth_floor_seconds(weights_bytes(ctx), n), 1),
        "targets": checks,
        "healthCheckGraceSeconds": grace_seconds(ctx),
        "replicaStartupMinutes": replica_startup_minutes(ctx),
        "streamerConcurrency": cs.streamer_concurrency(n.peak_gbps),
        "engineEstimate": engine_estimate(ctx.model.parameters_b),
    }


def engine_estimate(parameters_b: float) -> dict[str, Any]:
    """How far the engine-start line is stretched: it is fitted to two measurements (8B and 27B parameters,
    components/shared/cold_start.py ENGINE_POINTS); beyond the larger one it is an extrapolation, and far beyond
    it (a 671B mixture of experts) no more than an order of magnitude."""
    largest = cs.ENGINE_POINTS[-1][0]
    return {
        "measuredUpToB": largest,
        "parametersB": parameters_b,
        "timesBeyondData": round(parameters_b / largest, 1) if parameters_b > largest else 0.0,
    }


def grace_seconds(ctx: StackContext) -> int:
    return vllm.health_check_grace_seconds(math.ceil(fresh(ctx).container))
