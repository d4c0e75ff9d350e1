"""`make plan`: what a stack would create, whether the model fits, policy results and what it would cost.

Runs the real program under Pulumi's mock runtime (offline/harness.py) — no credentials, no CLI — and
prints the resource tree, counts by type, the sizing decision, the cost estimate and policy results.
`--format json` prints one JSON document instead.

`--project ci` plans the CI project (ci/, e.g. `make plan PROJECT=ci STACK=example`): the same document with
the roles' trust and permission policies in `iamRoles`, and no sizing or cost (`null`).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from offline.harness import ROOT, ProgramRun, run_program, stack_config, stack_names, tree_order
from stacks import cold_start
from stacks.aws_facts import AwsLookupError
from stacks.errors import ConfigError
from stacks.yaml_files import YamlFileError

KNOWN_AFTER_DEPLOY = "known after deploy"
CI_DIR = ROOT / "ci"
CI_PROJECT = "deepseek-cloud-ci"


def _fabricated(computed: set[str]) -> tuple[str, ...]:
    """Fabricated values to hide inside longer strings. Longest first: one that contains another (a repository
    URL holding the account id) is hidden whole, the same way on every run (set order varies by process)."""
    return tuple(v for v in sorted(computed, key=lambda v: (-len(v), v)) if len(v) > 8)


def _hide_computed(value: Any, computed: set[str], inside: tuple[str, ...] | None = None) -> Any:
    """Replace values only AWS would know (fabricated by the mocks) with 'known after deploy'."""
    inside = _fabricated(computed) if inside is None else inside
    if isinstance(value, Unknown) or value == UNKNOWN:  # a preview: AWS has not assigned it yet
        return KNOWN_AFTER_DEPLOY
    if isinstance(value, str):
        if value in computed:
            return KNOWN_AFTER_DEPLOY
        for fabricated in inside:
            if fabricated in value:
                value = value.replace(fabricated, f"<{KNOWN_AFTER_DEPLOY}>")
        return value
    if isinstance(value, dict):
        return {k: _hide_computed(v, computed, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_computed(v, computed, inside) for v in value]
    return value


def _short_urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _urn_type(urn: str) -> str:
    """The resource's own type in a URN (the last `$` segment): with the name, it tells apart components of
    one name (ModelService and its Endpoint and ModelSecrets are all ds-<stack>-vllm)."""
    return urn.split("::")[2].split("$")[-1] if urn.count("::") >= 3 else ""


def _resources(run: ProgramRun) -> list[dict[str, Any]]:
    inside = _fabricated(run.computed)  # sorted once per plan, not once per string
    return [
        {
            "type": r.type,
            "name": r.name,
            "parent": _short_urn_name(r.parent),
            "parentType": _urn_type(r.parent),
            "custom": r.custom,
            "inputs": _hide_computed(r.inputs, run.computed, inside),
            "protect": r.protect,
            "ignoreChanges": r.ignore_changes,
        }
        for r in tree_order(run.registrations)
    ]


def plan_document(run: ProgramRun) -> dict[str, Any]:
    from offline import tco
    from stacks import cost

    ctx = run.program_globals["context"]  # the StackContext __main__.py loaded: sizing and cost come from it
    resources = _resources(run)
    doc: dict[str, Any] = {
        "project": "deepseek-cloud",
        "stack": run.stack,
        "region": run.region,
        "environment": ctx.config.environment,
        "platform": ctx.config.platform,
        "resources": resources,
        "counts": dict(sorted(Counter(r.type for r in run.registrations if r.custom).items())),
        "sizing": ctx.sizing.as_plan(),
        "poolSizing": [s.as_plan() for s in ctx.pool_sizing],
        "cost": cost.estimate(ctx, run.registrations),
        "warnings": list(ctx.warnings),
        "outputs": _hide_computed(run.outputs, run.computed),
        "image": _image(run, ctx),
        "coldStart": cold_start.as_plan(ctx),
    }
    # Added key (older readers ignore it): $ per 1M output tokens at the stacks/tco.yaml workload (`make tco`).
    doc["cost"]["perMillionOutputTokens"] = tco.plan_summary(ctx, doc["cost"])
    if "tiers" in doc["cost"]:  # added key: the tiers' blended cost at their traffic mix
        doc["cost"]["tiers"]["blended"] = tco.plan_tiers_blended(ctx, doc["cost"])
    policy = _policy(run, ctx.config.environment)
    if policy is not None:
        doc["policy"] = policy
    return doc


def _image(run: ProgramRun, ctx: Any) -> dict[str, Any]:
    """What the image build would do (it is registered, not run, offline) or which image the cache pulls."""
    from components.shared.image import PLATFORM, base_image

    cfg = ctx.config.image
    if cfg.source == "uri":
        return {"source": "uri", "uri": cfg.uri, "pullThroughCache": True}
    build = next((r for r in run.registrations if r.type == "docker-build:index:Image"), None)
    if build is None:  # the platform serves the pinned public image (EKS does not build one yet)
        return {"source": "image", "uri": ctx.config.serving.image}
    inputs = _hide_computed(build.inputs, run.computed)
    dockerfile = (inputs.get("dockerfile") or {}).get("location", "")
    return {
        "source": "build",
        "context": str(Path((inputs.get("context") or {}).get("location", "")).relative_to(ROOT)),
        "dockerfile": str(Path(dockerfile).relative_to(ROOT)),
        "platforms": inputs.get("platforms"),
        "tags": inputs.get("tags"),
        "base": base_image(Path(dockerfile)),
        "expectedPlatform": PLATFORM,
        "digest": KNOWN_AFTER_DEPLOY,
    }


def ci_plan_document(run: ProgramRun) -> dict[str, Any]:
    """The CI project's plan: the main plan's keys (sizing/cost null), plus each role's trust and policies."""
    resources = _resources(run)
    roles: dict[str, dict[str, Any]] = {}
    for r in resources:
        if r["type"] == "aws:iam/role:Role":
            roles[r["name"]] = {"trust": _json(r["inputs"].get("assumeRolePolicy")), "policies": {}}
    by_policy = {r["name"]: r for r in resources if r["type"] == "aws:iam/policy:Policy"}
    for r in resources:
        if r["type"] == "aws:iam/rolePolicy:RolePolicy":
            role = r["name"].rsplit("-", 1)[0]  # <name>-preview-read → <name>-preview
            entry = roles.setdefault(role, {"trust": None, "policies": {}})
            entry["policies"][r["name"]] = _json(r["inputs"]["policy"])
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            policy = r["name"].removesuffix("-attach")
            role = policy.rsplit("-", 1)[0]  # <name>-deploy-<env>-<part> → <name>-deploy-<env>
            if policy in by_policy and role in roles:
                roles[role]["policies"][policy] = _json(by_policy[policy]["inputs"]["policy"])
    # Registration order varies from run to run; the plan lists the preview role, then the deploy roles in the
    # order of the config's allowedEnvironments (the deployRoleArns output), each role's policies by name.
    envs = list(run.outputs.get("deployRoleArns") or {})

    def order(name: str) -> tuple[int, int, str]:
        env = next((i for i, e in enumerate(envs) if name.endswith(f"-deploy-{e}")), len(envs))
        return (0 if name.endswith("-preview") else 1, env, name)

    roles = {
        name: {**roles[name], "policies": dict(sorted(roles[name]["policies"].items()))}
        for name in sorted(roles, key=order)
    }
    return {
        "project": CI_PROJECT,
        "stack": run.stack,
        "region": run.region,
        "environment": None,
        "platform": None,
        "resources": resources,
        "counts": dict(sorted(Counter(r.type for r in run.registrations if r.custom).items())),
        "sizing": None,
        "poolSizing": [],
        "cost": None,
        "warnings": [],
        "outputs": _hide_computed(run.outputs, run.computed),
        "iamRoles": roles,
        "image": None,
        "coldStart": None,
    }


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _policy(run: ProgramRun, environment: str) -> dict | None:
    try:
        from offline.policy_bridge import check_planned_resources
    except ImportError:
        return None
    return check_planned_resources(run, environment)


# --- human output ---------------------------------------------------------------------------------


# The inputs a reviewer looks for first, per type (dotted paths into the engine's camelCase inputs).
_KEY_PATHS = {
    "aws:autoscaling/group:Group": (
        "minSize",
        "maxSize",
        "mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity",
        "mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity",
        "mixedInstancesPolicy.instancesDistribution.spotAllocationStrategy",
        "mixedInstancesPolicy.launchTemplate.overrides.*.instanceType",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "imageId",
        "metadataOptions.httpTokens",
        "metadataOptions.httpPutResponseHopLimit",
        "blockDeviceMappings.*.ebs.volumeSize",
        "blockDeviceMappings.*.ebs.encrypted",
    ),
    "aws:ecs/capacityProvider:CapacityProvider": (
        "autoScalingGroupProvider.managedScaling.targetCapacity",
        "autoScalingGroupProvider.managedTerminationProtection",
        "autoScalingGroupProvider.managedDraining",
    ),
    "aws:ecs/service:Service": ("desiredCount", "healthCheckGracePeriodSeconds", "deploymentCircuitBreaker.rollback"),
    "aws:appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "aws:appautoscaling/policy:Policy": (
        "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
        "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics.*.expression",  # queueDepth
        "targetTrackingScalingPolicyConfiguration.targetValue",
        "targetTrackingScalingPolicyConfiguration.scaleOutCooldown",
        "targetTrackingScalingPolicyConfiguration.scaleInCooldown",
    ),
    "aws:lb/listener:Listener": ("protocol", "port", "defaultActions.*.type"),
    "aws:lb/targetGroup:TargetGroup": ("port", "targetType", "healthCheck.path", "deregistrationDelay"),
}


def _fmt(value: Any) -> Any:
    # The engine carries every number as a double: show 1.0 as 1.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_fmt(v) for v in value]
    return value


def _at(value: Any, path: list[str]) -> list[Any]:
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [v for item in value for v in _at(item, rest)]
    if isinstance(value, dict) and head in value:
        return _at(value[head], rest)
    return []


def _task_summary(inputs: dict[str, Any]) -> str:
    try:
        containers = json.loads(inputs.get("containerDefinitions") or "[]")
    except (TypeError, ValueError):
        return ""
    parts = []
    for c in containers:
        gpus = sum(int(r["value"]) for r in c.get("resourceRequirements", []) if r.get("type") == "GPU")
        parts.append(
            f"{c.get('name')}: image={c.get('image')}, GPUs={gpus}, memoryReservation={c.get('memoryReservation')}"
        )
    return "; ".join(parts)


def _key_inputs(inputs: dict[str, Any], limit: int = 4, type_token: str = "") -> str:
    if type_token == "aws:ecs/taskDefinition:TaskDefinition":
        return _task_summary(inputs)
    if type_token in _KEY_PATHS:
        parts = []
        for path in _KEY_PATHS[type_token]:
            found = _at(inputs, path.split("."))
            if found:
                shown = _fmt(found[0] if len(found) == 1 and "*" not in path else found)
                parts.append(f"{path.rsplit('.', 1)[-1]}={shown}")
        return ", ".join(parts)
    parts = []
    for key, value in inputs.items():
        if key in ("tags", "tagsAll", "__defaults") or key.startswith("__"):
            continue
        if isinstance(value, (str, int, float, bool)):
            text = str(_fmt(value))
            parts.append(f"{key}={text if len(text) <= 48 else text[:45] + '…'}")
        elif isinstance(value, list) and value:
            parts.append(f"{key}=[{len(value)}]")
        if len(parts) >= limit:
            break
    return ", ".join(parts)


def render(doc: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=160)
    console.print(
        f"[bold]deepseek-cloud plan[/] stack [cyan]{doc['stack']}[/] · region {doc['region']} · "
        f"{doc['environment']} · {doc['platform']} (offline: Pulumi mock runtime + recorded AWS data)"
    )
    for warning in doc["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    _render_tree(console, doc)
    _render_counts(console, doc["counts"])
    _render_sizing(console, doc["sizing"], doc["poolSizing"])
    _render_cost(console, doc["cost"])
    _render_cost_detail(console, doc["cost"])
    _render_image_and_cold_start(console, doc)
    _render_observability(console, doc["resources"])
    policy = doc.get("policy")
    if policy is not None:
        _render_policy(console, policy)


def _render_tree(console, doc: dict[str, Any]) -> None:
    from rich.tree import Tree

    tree = Tree(f"pulumi:pulumi:Stack deepseek-cloud-{doc['stack']}")
    nodes: dict[str, Any] = {"": tree}
    for r in doc["resources"]:
        parent = nodes.get(f"{r.get('parentType', '')} {r['parent']}", tree)
        label = f"[green]{r['type']}[/] {r['name']}"
        extras = _key_inputs(r["inputs"], type_token=r["type"]) if r["custom"] else ""
        flags = "".join(f" [magenta]{f}[/]" for f, on in (("protect", r["protect"]),) if on)
        if r["ignoreChanges"]:
            flags += f" [magenta]ignoreChanges={','.join(r['ignoreChanges'])}[/]"
        nodes[f"{r['type']} {r['name']}"] = parent.add(label + (f" [dim]{extras}[/]" if extras else "") + flags)
    console.print(tree)


def _render_counts(console, by_type: dict[str, int]) -> None:
    from rich.table import Table

    counts = Table(title="Resources by type")
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for type_token, n in by_type.items():
        counts.add_row(type_token, str(n))
    counts.add_row("[bold]total[/]", f"[bold]{sum(by_type.values())}[/]")
    console.print(counts)


def _render_sizing(console, s: dict[str, Any], pools: list[dict[str, Any]]) -> None:
    from rich.table import Table

    sizing = Table(title=f"GPU sizing: {s['model']} ({s['hfId']})")
    sizing.add_column("instance type")
    sizing.add_column("GPUs")
    for col in (
        "TP",
        "weights/GPU GiB",
        "KV bytes/token",
        "KV cache GiB",
        "KV tokens",
        "maxModelLen",
        "max seqs",
        "fits",
    ):
        sizing.add_column(col, justify="right")
    for p in pools:
        sizing.add_row(
            p["instanceType"],
            p["gpu"],
            str(p["tensorParallelSize"]),
            f"{p['weightsPerGpuGiB']:.2f}",
            f"{p['kvCacheBytesPerToken']:,}",
            f"{p['kvCacheGiB']:.2f}",
            f"{p['kvCacheTokens']:,}",
            str(p["maxModelLen"]),
            str(p["maxConcurrentSequences"]),
            "yes" if p["fits"] else f"no: {p['reason']}",
        )
    console.print(sizing)
    console.print(
        f"gpuMemoryUtilization {s['gpuMemoryUtilization']} · runtime overhead {s['runtimeOverheadGiB']} GiB/GPU · "
        f"{s['replicasPerInstance']} replica(s) per instance"
    )


def _render_cost(console, c: dict[str, Any]) -> None:
    from rich.table import Table

    cost = Table(title=f"Cost estimate ({c['currency']}, prices captured {c['pricesCapturedOn']})")
    for col in (
        "scale",
        "instances",
        "on-demand/spot",
        "hourly on-demand",
        "hourly with spot",
        "monthly on-demand",
        "monthly with spot",
    ):
        cost.add_column(col, justify="right")
    for label in ("min", "max"):
        row = c[label]
        cost.add_row(
            label,
            str(row["instances"]),
            f"{row['onDemandInstances']}/{row['spotInstances']}",
            f"{row['hourlyOnDemand']:,.2f}",
            f"{row['hourlyWithSpot']:,.2f}",
            f"{row['monthlyOnDemand']:,.2f}",
            f"{row['monthlyWithSpot']:,.2f}",
        )
    console.print(cost)


def _render_cost_detail(console, c: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(
        f"{c['instanceType']}: {c['onDemandHourlyPerInstance']}/h on-demand, {c['spotHourlyPerInstance']}/h spot "
        f"({c['spotDiscountAssumed']:.0%} below on-demand in the snapshot); root volume {c['rootVolume']['monthly']}"
        f"/month per instance ({c['rootVolume']['basis']})"
    )
    fixed = Table(title=f"Fixed and usage costs per month: {c['fixedMonthly']:,.2f}")
    for col in ("item", "monthly", "basis"):
        fixed.add_column(col, justify="right" if col == "monthly" else "left")
    for name, item in c["fixedItemsMonthly"].items():
        fixed.add_row(name + (" (usage)" if item["usage"] else ""), f"{item['monthly']:,.2f}", item["basis"])
    console.print(fixed)
    idle, rh = c["idle"], c["replicaHour"]
    console.print(
        f"idle (no traffic, {idle['instances']} GPU instance(s) at the floor: {idle['onDemandInstances']} on-demand / "
        f"{idle['spotInstances']} spot{'; extra tiers at capacity.minSize' if c.get('tiers') else ''}): "
        f"{idle['hourly']:,.4f}/h, {idle['monthly']:,.2f}/month "
        f"(leaves out {', '.join(idle['excludes'])})"
        + (
            f"; includes warm pool {c['warmPool']['basis']}"
            if c.get("warmPool", {}).get("stoppedInstancesAtIdle")
            else ""
        )
    )
    where = (
        f"one replica = {rh['layout']}"
        if rh.get("nodesPerReplica", 1) > 1
        else f"{rh['replicasPerInstance']} replica(s) per {rh['instanceType']}"
    )
    console.print(
        f"replica-hour ({where}): {rh['onDemand']} on-demand, "
        f"{rh['spot']} spot, {rh['atSpotMix']} at the spot mix ({rh['spotMixAt']})"
    )
    if c.get("tiers"):
        _render_tiers(console, c["tiers"])
    per_million = c.get("perMillionOutputTokens")
    if per_million:
        console.print(per_million_line(per_million), soft_wrap=True)  # one line: the PR summary greps it
    for note in c["notes"]:
        console.print(f"[dim]· {note}[/]")


def _render_tiers(console, t: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Tiers (router: deepseek-cloud:tiers)")
    for col in ("tier", "model", "capacity", "instance type", "replicas", "$/h per replica", "pricing", "traffic"):
        table.add_column(col, justify="right" if col in ("replicas", "$/h per replica", "traffic") else "left")
    for r in t["tiers"]:
        table.add_row(
            r["name"],
            r["model"],
            r["kind"],
            r["instanceType"],
            f"{r['replicas']['min']}–{r['replicas']['max']}",
            f"{r['replicaHourly']:.4f}",
            r["pricing"],
            f"{r['trafficShare']:.0%}",
        )
    console.print(table)
    for i, rule in enumerate(t["rules"], 1):
        console.print(f"routing rule {i}: {rule}")
    fallbacks = "; ".join(f"{k} → {', '.join(v)}" for k, v in t["fallbacks"].items())
    console.print(f"fallbacks: {fallbacks or 'every tier to the others'}")
    r = t["router"]
    unit, low, high = r["unit"], r["replicas"]["min"], r["replicas"]["max"]
    console.print(f"router: {r['basis']} = {r['taskHourly']}/h per {unit[:-1]}, {low}–{high} {unit} ({r['source']})")
    b = t.get("blended")
    if b:
        mix = ", ".join(f"{k} {v:.0%}" for k, v in b["trafficMix"].items())
        console.print(
            f"tiers blended ({mix}; {b['workload']}, {b['monthlyOutputTokens']:,} output tokens/month): "
            f"{b['hourly']:,.4f}/h, {b['monthly']:,.2f}/month, "
            f"$ per 1M output tokens {b['perMillionOutputTokens']:,.4f}",
            soft_wrap=True,
        )


def per_million_line(p: dict[str, Any]) -> str:
    """The plan's (and the PR summary's) one line on what an output token costs."""
    return (
        f"$ per 1M output tokens: {p['atSpotMix']:,.4f} at the spot mix, {p['onDemand']:,.4f} on-demand "
        f"({p['monthlyOutputTokens']:,} output tokens/month, {p['workload']}; {p['replicaOutputTokensPerSecond']:,} "
        f"tok/s per replica, {p['throughputKind']}; {p['atFullUtilisationSpotMix']:,.4f} at full utilisation; "
        "details: make tco)"
    )


def _render_image_and_cold_start(console, doc: dict[str, Any]) -> None:
    from rich.table import Table

    img = doc["image"]
    if img["source"] == "build":
        b = img["base"]
        console.print(
            f"image: build {img['dockerfile']} (context {img['context']}) for {', '.join(img['platforms'] or [])} "
            f"on {b['image']}:{b['tag']}@{b['digest']} → {', '.join(img['tags'] or [])} (digest {img['digest']})"
        )
    else:
        console.print(f"image: {img['uri']} through the ECR pull-through cache")
    c = doc["coldStart"]
    table = Table(
        title=f"Cold start, scale-out to first token ({c['instanceType']}: {c['network']['peakGbps']:g} Gbit/s peak, "
        f"{c['network']['baselineGbps']:g} baseline; weights from {c['loadFrom']})"
    )
    for col in (
        "scenario",
        "launch+register s",
        "image pull s",
        "weight load s",
        "engine start s",
        "total s",
        "dominant",
    ):
        table.add_column(col, justify="left" if col in ("scenario", "dominant") else "right")
    for s in c["scenarios"]:
        table.add_row(
            s["scenario"],
            f"{s['launchSeconds']:.1f}",
            f"{s['imagePullSeconds']:.1f}",
            f"{s['weightLoadSeconds']:.1f}",
            f"{s['engineStartSeconds']:.1f}",
            f"{s['totalSeconds']:.1f}",
            s["dominantPhase"],
        )
    console.print(table)
    for t in c["targets"]:
        verdict = "met" if t["met"] else f"MISSED (dominant phase: {t['dominantPhase']})"
        cut = ""
        if t.get("cutBy"):
            cut = f"; cut by {t['cutBy']['mechanism']} to {t['cutBy']['totalSeconds']} s"
            cut += "" if t["cutBy"]["usableHere"] else f" (not usable here: {t['cutBy']['notUsableBecause']})"
        console.print(
            f"target {t['scenario']} ≤ {t['targetSeconds']} s: estimate {t['estimateSeconds']} s on the "
            f"{t['measuredOn']} path, {verdict}{cut}"
        )
    warm = c["warmPool"]
    console.print(
        "warm pool: "
        + ("on (scale-out starts a stopped instance with the image on its root volume)" if warm["enabled"] else "off")
        + ("" if warm["possible"] else f"; not possible: {warm['notPossibleBecause']}")
    )
    console.print(
        f"weight-load floor at baseline bandwidth {c['weightLoadFloorSeconds']} s · health-check grace "
        f"{c['healthCheckGraceSeconds']} s · replicaStartupMinutes {c['replicaStartupMinutes']} · "
        f"RUNAI_STREAMER_CONCURRENCY {c['streamerConcurrency']}"
    )
    engine = c["engineEstimate"]
    if engine["timesBeyondData"] > 2:
        console.print(
            f"engine start is extrapolated {engine['timesBeyondData']}× beyond the largest measured model "
            f"({engine['measuredUpToB']:g}B parameters; this one {engine['parametersB']:g}B): an order of magnitude, "
            "not an estimate (docs/cold-start.md)"
        )


_WATCHING = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "composite alarm",
    "aws:cloudwatch/eventRule:EventRule": "event rule",
    "aws:cloudwatch/dashboard:Dashboard": "dashboard",
    "aws:sns/topic:Topic": "topic",
}


def _render_observability(console, resources: list[dict]) -> None:
    from rich.table import Table

    rows = [r for r in resources if r["type"] in _WATCHING]
    if not rows:
        return
    table = Table(title="Alarms, events and notifications")
    for col in ("kind", "name", "watches"):
        table.add_column(col)
    for r in rows:
        inputs = r["inputs"]
        if r["type"].endswith(":MetricAlarm"):
            metric = inputs.get("metricName") or "metric math"
            stat = inputs.get("extendedStatistic") or inputs.get("statistic") or ""
            watches = f"{metric} {stat} {inputs.get('comparisonOperator', '')} {inputs.get('threshold', '')}".strip()
        elif r["type"].endswith(":EventRule"):
            watches = str(inputs.get("eventPattern", ""))[:90]
        elif r["type"].endswith(":CompositeAlarm"):
            watches = str(inputs.get("alarmRule", ""))[:90]
        else:
            watches = ""
        table.add_row(_WATCHING[r["type"]], r["name"], watches)
    console.print(table)


def _render_policy(console, policy: dict) -> None:
    from rich.table import Table

    table = Table(title="Policy pack (policy/)")
    for col in ("level", "policy", "resource", "message"):
        table.add_column(col)
    for level in ("mandatory", "advisory"):
        for v in policy.get(level, []):
            table.add_row(level, v["policy"], v.get("name", ""), v["message"][:90])
    console.print(table)
    console.print(
        f"policy: {len(policy.get('mandatory', []))} mandatory, {len(policy.get('advisory', []))} advisory violation(s)"
    )


def main(argv: list[str] | None = None, load: Callable[[str], ProgramRun] = run_program) -> int:
    """`load` runs a shipped stack (tests that only read the result pass `shared_run`)."""
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--stack", default="dev", help=f"one of: {', '.join(stack_names())}")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--stack-file", help="check a Pulumi.<stack>.yaml outside the project (e.g. before committing)")
    parser.add_argument("--project", choices=("main", "ci"), default="main", help="ci = the CI project in ci/")
    args = parser.parse_args(argv)
    try:
        if args.project == "ci":
            config = stack_config(args.stack, root=CI_DIR, stack_file=args.stack_file)
            run = run_program(args.stack, config=config, main=CI_DIR / "__main__.py", project=CI_PROJECT)
            doc = ci_plan_document(run)
        else:
            config = stack_config(args.stack, stack_file=args.stack_file) if args.stack_file else None
            run = run_program(args.stack, config=config) if config else load(args.stack)
            doc = plan_document(run)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (YamlFileError, AwsLookupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"deepseek-cloud: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif args.project == "ci":
        render_ci(doc)
    else:
        render(doc)
    return 0


def render_ci(doc: dict[str, Any]) -> None:
    """The CI project: the resource tree, then per role who may assume it and what each statement allows."""
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

    console = Console(width=160)
    console.print(
        f"[bold]{doc['project']} plan[/] stack [cyan]{doc['stack']}[/] · region {doc['region']} "
        "(offline: Pulumi mock runtime)"
    )
    tree = Tree(f"pulumi:pulumi:Stack {doc['project']}-{doc['stack']}")
    nodes: dict[str, Any] = {"": tree}
    for r in doc["resources"]:
        parent = nodes.get(f"{r.get('parentType', '')} {r['parent']}", tree)
        nodes[f"{r['type']} {r['name']}"] = parent.add(f"[green]{r['type']}[/] {r['name']}")
    console.print(tree)
    for role, spec in doc["iamRoles"].items():
        subjects = []
        for stmt in (spec["trust"] or {}).get("Statement", []):
            subjects += _as_list(stmt.get("Condition", {}).get("StringEquals", {}).get(f"{GITHUB_HOST}:sub", []))
        table = Table(title=f"{role}: assumable by {', '.join(subjects) or '?'}")
        for col in ("policy", "Sid", "effect", "actions", "resources", "condition"):
            table.add_column(col, overflow="fold")
        for name, policy in spec["policies"].items():
            for stmt in policy.get("Statement", []):
                table.add_row(
                    name.removeprefix(role + "-"),
                    stmt.get("Sid", ""),
                    stmt.get("Effect", ""),
                    " ".join(_as_list(stmt.get("Action", []))),
                    " ".join(_as_list(stmt.get("Resource", []))),
                    json.dumps(stmt.get("Condition")) if stmt.get("Condition") else "",
                )
        console.print(table)
    console.print("outputs:", json.dumps(doc["outputs"], indent=2))


GITHUB_HOST = "token.actions.githubusercontent.com"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


if __name__ == "__main__":
    # A plan allocates hundreds of thousands of short-lived objects (asyncio tasks and futures, protobuf
    # structs) beside the provider SDK's classes; at CPython's default GC thresholds (700, 10, 10) the
    # collector keeps re-walking all of them (~15 % of a hybrid plan's CPU; a bare import of the same SDK
    # modules gains nothing from it, measured 2026-12-01). Only the CLI process: callers keep their own.
    gc.set_threshold(100_000, 50, 100)
    sys.exit(main())
