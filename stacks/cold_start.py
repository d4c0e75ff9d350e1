"""The cold-start estimate of a stack (components/shared/cold_start.py), from its validated context: the
first instance type of the pool (the sizing reference), the model's bytes and where they load from.

Targets (issue 13): dev ≤ 150 s with the image cached on the node and ≤ 240 s on a fresh node; prod ≤ 300 s
fresh. The plan lists every scenario, the phase that dominates, and whether SOCI parallel pull (fresh
nodes) or a warm pool (image cached on the root volume of a stopped instance) meets a missed target.
"""

from __future__ import annotations

import math
from typing import Any

from components.shared import cold_start as cs
from components.shared import vllm
from stacks.config import StackContext

TARGETS = {"dev": {"cached": 150, "fresh": 240}, "staging": {"fresh": 240}, "prod": {"fresh": 300}}
ALARM_MARGIN = 1.5
# Mechanisms that cut the pull, in the order the plan proposes them: a warm pool works with ECS capacity
# providers today; SOCI parallel pull needs the soci-snapshotter on the node (Bottlerocket / EKS AMIs).
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


def scenarios(ctx: StackContext) -> dict[str, cs.ColdStart]:
    w, n, load = weights_bytes(ctx), node(ctx), ctx.config.model.load_from
    p = ctx.model.parameters_b
    return {
        "fresh": cs.estimate(w, n, load, parameters_b=p),
        "fresh+soci": cs.estimate(w, n, load, soci=True, parameters_b=p),
        "cached": cs.estimate(w, n, load, image_cached=True, parameters_b=p),
    }


def fresh(ctx: StackContext) -> cs.ColdStart:
    return scenarios(ctx)["fresh"]


def replica_startup_minutes(ctx: StackContext) -> int:
    """alarms.replicaStartupMinutes, or (0) the fresh-node estimate with half again as margin."""
    given = ctx.config.alarms.replica_startup_minutes
    return given or max(1, math.ceil(fresh(ctx).total * ALARM_MARGIN / 60))


def as_plan(ctx: StackContext) -> dict[str, Any]:
    runs = scenarios(ctx)
    targets = TARGETS[ctx.config.environment]
    checks = []
    for name, limit in targets.items():
        met = runs[name].total <= limit
        fix = None
        if not met and name == "fresh":
            # Cut the pull: SOCI parallel pull on a fresh node, or a warm pool whose stopped instances keep
            # the image on their root volume (ECS supports ASG warm pools: ECS developer guide, "Configuring
            # pre-initialized instances", ECS_WARM_POOLS_CHECK=true, agent 1.59.0+; ReuseOnScaleIn unsupported).
            for scenario, mechanism in MECHANISMS:
                if runs[scenario].total <= limit:
                    fix = {"mechanism": mechanism, "scenario": scenario, "totalSeconds": round(runs[scenario].total, 1)}
                    break
        checks.append(
            {
                "scenario": name,
                "targetSeconds": limit,
                "estimateSeconds": round(runs[name].total, 1),
                "met": met,
                "dominantPhase": runs[name].dominant,
                "cutBy": fix,
            }
        )
    n = node(ctx)
    return {
        "instanceType": n.instance_type,
        "network": {"peakGbps": n.peak_gbps, "baselineGbps": n.baseline_gbps},
        "loadFrom": ctx.config.model.load_from,
        "weightsBytes": weights_bytes(ctx),
        "imageBytes": cs.IMAGE_BYTES,
        "scenarios": [r.as_plan() for r in runs.values()],
        "weightLoadFloorSeconds": round(cs.bandwidth_floor_seconds(weights_bytes(ctx), n), 1),
        "targets": checks,
        "healthCheckGraceSeconds": grace_seconds(ctx),
        "replicaStartupMinutes": replica_startup_minutes(ctx),
        "streamerConcurrency": cs.streamer_concurrency(n.peak_gbps),
    }


def grace_seconds(ctx: StackContext) -> int:
    return vllm.health_check_grace_seconds(math.ceil(fresh(ctx).container))
