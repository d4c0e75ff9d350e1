"""Cost estimate for a stack, from the dated price snapshot in stacks/pricing.yaml and the planned resources.

- GPU instances: on-demand price of the pool's first type (the ASG's on-demand strategy is "prioritized":
  the first override is launched first); its spot share at the per-type, per-region spot price derived from
  the SkyPilot catalog (pricing.yaml `spotHourly`, scripts/pricing_snapshot.py). No spot row: spot is priced
  at on-demand (no discount assumed).
- Each instance carries its gp3 root volume as planned in the launch template (size, IOPS and throughput
  above the gp3 baseline of 3,000 IOPS / 125 MB/s).
- Fixed costs are counted from the planned resources (NAT gateways, load balancer, KMS keys, secrets,
  alarms by kind, dashboards) plus usage lines (NAT data, load balancer capacity units, log ingestion,
  KMS/Secrets requests) from the per-environment assumptions in pricing.yaml.
- Idle = traffic at zero and the GPU pool at its minSize (0 for dev/staging: every GPU off); usage lines
  are left out. A replica-hour = an instance-hour (with its root volume) ÷ replicas per instance.
Monthly = hourly × 730 (AWS's own monthly-hours convention).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.ecs import metrics_sidecar
from components.shared.cloudwatch_agent import GPU_MEASUREMENTS
from stacks.yaml_files import read_yaml

PRICES_PATH = Path(__file__).with_name("pricing.yaml")
HOURS_PER_MONTH = 730
GP3_BASELINE_IOPS = 3000
GP3_BASELINE_MBPS = 125
GB_PER_GIB = 2**30 / 1e9

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


@dataclass(frozen=True)
class Prices:
    raw: dict

    @property
    def captured_on(self) -> str:
        return str(self.raw["capturedOn"])

    def on_demand(self, region: str, instance_type: str) -> float | None:
        return (self.raw["onDemandHourly"].get(region) or {}).get(instance_type)

    def spot(self, region: str, instance_type: str) -> float | None:
        """Median spot price over the region's AZs in the snapshot, or None when the snapshot has none."""
        return (self.raw.get("spotHourly", {}).get(region) or {}).get(instance_type)

    def service(self, region: str, key: str) -> tuple[float, str]:
        """A service price and the region it was taken from (us-east-1 when the region has none)."""
        services = self.raw.get("services", {})
        for where in (region, "us-east-1"):
            if key in (services.get(where) or {}):
                return float(services[where][key]), where
        return 0.0, "unpriced"

    def assumptions(self, environment: str) -> dict[str, float]:
        usage = self.raw["assumptions"]
        return {"vllmImageGB": usage["vllmImageGB"], **usage["byEnvironment"][environment]}

    def gpu_instance_types(self) -> list[str]:
        """Every GPU instance type the snapshot prices, in any region (candidates for sizing)."""
        names: dict[str, None] = {}
        for table in self.raw["onDemandHourly"].values():
            for name in table:
                if name.split(".")[0][:1] in ("g", "p"):
                    names[name] = None
        return list(names)


@functools.cache
def load_prices(path: Path = PRICES_PATH) -> Prices:
    return Prices(read_yaml(path))


def on_demand_count(instances: int, base: int, percent_above_base: int, spot_enabled: bool) -> int:
    """On-demand instances among `instances` under an ASG mixed-instances distribution."""
    if not spot_enabled:
        return instances
    base_part = min(instances, base)
    return base_part + math.ceil((instances - base_part) * percent_above_base / 100)


# --- planned resources ----------------------------------------------------------------------------


def _type(r: Any) -> str:
    return r["type"] if isinstance(r, dict) else r.type


def _inputs(r: Any) -> dict:
    inputs = r["inputs"] if isinstance(r, dict) else r.inputs
    return inputs if isinstance(inputs, dict) else {}


def count(resources: list, type_token: str) -> int:
    return sum(1 for r in resources if _type(r) == type_token)


def alarm_metrics(resources: list) -> dict[str, int]:
    """CloudWatch bills alarms per alarm metric: a metric-math alarm counts each metric it queries; an alarm
    whose period is under 60 s is high resolution; composites are billed per alarm."""
    standard = high_res = 0
    for r in resources:
        if _type(r) != METRIC_ALARM:
            continue
        inputs = _inputs(r)
        queries = [q for q in inputs.get("metricQueries") or [] if isinstance(q, dict) and q.get("metric")]
        periods = [q["metric"].get("period") for q in queries] if queries else [inputs.get("period")]
        metrics = max(1, len(queries))
        if any(isinstance(p, (int, float)) and p < 60 for p in periods):
            high_res += metrics
        else:
            standard += metrics
    return {"standard": standard, "highResolution": high_res, "composite": count(resources, COMPOSITE_ALARM)}


def node_class_volume(resources: list) -> dict[str, float] | None:
    """EKS: the GPU nodes' root gp3 volume from Karpenter's EC2NodeClass ("200Gi" sizes)."""
    for r in resources:
        if _type(r) != EC2_NODE_CLASS:
            continue
        for mapping in (_inputs(r).get("spec") or {}).get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs") or {}
            size = str(ebs.get("volumeSize", ""))
            if size.endswith("Gi") and size[:-2].isdigit():
                return {
                    "sizeGiB": int(size[:-2]),
                    "iops": ebs.get("iops", GP3_BASELINE_IOPS),
                    "throughputMBps": ebs.get("throughput", GP3_BASELINE_MBPS),
                }
    return None


def root_volume(resources: list) -> dict[str, float] | None:
    """The GPU nodes' root gp3 volume: size GiB, IOPS, throughput MB/s (the EC2NodeClass on EKS, else the
    GPU launch template)."""
    if any(_type(r) == EC2_NODE_CLASS for r in resources):
        return node_class_volume(resources)
    for r in resources:
        if _type(r) != LAUNCH_TEMPLATE:
            continue
        for mapping in _inputs(r).get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs") or {}
            values = (ebs.get("volumeSize"), ebs.get("iops", GP3_BASELINE_IOPS), ebs.get("throughput", 125))
            if all(isinstance(v, (int, float)) for v in values):
                return {"sizeGiB": values[0], "iops": values[1], "throughputMBps": values[2]}
    return None


# --- the estimate ---------------------------------------------------------------------------------


def root_volume_monthly(prices: Prices, region: str, volume: dict[str, float] | None) -> tuple[float, str]:
    if volume is None:
        return 0.0, "no root volume in the plan"
    per_gb, _ = prices.service(region, "ebsGp3PerGBMonth")
    per_iops, _ = prices.service(region, "ebsGp3IopsMonth")
    per_mbps, _ = prices.service(region, "ebsGp3ThroughputMonth")
    extra_iops = max(0, volume["iops"] - GP3_BASELINE_IOPS)
    extra_mbps = max(0, volume["throughputMBps"] - GP3_BASELINE_MBPS)
    monthly = volume["sizeGiB"] * per_gb + extra_iops * per_iops + extra_mbps * per_mbps
    basis = (
        f"{volume['sizeGiB']:g} GiB × {per_gb} + {extra_iops:g} IOPS above 3000 × {per_iops}"
        f" + {extra_mbps:g} MB/s above 125 × {per_mbps}"
    )
    return monthly, basis


def _item(monthly: float, basis: str, usage: bool = False) -> dict[str, Any]:
    return {"monthly": monthly, "basis": basis, "usage": usage}


def fixed_items(ctx, resources: list, prices: Prices) -> dict[str, dict[str, Any]]:
    """Monthly USD per line that does not scale with GPU instances; `usage` lines depend on traffic."""
    region, h = ctx.region, HOURS_PER_MONTH
    svc = functools.partial(prices.service, region)
    usage = prices.assumptions(ctx.config.environment)
    items: dict[str, dict[str, Any]] = {}
    nats = count(resources, "aws:ec2/natGateway:NatGateway")
    if nats:
        items["natGateways"] = _item(nats * svc("natGatewayHourly")[0] * h, f"{nats} × hourly × {h}")
        weights_gb = ctx.sizing.weights_gib * GB_PER_GIB
        gb = usage["instanceLaunchesPerMonth"] * (usage["vllmImageGB"] + weights_gb) + usage["otherNatGBPerMonth"]
        items["natDataProcessing"] = _item(
            gb * svc("natGatewayPerGB")[0],
            f"{gb:.0f} GB = {usage['instanceLaunchesPerMonth']} launches × ({usage['vllmImageGB']} GB image + "
            f"{weights_gb:.1f} GB weights) + {usage['otherNatGBPerMonth']} GB other (assumed)",
            usage=True,
        )
    albs = count(resources, "aws:lb/loadBalancer:LoadBalancer")
    if albs:
        internal = internal_load_balancers(resources)
        note = f" ({internal} internal)" if internal else ""
        items["loadBalancer"] = _item(albs * svc("albHourly")[0] * h, f"{albs}{note} × hourly × {h}")
        lcu = usage["albLcuAverage"]
        items["loadBalancerCapacityUnits"] = _item(
            lcu * svc("albLcuHourly")[0] * h, f"{lcu} LCU average (assumed) × {h}", usage=True
        )
    clusters = count(resources, EKS_CLUSTER) if resources else int(ctx.config.platform == "eks")
    if clusters:
        # Standard support ($0.10/h per cluster; aws.amazon.com/eks/pricing via pricing.yaml [G]).
        items["eksControlPlane"] = _item(
            clusters * svc("eksClusterHourly")[0] * h, f"{clusters} cluster × hourly × {h}"
        )
    items.update(system_node_items(ctx, resources, prices))
    if getattr(ctx, "tiers", ()) and ctx.config.platform == "ecs":  # EKS: the router pods use the system nodes
        r = router_hourly(ctx, prices)
        items["router"] = _item(r["hourly"] * h, f"{r['basis']} × {h}")
    keys, secrets = count(resources, "aws:kms/key:Key"), count(resources, "aws:secretsmanager/secret:Secret")
    items["kmsAndSecrets"] = _item(
        keys * svc("kmsKeyMonthly")[0] + secrets * svc("secretsManagerSecretMonthly")[0],
        f"{keys} KMS key(s) + {secrets} secret(s), monthly",
    )
    items["kmsAndSecretsRequests"] = _item(
        usage["kmsRequestsPerMonth"] / 10_000 * svc("kmsPer10kRequests")[0]
        + usage["secretsApiCallsPerMonth"] / 10_000 * svc("secretsManagerPer10kCalls")[0],
        f"{usage['kmsRequestsPerMonth']} KMS requests + {usage['secretsApiCallsPerMonth']} Secrets Manager "
        "API calls (assumed)",
        usage=True,
    )
    alarms = alarm_metrics(resources)
    items["alarms"] = _item(
        alarms["standard"] * svc("cloudwatchAlarmMonthly")[0]
        + alarms["highResolution"] * svc("cloudwatchHighResAlarmMonthly")[0]
        + alarms["composite"] * svc("cloudwatchCompositeAlarmMonthly")[0],
        f"{alarms['standard']} standard + {alarms['highResolution']} high-resolution alarm metrics, "
        f"{alarms['composite']} composite",
    )
    metrics = custom_metrics(ctx, resources)
    if metrics["total"]:
        items["customMetrics"] = _item(metrics["total"] * svc("cloudwatchCustomMetricMonthly")[0], metrics["basis"])
    dashboards = count(resources, "aws:cloudwatch/dashboard:Dashboard")
    if dashboards:
        items["dashboards"] = _item(dashboards * svc("cloudwatchDashboardMonthly")[0], f"{dashboards} × monthly")
    if count(resources, "aws:cloudwatch/logGroup:LogGroup"):
        gb = usage["logGBPerMonth"]
        items["logIngestion"] = _item(gb * svc("cloudwatchLogsIngestPerGB")[0], f"{gb} GB (assumed)", usage=True)
    return items


def collector_metrics(resources: list) -> int:
    """Metrics the ADOT collector publishes through EMF (components/shared/metrics_collector.py): each metric
    name × each dimension set of its awsemf metric_declarations, read from the config the stack declares (the
    ECS task's AOT_CONFIG_CONTENT, the EKS collector's ConfigMap: any ConfigMap document with an awsemf exporter)."""
    texts: list[str] = []
    for r in resources:
        inputs = _inputs(r)
        if _type(r) == "aws:ecs/taskDefinition:TaskDefinition" and isinstance(inputs.get("containerDefinitions"), str):
            for container in json.loads(inputs["containerDefinitions"]):
                env = {e.get("name"): e.get("value") for e in container.get("environment") or []}
                texts.append(env.get(metrics_sidecar.CONFIG_ENV) or "")
        elif _type(r) == "kubernetes:core/v1:ConfigMap":
            texts.extend(v for v in (inputs.get("data") or {}).values() if isinstance(v, str) and "awsemf" in v)
    total = 0
    for text in filter(None, texts):
        emf = (yaml.safe_load(text).get("exporters") or {}).get("awsemf") or {}
        for declaration in emf.get("metric_declarations") or []:
            total += len(declaration.get("dimensions") or [[]]) * len(declaration.get("metric_name_selectors") or [])
    return total


def custom_metrics(ctx, resources: list) -> dict[str, Any]:
    """CloudWatch bills each metric name × dimension combination as a custom metric, prorated by the hour
    (aws.amazon.com/cloudwatch/pricing [M]). Counted from what the stack declares: the collector's EMF series,
    the router's log metric filters (one series per tier through their Tier dimension) and, on ECS, the
    CloudWatch agent's GPU series (components/shared/cloudwatch_agent.py: per GPU, per instance and the
    Auto Scaling group roll-up) for the instances kept at the idle floor; more while scaled out."""
    collector = collector_metrics(resources)
    filters = count(resources, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    tiers = 1 + len(getattr(ctx, "tiers", ()) or ())
    router = filters * tiers
    gpu = 0
    if ctx.config.platform == "ecs":
        measurements = len(GPU_MEASUREMENTS)
        # per GPU (the agent tags nvidia_smi series by GPU name and index: aws/amazon-cloudwatch-agent#981) + the
        # InstanceId roll-up (aggregation_dimensions in components/shared/cloudwatch_agent.py)
        per_instance = measurements * (ctx.sizing.gpus_per_instance + 1)
        gpu = measurements + per_instance * ctx.config.gpu_pool.min_size  # + the group roll-up
    total = collector + router + gpu
    basis = f"{collector} collector (EMF) + {filters} log filters × {tiers} tier(s)"
    if ctx.config.platform == "ecs":
        basis += f" + {gpu} GPU agent series at minSize {ctx.config.gpu_pool.min_size} (more while scaled out)"
    return {"total": total, "collector": collector, "router": router, "gpuAgent": gpu, "basis": basis + " metrics"}


def internal_load_balancers(resources: list) -> int:
    return sum(
        1 for r in resources if _type(r) == "aws:lb/loadBalancer:LoadBalancer" and _inputs(r).get("internal") is True
    )


def gpu_floor(ctx, replicas_per_instance: int, nodes_per_replica: int) -> int:
    """GPU instances that run with no traffic: the pool's minSize on ECS (the Auto Scaling group keeps them); on
    EKS Karpenter keeps only the nodes the lowest replica floor (scaling.minReplicas or a schedule's) needs."""
    if ctx.config.platform != "eks":
        return ctx.config.gpu_pool.min_size
    scaling = ctx.config.scaling
    lowest = min([scaling.min_replicas, *(r.min_replicas for r in scaling.schedule)])
    return math.ceil(lowest / replicas_per_instance) * nodes_per_replica


def router_hourly(ctx, prices: Prices) -> dict[str, Any]:
    """The tier router's Fargate tasks at tiers.router.minReplicas (Linux/x86, per vCPU-hour and GB-hour); on EKS
    its pods, which request the same CPU and memory from the system nodes (already priced as eksSystemNodes)."""
    rcfg = ctx.config.tiers.router
    vcpu, gb = rcfg.cpu / 1024, rcfg.memory_mib / 1024
    if ctx.config.platform == "eks":
        return {
            "replicas": {"min": rcfg.min_replicas, "max": rcfg.max_replicas},
            "vcpu": vcpu,
            "memoryGB": gb,
            "taskHourly": 0.0,
            "hourly": 0.0,
            "unit": "pods",
            "basis": f"{rcfg.min_replicas} pod(s) × ({vcpu:g} vCPU, {gb:g} GB requested) on the system nodes",
            "source": "no charge of its own: the system nodes are priced in eksSystemNodes (components/eks/router.py)",
        }
    per_vcpu, _ = prices.service(ctx.region, "fargateVcpuHourly")
    per_gb, _ = prices.service(ctx.region, "fargateGbHourly")
    task = vcpu * per_vcpu + gb * per_gb
    return {
        "replicas": {"min": rcfg.min_replicas, "max": rcfg.max_replicas},
        "vcpu": vcpu,
        "memoryGB": gb,
        "taskHourly": round(task, 5),
        "hourly": rcfg.min_replicas * task,
        "unit": "tasks",
        "basis": f"{rcfg.min_replicas} Fargate task(s) × ({vcpu:g} vCPU × {per_vcpu} + {gb:g} GB × {per_gb})",
        "source": "pricing.yaml services fargateVcpuHourly/fargateGbHourly [O] (vantage.sh/blog/fargate-pricing)",
    }


def tier_instance_hourly(ctx, prices: Prices, instance_type: str, spot: bool) -> tuple[float, str]:
    """An extra tier's instance-hour: its spot price when capacity.spot (on-demand when the snapshot has none)."""
    od = prices.on_demand(ctx.region, instance_type)
    if od is None:
        return 0.0, f"no on-demand price for {instance_type} in {ctx.region}"
    if spot and prices.spot(ctx.region, instance_type) is not None:
        return prices.spot(ctx.region, instance_type), "spot"
    return od, "on-demand"


def _rule_text(rule) -> str:
    if rule.match == "header":
        return f"header {rule.header}: <tier>"
    if rule.match == "promptTokens":
        return f"model {{routerModel}} and prompt ≤ {rule.max_prompt_tokens} tokens → {rule.tier}"
    return "model: <a tier's model name> → that tier"


def tier_costs(ctx, est: dict, prices: Prices) -> dict[str, Any]:
    """The tiers table (default tier first), the routing rules in order, the router, the traffic mix."""
    tiers = ctx.config.tiers
    rh = est["replicaHour"]
    rows = [
        {
            "name": tiers.default_name,
            "model": ctx.sizing.model,
            "kind": "gpu",
            "instanceType": rh["instanceType"],
            "replicas": {"min": ctx.config.scaling.min_replicas, "max": ctx.config.scaling.max_replicas},
            "replicasPerInstance": rh["replicasPerInstance"],
            "replicaHourly": rh["atSpotMix"],
            "pricing": f"the pool's spot mix ({rh['spotMixAt']})",
            "trafficShare": tiers.default_traffic_share,
        }
    ]
    floor = 0.0
    for tier in ctx.tiers:
        cap, itype = tier.config.capacity, tier.instances[0].instance_type
        hourly, pricing = tier_instance_hourly(ctx, prices, itype, cap.spot)
        per_replica = hourly / max(1, tier.replicas_per_instance)
        floor += cap.min_size * hourly
        rows.append(
            {
                "name": tier.name,
                "model": tier.model.key,
                "kind": tier.kind,
                "instanceType": itype,
                "replicas": {"min": tier.config.scaling.min_replicas, "max": tier.config.scaling.max_replicas},
                "replicasPerInstance": tier.replicas_per_instance,
                "replicaHourly": round(per_replica, 4),
                "pricing": pricing,
                "trafficShare": tier.config.traffic_share,
            }
        )
    rules = [_rule_text(r).replace("{routerModel}", tiers.router_model) for r in tiers.rules]
    return {
        "tiers": rows,
        "rules": rules,
        "fallbacks": {k: list(v) for k, v in tiers.fallbacks.items()},
        "router": {k: v for k, v in router_hourly(ctx, prices).items() if k != "hourly"},
        "extraTiersMinHourly": round(floor, 4),
    }


def system_node_items(ctx, resources: list, prices: Prices) -> dict[str, dict[str, Any]]:
    """EKS managed node groups (the on-demand system nodes): instances at on-demand price + gp3 root."""
    items: dict[str, dict[str, Any]] = {}
    per_gb, _ = prices.service(ctx.region, "ebsGp3PerGBMonth")
    for r in resources:
        if _type(r) != EKS_NODE_GROUP:
            continue
        inputs = _inputs(r)
        nodes = int((inputs.get("scalingConfig") or {}).get("desiredSize") or 0)
        itype = (inputs.get("instanceTypes") or [""])[0]
        hourly = prices.on_demand(ctx.region, itype) or 0.0
        gib = _launch_template_gib(resources) or 20
        items["eksSystemNodes"] = _item(
            nodes * (hourly * HOURS_PER_MONTH + gib * per_gb),
            f"{nodes} × {itype} on-demand {hourly}/h × {HOURS_PER_MONTH} + {gib} GiB gp3 × {per_gb}",
        )
    return items


def _launch_template_gib(resources: list) -> float | None:
    for r in resources:
        if _type(r) == LAUNCH_TEMPLATE:
            for mapping in _inputs(r).get("blockDeviceMappings") or []:
                size = (mapping.get("ebs") or {}).get("volumeSize")
                if isinstance(size, (int, float)):
                    return size
    return None


def _pool_prices(ctx, prices: Prices, notes: list[str]) -> tuple[float, float]:
    itype = ctx.config.gpu_pool.instance_types[0]
    od = prices.on_demand(ctx.region, itype)
    if od is None:
        notes.append(f"no on-demand price for {itype} in {ctx.region} in the snapshot: GPU cost left out")
        return 0.0, 0.0
    spot = prices.spot(ctx.region, itype)
    if spot is None:
        notes.append(f"no spot price for {itype} in {ctx.region} in the snapshot: its spot share priced at on-demand")
        spot = od
    return od, spot


def _instance_types(ctx, prices: Prices) -> list[dict[str, Any]]:
    replicas = {s.instance_type: s.replicas_per_instance for s in ctx.pool_sizing}
    return [
        {
            "instanceType": t,
            "onDemandHourly": prices.on_demand(ctx.region, t),
            "spotHourly": prices.spot(ctx.region, t),
            "replicasPerInstance": replicas.get(t),
        }
        for t in ctx.config.gpu_pool.instance_types
    ]


def warm_pool_volumes(pool) -> int:
    """Stopped instances the warm pool holds while the group sits at minSize: maxGroupPreparedCapacity (or, unset,
    maxSize) less the desired capacity, never below the pool's minSize (PutWarmPool MaxGroupPreparedCapacity)."""
    warm = pool.warm_pool
    if not warm.enabled:
        return 0
    prepared = warm.max_group_prepared_capacity or pool.max_size
    return max(warm.min_size, prepared - pool.min_size)


@dataclass(frozen=True)
class _PoolPricing:
    """The GPU pool's prices per instance-hour and its on-demand/spot split (the ASG's instances distribution)."""

    on_demand: float
    spot: float
    root_volume: float  # per instance-hour
    pool: Any  # the gpu_pool config section

    def split(self, instances: int) -> tuple[int, int]:
        spot_cfg = self.pool.spot
        od = on_demand_count(
            instances,
            spot_cfg.on_demand_base_capacity,
            spot_cfg.on_demand_percentage_above_base_capacity,
            spot_cfg.enabled,
        )
        return od, instances - od

    def gpu_hourly(self, instances: int) -> float:
        od, spot = self.split(instances)
        return od * self.on_demand + spot * self.spot + instances * self.root_volume

    def at(self, instances: int, fixed_hourly: float) -> dict:
        od, spot = self.split(instances)
        all_od = instances * (self.on_demand + self.root_volume) + fixed_hourly
        mix = self.gpu_hourly(instances) + fixed_hourly
        return {
            "instances": instances,
            "onDemandInstances": od,
            "spotInstances": spot,
            "rootVolumesHourly": round(instances * self.root_volume, 4),
            "hourlyOnDemand": round(all_od, 2),
            "hourlyWithSpot": round(mix, 2),
            "monthlyOnDemand": round(all_od * HOURS_PER_MONTH, 2),
            "monthlyWithSpot": round(mix * HOURS_PER_MONTH, 2),
        }


def estimate(ctx, resources: Iterable = ()) -> dict:
    """Hourly and monthly USD at min and max scale (all on-demand, and the configured spot mix), idle, and
    per replica-hour. `resources`: the planned registrations (offline/plan.py passes the run's)."""
    resources = list(resources)
    prices = load_prices()
    pool = ctx.config.gpu_pool
    notes = [
        f"prices captured {prices.captured_on}; spot = per-type regional median of the catalog's per-AZ spot "
        f"prices ({prices.raw['spot']['commit'][:8]}, read {prices.raw['spot']['readOn']})",
        f"GPU price of {pool.instance_types[0]}, the pool's first type (on-demand launches it first)",
    ]
    od_price, spot_price = _pool_prices(ctx, prices, notes)
    volume = root_volume(resources)
    volume_monthly, volume_basis = root_volume_monthly(prices, ctx.region, volume)
    pricing = _PoolPricing(od_price, spot_price, volume_monthly / HOURS_PER_MONTH, pool)
    items = fixed_items(ctx, resources, prices)
    fixed_hourly = sum(i["monthly"] for i in items.values()) / HOURS_PER_MONTH
    if prices.service(ctx.region, "natGatewayHourly")[1] != ctx.region:
        notes.append(f"service prices for {ctx.region} not in the snapshot: us-east-1 prices used")
    warm = warm_pool_volumes(pool)
    floor = gpu_floor(ctx, max(1, ctx.sizing.replicas_per_instance), ctx.sizing.nodes_per_replica)
    idle, idle_hourly = _idle(pricing, floor, items, warm)
    out = {
        "currency": "USD",
        "pricesCapturedOn": prices.captured_on,
        "instanceType": pool.instance_types[0],
        "onDemandHourlyPerInstance": od_price,
        "spotHourlyPerInstance": round(spot_price, 4),
        "spotDiscountAssumed": round(1 - spot_price / od_price, 4) if od_price else 0.0,  # now derived, not assumed
        "spotSource": prices.raw["spot"]["source"],
        "instanceTypes": _instance_types(ctx, prices),
        "rootVolume": {**(volume or {}), "monthly": round(volume_monthly, 2), "basis": volume_basis},
        "fixedHourly": round(fixed_hourly, 4),
        "fixedItemsHourly": {k: round(v["monthly"] / HOURS_PER_MONTH, 4) for k, v in items.items()},
        "fixedMonthly": round(fixed_hourly * HOURS_PER_MONTH, 2),
        "fixedItemsMonthly": {k: {**v, "monthly": round(v["monthly"], 2)} for k, v in items.items()},
        "assumptions": prices.assumptions(ctx.config.environment),
        "min": pricing.at(floor, fixed_hourly),
        "max": pricing.at(pool.max_size, fixed_hourly),
        # A stopped warm-pool instance bills its EBS volumes only (EC2 Auto Scaling user guide, warm pools).
        "warmPool": {
            "stoppedInstancesAtIdle": warm,
            "monthly": round(warm * volume_monthly, 2),
            "basis": f"{warm} stopped × root volume {round(volume_monthly, 2)}/month; no instance hours",
        },
        "idle": idle,
        "replicaHour": _replica_hour(ctx, pricing),
        "notes": notes,
    }
    if getattr(ctx, "tiers", ()):
        # Added key (older readers ignore it). Idle includes the extra tiers' instances at capacity.minSize.
        out["tiers"] = tier_costs(ctx, out, prices)
        idle_hourly += out["tiers"]["extraTiersMinHourly"]
        out["idle"].update(hourly=round(idle_hourly, 4), monthly=round(idle_hourly * HOURS_PER_MONTH, 2))
    return out


def _idle(pricing: _PoolPricing, floor: int, items: dict, warm: int) -> tuple[dict, float]:
    """Every GPU at its floor: the floor's instances, the fixed items that bill without traffic, and the
    stopped warm-pool instances' volumes. Also the unrounded hourly figure, for the tiers to add to."""
    idle_fixed_hourly = sum(i["monthly"] for i in items.values() if not i["usage"]) / HOURS_PER_MONTH
    idle_hourly = pricing.gpu_hourly(floor) + idle_fixed_hourly + warm * pricing.root_volume
    od, spot = pricing.split(floor)
    return {
        "instances": floor,
        "onDemandInstances": od,
        "spotInstances": spot,
        "hourly": round(idle_hourly, 4),
        "monthly": round(idle_hourly * HOURS_PER_MONTH, 2),
        "excludes": sorted(k for k, v in items.items() if v["usage"]),
    }, idle_hourly


def _replica_hour(ctx, pricing: _PoolPricing) -> dict:
    """What one replica-hour costs: on-demand, spot, and at the pool's spot mix at maxSize."""
    pool = ctx.config.gpu_pool
    replicas = max(1, ctx.sizing.replicas_per_instance)
    nodes = ctx.sizing.nodes_per_replica  # > 1: one replica is a group of that many instances (EKS)
    od_max, spot_max = pricing.split(pool.max_size)
    mix_instance_hourly = (od_max * pricing.on_demand + spot_max * pricing.spot) / max(1, pool.max_size)
    mix_instance_hourly += pricing.root_volume
    return {
        "instanceType": pool.instance_types[0],
        "replicasPerInstance": replicas,
        "nodesPerReplica": nodes,
        "layout": ctx.sizing.layout,
        "instanceHourlyAtSpotMix": round(mix_instance_hourly, 4),
        "onDemand": round((pricing.on_demand + pricing.root_volume) * nodes / replicas, 4),
        "spot": round((pricing.spot + pricing.root_volume) * nodes / replicas, 4),
        "atSpotMix": round(mix_instance_hourly * nodes / replicas, 4),
        "spotMixAt": f"maxSize {pool.max_size}: {od_max} on-demand / {spot_max} spot",
    }


def nat_gateway_count(ctx) -> int:
    mode = ctx.config.network.nat_gateways
    if mode == "auto":
        mode = "perAz" if ctx.is_prod else "single"
    return len(ctx.availability_zones) if mode == "perAz" else 1
