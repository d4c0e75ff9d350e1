"""`make tco`: two scenarios recomputed by hand, the seed article's claims against the tool, and the command for
every shipped stack (charts written to a tmp dir; checked as PNG/SVG files, not by their pixels)."""

from __future__ import annotations

import json
import math
import statistics
import xml.etree.ElementTree as ET

import pytest

from offline import tco
from offline.harness import shared_run, stack_names
from offline.plan import plan_document
from stacks import cost
from stacks.catalog import load_catalog

HOURS = 730
DAYS = 730 / 24


def test_throughput_rows_carry_source_hardware_precision_concurrency_and_lengths():
    for row in tco.throughput_rows():
        for key in (
            "source",
            "gpu",
            "gpus",
            "tensorParallel",
            "precision",
            "concurrency",
            "inputTokens",
            "outputTokens",
        ):
            assert row[key] not in (None, ""), (row["id"], key)
        assert row["source"].startswith("https://")
        assert row["catalogKey"] in load_catalog().models
        assert row["gpu"] in tco.inputs()["roofline"]["gpuBandwidthGBs"]


def test_efficiency_is_the_median_of_measured_over_roofline_recomputed_for_the_14b_a100_row():
    # Roofline of gpustack-qwen3-14b-a100 by hand: the 14B distill on one A100 80 GB, 217 in / 201 out tokens.
    sizing = tco.size_at(
        load_catalog().models["deepseek-r1-distill-qwen-14b"], tco.instance_facts("p4de.24xlarge"), 1, 8192, 0.9
    )
    weights = 14.77e9 * 2  # parameters × bf16
    kv = 2 * 48 * 8 * 128 * 2  # K and V × layers × KV heads × head dim × 2 bytes = 196,608
    context = 217 + 201 / 2
    batch = min(256, sizing.kv_cache_tokens // (217 + 201))  # A100: 256 sequences (vLLM get_batch_defaults)
    by_hand = batch / ((weights + batch * context * kv) / 2039e9)
    assert tco._row_roofline("gpustack-qwen3-14b-a100")[0] == pytest.approx(by_hand)
    assert tco._row_roofline("gpustack-qwen3-14b-a100")[1] == pytest.approx(1887.31 / by_hand)
    ratios = [
        tco._row_roofline(r["id"])[1]
        for r in tco.throughput_rows()
        if r["id"] != "gpustack-deepseek-r1-h200-as-v3"  # the same measurement standing for V3 counts once
    ]
    assert tco.efficiency() == pytest.approx(statistics.median(ratios))
    assert 0.05 < tco.efficiency() < 1  # real serving sits below the bandwidth bound


def test_scenario_dev_cloud_by_hand():
    """dev: R1-Distill-Qwen-7B on g6e.xlarge (1× L40S, TP 1), workload 2,000 requests/day of 1000/1000 tokens
    in 10 active hours, no measured row: roofline estimate; pool minSize 0 (idle 0 replicas), minReplicas 1."""
    run = shared_run("dev")
    ctx = run.program_globals["context"]
    doc = tco.report(run)
    est = cost.estimate(ctx, run.registrations)
    # throughput: 7.62e9 × 2 bytes of weights; KV 2 × 28 layers × 4 KV heads × 128 × 2 B = 57,344 B/token
    weights, kv, context, bw = 7.62e9 * 2, 57344, 1000 + 1000 / 2, 864e9
    batch = min(256, ctx.sizing.kv_cache_tokens // 2000)
    assert weights + batch * context * kv <= bw * 0.100  # the 100 ms TPOT target does not bind at this batch
    tps = tco.efficiency() * batch / ((weights + batch * context * kv) / bw)
    assert doc["throughput"]["kind"] == "estimated"
    assert doc["throughput"]["outputTokensPerSecond"] == round(tps, 1)
    # demand: 2,000 × 1,000 tokens over 10 h = 55.56 tok/s average; ×3 at peak
    average_tps = 2000 * 1000 / (10 * 3600)
    assert doc["cloud"]["replicasAtAverage"] == max(1, math.ceil(average_tps / tps)) == 1
    assert doc["cloud"]["replicasAtPeak"] == math.ceil(3 * average_tps / tps)
    replica_hours = 1 * 10 * DAYS + 0 * 14 * DAYS  # 304.17 h: one replica in the active hours, none at night
    assert doc["cloud"]["replicaHoursPerMonth"] == round(replica_hours, 1)
    od_replica_hour = (1.861 + est["rootVolume"]["monthly"] / HOURS) / 1  # g6e.xlarge on-demand + its gp3 volume
    monthly = replica_hours * od_replica_hour + est["fixedMonthly"]
    tokens = 2000 * 1000 * DAYS  # 60.83 M output tokens a month
    assert doc["cloud"]["onDemand"]["monthly"] == pytest.approx(monthly, abs=0.02)
    assert doc["cloud"]["onDemand"]["perMillionOutputTokens"] == pytest.approx(monthly / (tokens / 1e6), abs=1e-3)
    spot_hour = 1.00455 + est["rootVolume"]["monthly"] / HOURS  # dev is all spot (onDemandPercentage 0)
    spot_monthly = replica_hours * spot_hour + est["fixedMonthly"]
    assert doc["cloud"]["atSpotMix"]["monthly"] == pytest.approx(spot_monthly, abs=0.02)
    assert doc["cloud"]["idleMonthly"] == est["idle"]["monthly"]


def test_scenario_prod_on_prem_h100_by_hand():
    """prod workload (200,000 requests/day, 1000/1000 tokens, 12 h, peak ×3) on the 8×H100 preset."""
    doc = tco.report(shared_run("prod"))
    h100 = next(p for p in doc["onPrem"] if p["preset"] == "h100-current")
    depreciation = 270000 / (3 * 12)  # $7,500
    power = 10.2 * 0.7 * 1.56 * 730 * 0.146  # kW × mean fraction × PUE × hours × $/kWh = $1,187.13
    hosting = 10.2 * 184.06  # $1,877.41
    staff = 90520 / 12 * 0.1  # $754.33
    per_server = depreciation + power + hosting + staff  # $11,318.88
    assert h100["monthlyPerServer"]["total"] == pytest.approx(per_server, abs=0.01)
    peak_tps = 200000 * 1000 / (12 * 3600) * 3  # 13,888.9 output tok/s
    servers = math.ceil(peak_tps / h100["serverOutputTokensPerSecond"])
    assert h100["serversForPeak"] == servers
    assert h100["monthly"] == pytest.approx(servers * per_server, abs=0.05)
    tokens = 200000 * 1000 * DAYS
    assert h100["perMillionOutputTokens"] == pytest.approx(servers * per_server / (tokens / 1e6), abs=1e-3)
    # break-even utilisation against p5.48xlarge on-demand ($55.04/h, the same 8×H100): 11,318.88 / (730 × 55.04)
    assert h100["breakEvenUtilisation"]["vsSameHardwareOnDemand"] == pytest.approx(per_server / (730 * 55.04), abs=1e-4)
    # break-even months against this stack at its spot mix: capex ÷ (cloud monthly − on-prem opex)
    cloud = doc["cloud"]["atSpotMix"]["monthly"]
    opex = servers * (per_server - depreciation)
    assert h100["breakEvenMonthsVsStack"] == pytest.approx(servers * 270000 / (cloud - opex), abs=0.05)


def test_the_seed_articles_claims_against_the_tool():
    """The article: spot −70 %, hybrid routing −35 %, an 8×A100 server ≈ ¥1.8 M, '50 QPS per A100'."""
    for stack in stack_names():
        doc = tco.report(shared_run(stack))
        claims = doc["seedClaims"]
        spot = claims["spotMinus70"]
        # No shipped stack saves 70 % with spot: the snapshot's discounts are 46-58 % and the mixes keep on-demand.
        assert spot["stackSavingWithSpot"] < 0.7, stack
        assert spot["snapshotSpotDiscount"] < 0.7, stack
        assert spot["discountNeededAllSpot"] > spot["snapshotSpotDiscount"], stack
        # Routing: the share the −35 % needs is a number the tool can state (cheap tier costs less per token).
        assert claims["routingMinus35"]["cheapToBigCostPerToken"] < 1
    prod = tco.report(shared_run("prod"))["seedClaims"]
    # prod: 1 on-demand base + 50 % above it → 40 % spot at maxSize 5; −70 % would need more than a 100 % discount
    assert prod["spotMinus70"]["stackSpotShare"] == 0.4
    assert prod["spotMinus70"]["discountNeededAtStackMix"] > 1
    assert 0 < prod["routingMinus35"]["shareNeeded"] < 1
    # ¥1.8 M at 7.2734 CNY/USD (FRED EXCHUS, Feb 2025) = $247,477; it only beats renting the same 8×A100 80 GB
    # (p4de, $27.44705/h) above the break-even utilisation.
    a100 = prod["a100Cny1p8M"]
    assert a100["capexUsd"] == pytest.approx(1_800_000 / 7.2734, abs=0.01)
    per_server = 1_800_000 / 7.2734 / 36 + 6.5 * 0.7 * 1.56 * 730 * 0.146 + 6.5 * 184.06 + 90520 / 12 * 0.1
    assert a100["breakEvenUtilisationVsP4deOnDemand"] == pytest.approx(per_server / (730 * 27.44705), abs=1e-4)
    # prod's workload keeps a peak-sized A100 fleet ~15 % busy: renting the same p4de hardware on demand is cheaper
    # (break-even 48 %), but the prod stack's own L40S replicas cost more per token than that fleet.
    assert (
        a100["breakEvenUtilisationVsStack"] < a100["utilisationAtWorkload"] < a100["breakEvenUtilisationVsP4deOnDemand"]
    )
    # 50 QPS per A100: every published A100 figure is far below; 50 QPS fits only answers of a few dozen tokens.
    qps = prod["qps50PerA100"]
    for row in tco.throughput_rows():
        if row["gpu"].startswith("A100"):
            assert row["requestsPerSecond"] / row["gpus"] < 50, row["id"]
    assert qps["bestMeasuredRequestsPerSecondPerGpu"] == 9.36
    assert qps["maxOutputTokensPerRequestAt50Qps"] == round(1887.31 / 50, 1) == 37.7


def test_plan_json_has_the_per_million_line_and_it_equals_make_tco():
    run = shared_run("prod")
    doc = plan_document(run)
    per_million = doc["cost"]["perMillionOutputTokens"]
    report = tco.report(run)
    assert per_million["atSpotMix"] == report["cloud"]["atSpotMix"]["perMillionOutputTokens"]
    assert per_million["onDemand"] == report["cloud"]["onDemand"]["perMillionOutputTokens"]
    assert per_million["throughputKind"] == "measured"
    for key in ("instanceType", "min", "max", "idle", "replicaHour"):  # the older keys stay
        assert key in doc["cost"]


CHARTS = ["cost_vs_utilisation", "per_million_by_model"]


def expected_charts(stack: str, doc: dict) -> list[str]:
    if stack == "eks-r1":  # 671B FP8 fits no 8-GPU on-prem server: no utilisation curve to draw
        assert not any(p["fits"] for p in doc["onPrem"]) and "sensitivity" not in doc
        assert doc["seedClaims"]["a100Cny1p8M"] is None
        return ["per_million_by_model"]
    assert doc["sensitivity"]["rows"] and all(r["onPrem"] > 0 for r in doc["sensitivity"]["rows"])
    return CHARTS


@pytest.mark.parametrize("stack", stack_names())
def test_make_tco_runs_for_every_shipped_stack_with_the_data_its_charts_draw(stack, capsys):
    """Every stack's report carries what its charts draw; the drawing itself is checked once per chart
    kind below (matplotlib renders any stack's rows alike, and rendering is most of `make tco`'s time)."""
    assert tco.main(["--stack", stack, "--format", "json", "--no-charts"], load=shared_run) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stack"] == stack and doc["cloud"]["atSpotMix"]["perMillionOutputTokens"] > 0
    assert "charts" not in doc
    from offline import tco_charts  # matplotlib: imported by the tests that need it, not at collection

    assert tco_charts.charts_for(doc) == expected_charts(stack, doc)
    assert doc["modelGpuTable"] and all(r["perMillionOutputTokens"] > 0 for r in doc["modelGpuTable"])


@pytest.mark.parametrize("stack", ["dev", "eks-r1"])  # both charts; the one chart of a model no server holds
def test_make_tco_writes_valid_charts(stack, tmp_path, capsys):
    assert tco.main(["--stack", stack, "--format", "json", "--out", str(tmp_path)], load=shared_run) == 0
    doc = json.loads(capsys.readouterr().out)
    stems = expected_charts(stack, doc)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in stems for ext in ("png", "svg"))
    assert sorted(doc["charts"]) == sorted(str(tmp_path / name) for name in names)
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for svg in tmp_path.glob("*.svg"):
        assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_make_tco_text_renders_a_stack_whose_model_fits_no_on_prem_server(capsys):
    # eks-r1: the seed A100 server cannot hold R1, so the seed claim about it has no figures to print.
    assert tco.main(["--stack", "eks-r1", "--no-charts"], load=shared_run) == 0
    out = capsys.readouterr().out
    assert "does not fit" in out and "8×A100 ¥1.8 M" not in out


def test_tco_tiered_block_reads_the_stacks_tiers_when_present():
    run = shared_run("hybrid")
    doc = tco.report(run)
    tier = doc["tiered"]
    assert tier["source"].startswith("the stack's deepseek-cloud:tiers")
    assert (tier["share"], tier["cheapModel"], tier["cheapInstanceType"]) == (
        0.6,
        "deepseek-r1-distill-qwen-1.5b",
        "c7i.12xlarge",
    )
    assert tier["cheapReplicaHour"] == 2.142
    # CPU tier throughput: 50 tok/s per stream (field notes, 48 vCPUs) × 4 streams (tiers.CPU_SEQUENCES)
    assert tier["cheapThroughput"]["outputTokensPerSecond"] == 200.0
    assert [r["name"] for r in tier["tiers"]] == ["large", "cpu"]
    # the plan's blended line is the same computation
    plan = plan_document(run)["cost"]["tiers"]["blended"]
    assert plan["perMillionOutputTokens"] == tier["perMillionOutputTokens"]
    assert plan["monthly"] == tier["monthly"]


def test_tco_tiered_block_without_tiers_is_the_tco_yaml_stand_in():
    tier = tco.report(shared_run("dev"))["tiered"]
    assert tier["source"] == "stacks/tco.yaml tiered (a stand-in: the stack has no deepseek-cloud:tiers)"
    assert tier["cheapInstanceType"] == "g6.xlarge"
