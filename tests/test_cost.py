"""Cost estimate: spot prices re-derived from the kept catalog rows, and the plan's arithmetic checked against
hand calculations written out from the price constants (stacks/pricing.yaml), not by calling the estimate."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from offline.harness import shared_run
from scripts import pricing_snapshot
from stacks import cost
from stacks.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
PRICING = read_yaml(ROOT / "stacks" / "pricing.yaml")
H = 730  # hours per month


# --- the price constants the hand calculations use, checked against pricing.yaml once -------------------

US_EAST_1 = {
    "natGatewayHourly": 0.045,
    "natGatewayPerGB": 0.045,
    "albHourly": 0.0225,
    "albLcuHourly": 0.008,
    "ebsGp3PerGBMonth": 0.08,
    "ebsGp3IopsMonth": 0.005,
    "ebsGp3ThroughputMonth": 0.04,
    "cloudwatchAlarmMonthly": 0.10,
    "cloudwatchHighResAlarmMonthly": 0.30,
    "cloudwatchCompositeAlarmMonthly": 0.50,
    "cloudwatchCustomMetricMonthly": 0.30,
    "cloudwatchDashboardMonthly": 3.00,
    "cloudwatchLogsIngestPerGB": 0.50,
    "kmsKeyMonthly": 1.00,
    "kmsPer10kRequests": 0.03,
    "secretsManagerSecretMonthly": 0.40,
    "secretsManagerPer10kCalls": 0.05,
}


def test_hand_constants_are_the_snapshot():
    for key, value in US_EAST_1.items():
        assert PRICING["services"]["us-east-1"][key] == value, key
    assert PRICING["onDemandHourly"]["us-east-1"]["g6e.xlarge"] == 1.861
    assert PRICING["onDemandHourly"]["us-east-1"]["g6e.12xlarge"] == 10.49264


# --- spot prices: derived from the kept CSV rows ----------------------------------------------------------


def test_pricing_yaml_spot_block_is_rederived_from_the_kept_csv():
    text = (ROOT / "stacks" / "pricing.yaml").read_text()
    block = pricing_snapshot.render_block(pricing_snapshot.regional_spot(pricing_snapshot.read_rows()))
    assert pricing_snapshot.current_block(text) == block
    assert pricing_snapshot.main(["--check"]) == 0


def test_regional_spot_is_the_median_of_the_standard_azs():
    # CSV rows, g6e.12xlarge us-east-1: use1-az1 3.7887, az2 5.6426, az4 4.9101, az6 6.015
    # sorted 3.7887, 4.9101, 5.6426, 6.015 -> median (4.9101 + 5.6426) / 2 = 5.27635
    assert PRICING["spotHourly"]["us-east-1"]["g6e.12xlarge"] == 5.27635
    # g6e.xlarge us-east-1: 1.1975, 0.9154, 0.9599, 1.0492 -> (0.9599 + 1.0492) / 2 = 1.00455
    assert PRICING["spotHourly"]["us-east-1"]["g6e.xlarge"] == 1.00455
    # g4dn.12xlarge us-west-2: az1 1.6658, az2 1.7173, az3 1.7536 and Local Zone usw2-lax1-az1/az2 0.4694 each.
    # Standard AZs only -> 1.7173; with the Local Zone rows it would be 1.6658.
    assert PRICING["spotHourly"]["us-west-2"]["g4dn.12xlarge"] == 1.7173
    # c7i.12xlarge us-east-1 (hybrid's cpu tier): az1 0.9484, az2 0.6992, az4 0.8255, az5 1.1382, az6 0.7209 -> 0.8255;
    # with the Local Zone use1-atl2-az1 row (0.2677) it would be (0.7209 + 0.8255) / 2 = 0.7732.
    assert PRICING["spotHourly"]["us-east-1"]["c7i.12xlarge"] == 0.8255
    assert PRICING["onDemandHourly"]["us-east-1"]["c7i.12xlarge"] == 2.142


def test_kept_csv_on_demand_prices_equal_the_on_demand_table():
    rows = pricing_snapshot.read_rows()
    assert len(rows) == 268
    for r in rows:
        assert PRICING["onDemandHourly"][r.region][r.instance_type] == r.on_demand, r


def test_every_shipped_pool_type_has_a_spot_price_in_its_region():
    for stack in ("dev", "staging", "prod"):
        stack_file = read_yaml(ROOT / f"Pulumi.{stack}.yaml")["config"]
        region = stack_file["aws:region"]
        for itype in stack_file["deepseek-cloud:gpuPool"]["instanceTypes"]:
            assert cost.load_prices().spot(region, itype) is not None, (stack, itype)


def test_every_tier_type_of_the_hybrid_stack_has_prices():
    stack_file = read_yaml(ROOT / "Pulumi.hybrid.yaml")["config"]
    region = stack_file["aws:region"]
    types = [t for tier in stack_file["deepseek-cloud:tiers"]["extra"] for t in tier["capacity"]["instanceTypes"]]
    assert types == ["c7i.12xlarge"]
    for itype in [*types, *stack_file["deepseek-cloud:gpuPool"]["instanceTypes"]]:
        assert cost.load_prices().spot(region, itype) is not None, itype
        assert cost.load_prices().on_demand(region, itype) is not None, itype


def test_missing_spot_price_is_priced_at_on_demand_with_a_note():
    ctx = SimpleNamespace(
        region="us-east-1", config=SimpleNamespace(gpu_pool=SimpleNamespace(instance_types=["g6.2xlarge"]))
    )
    notes: list[str] = []
    od, spot = cost._pool_prices(ctx, cost.load_prices(), notes)
    assert (od, spot) == (0.9776, 0.9776)
    assert notes == ["no spot price for g6.2xlarge in us-east-1 in the snapshot: its spot share priced at on-demand"]


# --- counting what is planned -----------------------------------------------------------------------------


def test_alarm_metrics_count_math_metrics_high_resolution_and_composites():
    resources = [
        {"type": cost.METRIC_ALARM, "inputs": {"metricName": "A", "period": 60}},
        {"type": cost.METRIC_ALARM, "inputs": {"metricName": "B", "period": 10}},
        {
            "type": cost.METRIC_ALARM,
            "inputs": {
                "metricQueries": [
                    {"id": "e", "expression": "a + b + c"},
                    {"id": "a", "metric": {"metricName": "A", "period": 60}},
                    {"id": "b", "metric": {"metricName": "B", "period": 60}},
                    {"id": "c", "metric": {"metricName": "C", "period": 60}},
                ]
            },
        },
        {"type": cost.COMPOSITE_ALARM, "inputs": {"alarmRule": "ALARM(a)"}},
    ]
    assert cost.alarm_metrics(resources) == {"standard": 4, "highResolution": 1, "composite": 1}


def test_root_volume_prices_iops_and_throughput_above_the_gp3_baseline():
    volume = {"sizeGiB": 100, "iops": 6000, "throughputMBps": 250}
    monthly, _ = cost.root_volume_monthly(cost.load_prices(), "us-east-1", volume)
    # 100 GiB × 0.08 = 8.00; (6000 − 3000) IOPS × 0.005 = 15.00; (250 − 125) MB/s × 0.04 = 5.00
    assert monthly == pytest.approx(8.00 + 15.00 + 5.00)


# --- hand calculations for two shipped stacks -------------------------------------------------------------


def _weights_gb(run) -> float:
    return run.program_globals["context"].sizing.weights_gib * 2**30 / 1e9


def test_dev_estimate_matches_the_hand_calculation():
    run = shared_run("dev")
    c = cost.estimate(run.program_globals["context"], run.registrations)
    p = US_EAST_1
    od = 1.861  # g6e.xlarge us-east-1 on-demand
    spot = (0.9599 + 1.0492) / 2  # median of the four us-east-1 AZ spot prices
    # root volume per instance: 130 GiB, 3000 IOPS, 500 MB/s (launch template)
    volume_month = 130 * p["ebsGp3PerGBMonth"] + 0 * p["ebsGp3IopsMonth"] + (500 - 125) * p["ebsGp3ThroughputMonth"]
    volume_hour = volume_month / H
    nat = 1 * p["natGatewayHourly"] * H  # one NAT gateway (single, dev)
    nat_gb = 22 * (10 + _weights_gb(run)) + 5  # launches × (image + weights) + other, pricing.yaml assumptions
    nat_data = nat_gb * p["natGatewayPerGB"]
    alb = 1 * p["albHourly"] * H
    lcu = 0.1 * p["albLcuHourly"] * H
    kms_secrets = 1 * p["kmsKeyMonthly"] + 2 * p["secretsManagerSecretMonthly"]
    requests = 10_000 / 10_000 * p["kmsPer10kRequests"] + 1_000 / 10_000 * p["secretsManagerPer10kCalls"]
    # alarms: p99-latency, unhealthy-hosts, gpu-utilization-low/high = 4 metrics; 5xx-rate math over 3 metrics;
    # tasks-below-desired math over 2 metrics -> 9 standard alarm metrics; one composite
    alarms = 9 * p["cloudwatchAlarmMonthly"] + 1 * p["cloudwatchCompositeAlarmMonthly"]
    dashboard = 1 * p["cloudwatchDashboardMonthly"]
    logs = 1 * p["cloudwatchLogsIngestPerGB"]
    # custom metrics: the vLLM sidecar's 3 EMF series (queue, KV cache, TTFT) + the GPU agent's 6 measurements
    # rolled up per Auto Scaling group; no instance at minSize 0, so no per-GPU or per-instance series
    metrics = (3 + 6) * p["cloudwatchCustomMetricMonthly"]
    fixed_month = nat + nat_data + alb + lcu + kms_secrets + requests + alarms + metrics + dashboard + logs
    idle_month = nat + alb + kms_secrets + alarms + metrics + dashboard  # minSize 0: no GPU, no traffic
    # max: 2 instances, onDemandBase 0, 0 % above base -> 0 on-demand, 2 spot
    max_hour = 0 * od + 2 * spot + 2 * volume_hour + fixed_month / H

    assert volume_month == pytest.approx(25.40)
    assert idle_month == pytest.approx(58.175)
    assert c["rootVolume"]["monthly"] == round(volume_month, 2)
    assert c["fixedMonthly"] == pytest.approx(fixed_month, abs=0.006)
    assert c["idle"]["instances"] == 0
    assert c["idle"]["monthly"] == pytest.approx(idle_month, abs=0.006)
    assert (c["max"]["onDemandInstances"], c["max"]["spotInstances"]) == (0, 2)
    assert c["max"]["hourlyWithSpot"] == pytest.approx(max_hour, abs=0.006)
    assert c["max"]["monthlyWithSpot"] == pytest.approx(max_hour * H, abs=0.006)
    assert c["min"]["monthlyWithSpot"] == pytest.approx(fixed_month, abs=0.006)
    assert c["replicaHour"]["replicasPerInstance"] == 1
    assert c["replicaHour"]["onDemand"] == pytest.approx((od + volume_hour) / 1, abs=0.00006)
    assert c["replicaHour"]["spot"] == pytest.approx((spot + volume_hour) / 1, abs=0.00006)
    assert c["replicaHour"]["atSpotMix"] == pytest.approx((spot + volume_hour) / 1, abs=0.00006)


def test_prod_estimate_matches_the_hand_calculation():
    run = shared_run("prod")
    c = cost.estimate(run.program_globals["context"], run.registrations)
    p = US_EAST_1
    od = 10.49264  # g6e.12xlarge us-east-1 on-demand
    spot = (4.9101 + 5.6426) / 2  # median of the four us-east-1 AZ spot prices
    volume_month = 190 * p["ebsGp3PerGBMonth"] + 0 * p["ebsGp3IopsMonth"] + (500 - 125) * p["ebsGp3ThroughputMonth"]
    volume_hour = volume_month / H
    nat = 3 * p["natGatewayHourly"] * H  # one NAT gateway per AZ, three AZs
    nat_gb = 30 * (10 + _weights_gb(run)) + 50
    nat_data = nat_gb * p["natGatewayPerGB"]
    alb = 1 * p["albHourly"] * H
    lcu = 1.0 * p["albLcuHourly"] * H
    kms_secrets = 1 * p["kmsKeyMonthly"] + 2 * p["secretsManagerSecretMonthly"]
    requests = 100_000 / 10_000 * p["kmsPer10kRequests"] + 5_000 / 10_000 * p["secretsManagerPer10kCalls"]
    # 6 single-metric alarms (prod adds no-healthy-hosts and gpu-pool-below-min) + 3 + 2 math metrics = 11
    alarms = 11 * p["cloudwatchAlarmMonthly"] + 1 * p["cloudwatchCompositeAlarmMonthly"]
    dashboard = 1 * p["cloudwatchDashboardMonthly"]
    logs = 10 * p["cloudwatchLogsIngestPerGB"]
    # custom metrics: 3 EMF series + 6 GPU measurements per group roll-up + 6 × (4 GPUs + the InstanceId
    # roll-up) for the one instance at minSize 1 = 39
    metrics = (3 + 6 + 6 * (4 + 1) * 1) * p["cloudwatchCustomMetricMonthly"]
    fixed_month = nat + nat_data + alb + lcu + kms_secrets + requests + alarms + metrics + dashboard + logs
    # idle: minSize 1 = onDemandBaseCapacity 1 -> one on-demand instance with its volume, no traffic lines
    idle_hour = 1 * od + 1 * volume_hour + (nat + alb + kms_secrets + alarms + metrics + dashboard) / H
    # max 5: 1 base + ceil(4 × 50 %) = 3 on-demand, 2 spot
    on_demand_at_max = 1 + math.ceil(4 * 50 / 100)
    max_hour = on_demand_at_max * od + 2 * spot + 5 * volume_hour + fixed_month / H
    mix_instance_hour = (on_demand_at_max * od + 2 * spot) / 5 + volume_hour

    assert volume_month == pytest.approx(30.20)
    assert c["fixedMonthly"] == pytest.approx(fixed_month, abs=0.006)
    assert (c["idle"]["instances"], c["idle"]["onDemandInstances"]) == (1, 1)
    assert c["idle"]["hourly"] == pytest.approx(idle_hour, abs=0.00006)
    assert c["idle"]["monthly"] == pytest.approx(idle_hour * H, abs=0.006)
    assert (c["max"]["onDemandInstances"], c["max"]["spotInstances"]) == (3, 2)
    assert c["max"]["hourlyWithSpot"] == pytest.approx(max_hour, abs=0.006)
    assert c["max"]["hourlyOnDemand"] == pytest.approx(5 * (od + volume_hour) + fixed_month / H, abs=0.006)
    assert c["replicaHour"]["replicasPerInstance"] == 2
    assert c["replicaHour"]["atSpotMix"] == pytest.approx(mix_instance_hour / 2, abs=0.00006)
    assert c["replicaHour"]["onDemand"] == pytest.approx((od + volume_hour) / 2, abs=0.00006)
    assert c["replicaHour"]["atSpotMix"] == pytest.approx(4.2237, abs=0.00006)


def test_custom_metrics_are_counted_from_what_the_stacks_declare():
    """The collector's series come from its declared EMF config; the router's log filters count once per tier
    (Tier dimension); EKS has no CloudWatch-agent GPU series (DCGM goes through the collector)."""
    counts = {}
    for stack in ("hybrid", "eks-dev"):
        run = shared_run(stack)
        m = cost.custom_metrics(run.program_globals["context"], run.registrations)
        counts[stack] = (m["collector"], m["router"], m["gpuAgent"], m["total"])
    # hybrid: 3 EMF series; 4 filters × (default + cpu tier); 6 roll-ups + 6 × (4 GPUs + 1) at minSize 1
    assert counts["hybrid"] == (3, 8, 36, 47)
    # eks-dev: queue, KV cache, TTFT + DCGM GPU utilization; no router; no agent
    assert counts["eks-dev"] == (4, 0, 0, 4)
