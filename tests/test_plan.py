"""`make plan`: the human and JSON plan, and bad config failing cleanly."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from offline.harness import shared_run
from offline.plan import main as plan_main

ROOT = Path(__file__).resolve().parent.parent


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m offline.plan` in its own interpreter: exit code and streams as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "offline.plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@functools.cache  # identical invocations (prod's human plan) run once per session
def plan(*args: str) -> subprocess.CompletedProcess:
    """The same `main` in this process (no second interpreter paying pulumi-aws's import again)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = plan_main(list(args), load=shared_run)  # reads the session's run of the stack
    return subprocess.CompletedProcess(["offline.plan", *args], code, out.getvalue(), err.getvalue())


def test_json_plan_has_the_documented_fields():
    result = plan("--stack", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stack"] == "dev"
    assert {"type", "name", "parent", "inputs"} <= set(doc["resources"][0])
    vpc = next(r for r in doc["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["cidrBlock"] == "10.40.0.0/16"  # camelCase, as the engine sees it
    assert vpc["parent"] == "ds-dev-net"
    subnet = next(r for r in doc["resources"] if r["type"] == "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] == "known after deploy"
    sizing = doc["sizing"]
    assert sizing["model"] == "deepseek-r1-distill-qwen-7b"
    assert sizing["instanceType"] == "g6e.xlarge"
    assert sizing["tensorParallelSize"] == 1
    assert sizing["kvCacheBytesPerToken"] == 57344
    for key in ("weightsGiB", "kvCacheGiB", "maxModelLen", "maxConcurrentSequences"):
        assert key in sizing
    cost = doc["cost"]
    assert cost["min"]["instances"] == 0 and cost["max"]["instances"] == 2
    assert cost["max"]["hourlyWithSpot"] < cost["max"]["hourlyOnDemand"]
    # backward compatible: the keys plans had before stay; the monthly picture is added
    for key in ("instanceType", "onDemandHourlyPerInstance", "spotHourlyPerInstance", "spotDiscountAssumed"):
        assert key in cost
    assert cost["fixedItemsHourly"]["natGateways"] == 0.045 and cost["fixedItemsHourly"]["loadBalancer"] == 0.0225
    assert cost["rootVolume"]["sizeGiB"] == 130 and cost["rootVolume"]["throughputMBps"] == 500
    assert set(cost["fixedItemsMonthly"]) == {
        "natGateways",
        "natDataProcessing",
        "loadBalancer",
        "loadBalancerCapacityUnits",
        "kmsAndSecrets",
        "kmsAndSecretsRequests",
        "alarms",
        "customMetrics",
        "dashboards",
        "logIngestion",
    }
    assert cost["idle"]["instances"] == 0 and cost["idle"]["monthly"] == 58.18
    assert cost["replicaHour"]["spot"] == 1.0393


def test_human_plan_shows_tree_counts_sizing_and_cost():
    result = plan("--stack", "dev")
    assert result.returncode == 0, result.stderr
    for heading in ("Resources by type", "GPU sizing", "Cost estimate", "aws:ec2/vpc:Vpc"):
        assert heading in result.stdout
    for line in (
        "Fixed and usage costs per month",
        "natDataProcessing (usage)",
        "9 standard + 0 high-resolution alarm metrics, 1 composite",
        "idle (no traffic, 0 GPU instance(s) at the floor: 0 on-demand / 0 spot): 0.0797/h, 58.18/month",
        "replica-hour (1 replica(s) per g6e.xlarge): 1.8958 on-demand, 1.0393 spot",
    ):
        assert line in result.stdout


@pytest.fixture
def broken_stack(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  deepseek-cloud:environment: prodd\n"
        "  deepseek-cloud:gpuPool:\n"
        "    instanceTypes: [m7i.large]\n"
        "    minSize: 3\n"
        "    maxSize: 1\n"
        "  deepseek-cloud:scaling:\n"
        "    targetQpsPerReplica: 0\n"
        "  deepseek-cloud:modle: {}\n"
    )
    return path


def test_broken_stack_fails_with_one_line_per_problem_and_no_traceback(broken_stack: Path):
    result = plan_cli("--stack", "broken", "--stack-file", str(broken_stack))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert sorted(line.split(": ", 1)[0] for line in lines) == [
        "deepseek-cloud:environment",
        "deepseek-cloud:gpuPool.instanceTypes[0]",
        "deepseek-cloud:gpuPool.minSize",
        "deepseek-cloud:modle",
        "deepseek-cloud:scaling.targetQpsPerReplica",
    ]
    assert "did you mean 'model'?" in next(line for line in lines if "modle" in line)


def test_prod_plan_lists_alarms_topic_rules_dashboard_and_policy():
    result = plan("--stack", "prod")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "Alarms, events and notifications",
        "ds-prod-alarms-5xx-rate",
        "ds-prod-alarms-topic",
        "ds-prod-alarms-spot-interruption",
        "ds-prod-inference",
        "policy: 0 mandatory",
    ):
        assert expected in out


def test_prod_plan_shows_pool_sizes_spot_split_gpu_count_and_scaling_target():
    out = plan("--stack", "prod").stdout
    # From Pulumi.prod.yaml (pool 1–5, one on-demand instance then 50 % on-demand) and the sizing (TP 2).
    assert "minSize=1, maxSize=5, onDemandBaseCapacity=1, onDemandPercentageAboveBaseCapacity=50" in out
    assert "GPUs=2" in out
    assert "targetValue=120" in out  # targetQpsPerReplica 2 × 60 requests per minute


# --- the CI project (ci/): `make plan PROJECT=ci STACK=example` ------------------------------------------


def test_ci_plan_json_has_the_main_plans_shape_and_every_roles_policies():
    ci = plan("--project", "ci", "--stack", "example", "--format", "json")
    main = plan("--stack", "dev", "--format", "json")
    assert ci.returncode == 0 and main.returncode == 0, ci.stderr + main.stderr
    doc, main_doc = json.loads(ci.stdout), json.loads(main.stdout)
    assert set(main_doc) - {"policy"} <= set(doc)  # same document: sizing/cost present but null
    assert set(doc["resources"][0]) == set(main_doc["resources"][0])
    assert (doc["project"], doc["stack"], doc["sizing"], doc["cost"]) == ("deepseek-cloud-ci", "example", None, None)
    assert main_doc["project"] == "deepseek-cloud"
    assert doc["counts"] == {
        "aws:iam/policy:Policy": 15,  # 5 deploy policy parts × 3 environments
        "aws:iam/role:Role": 4,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 15,
    }
    roles = doc["iamRoles"]
    assert list(roles) == [
        "deepseek-ci-preview",
        "deepseek-ci-deploy-dev",
        "deepseek-ci-deploy-staging",
        "deepseek-ci-deploy-prod",
    ]
    prod = roles["deepseek-ci-deploy-prod"]
    (trust,) = prod["trust"]["Statement"]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:REPLACE-ME/deepseek-cloud:environment:prod"
    ]
    assert sorted(prod["policies"]) == [
        f"deepseek-ci-deploy-prod-{p}" for p in ("eks", "identity", "network", "read", "serving")
    ]
    sids = {s["Sid"] for p in prod["policies"].values() for s in p["Statement"]}
    assert {"KmsTagOnCreate", "NoChangesToCiRoles", "StateObjects", "EksClusters", "ReadOwnRole"} <= sids
    assert list(roles["deepseek-ci-preview"]["policies"]) == ["deepseek-ci-preview-read"]


def test_ci_plan_text_shows_who_assumes_each_role():
    result = plan("--project", "ci", "--stack", "example")
    assert result.returncode == 0, result.stderr
    assert (
        "deepseek-ci-deploy-staging: assumable by repo:REPLACE-ME/deepseek-cloud:environment:staging" in result.stdout
    )
    assert "KmsTagOnCreate" in result.stdout


def test_ci_plan_of_a_missing_stack_fails_cleanly():
    result = plan("--project", "ci", "--stack", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == "deepseek-cloud: no stack config Pulumi.nope.yaml; stacks: example"


def test_plan_tree_tells_apart_components_of_one_name():
    """ModelService, its Endpoint and its ModelSecrets are all ds-dev-vllm: each child sits under its own
    component (the tree keys nodes by type and name), not under whichever came last."""
    lines = [line.rstrip() for line in plan("--stack", "dev").stdout.splitlines()]

    def depth_and_parent(needle: str) -> tuple[int, str]:
        i = next(i for i, line in enumerate(lines) if needle in line)
        depth = lines[i].index(needle.split()[0])
        parent = next(line for line in reversed(lines[:i]) if 0 <= line.find("deepseek:") < depth)
        return depth, parent.strip(" │├└─")

    assert (
        depth_and_parent("aws:lb/loadBalancer:LoadBalancer ds-dev-vllm-alb")[1] == "deepseek:edge:Endpoint ds-dev-vllm"
    )
    assert depth_and_parent("aws:secretsmanager/secret:Secret ds-dev-vllm-hf-token")[1] == (
        "deepseek:serving:ModelSecrets ds-dev-vllm"
    )
    assert depth_and_parent("aws:cloudwatch/logGroup:LogGroup ds-dev-vllm-logs")[1] == (
        "deepseek:serving:ModelService ds-dev-vllm"
    )
    resources = json.loads(plan("--stack", "dev", "--format", "json").stdout)["resources"]
    alb = next(r for r in resources if r["type"] == "aws:lb/loadBalancer:LoadBalancer")
    assert (alb["parent"], alb["parentType"]) == ("ds-dev-vllm", "deepseek:edge:Endpoint")


# --- tiered serving (Pulumi.hybrid.yaml) --------------------------------------------------------------------


def test_hybrid_plan_json_has_the_tiers_table_rules_router_and_blended_cost():
    doc = json.loads(plan("--stack", "hybrid", "--format", "json").stdout)
    cost = doc["cost"]
    for key in ("instanceType", "min", "max", "idle", "replicaHour", "fixedItemsMonthly"):  # shape kept
        assert key in cost
    t = cost["tiers"]
    large, cpu = t["tiers"]
    assert (large["name"], large["model"], large["kind"], large["instanceType"]) == (
        "large",
        "deepseek-r1-distill-qwen-32b",
        "gpu",
        "g6e.12xlarge",
    )
    assert large["replicas"] == {"min": 1, "max": 4} and large["replicaHourly"] == cost["replicaHour"]["atSpotMix"]
    assert (cpu["name"], cpu["model"], cpu["kind"], cpu["instanceType"]) == (
        "cpu",
        "deepseek-r1-distill-qwen-1.5b",
        "cpu",
        "c7i.12xlarge",
    )
    # c7i.12xlarge us-east-1 on-demand 2.142 (pricing.yaml, skypilot v8); capacity.spot is false; 1 replica/host
    assert cpu["replicas"] == {"min": 1, "max": 3} and cpu["replicaHourly"] == 2.142 and cpu["pricing"] == "on-demand"
    assert t["rules"] == [
        "model: <a tier's model name> → that tier",
        "header x-deepseek-tier: <tier>",
        "model auto and prompt ≤ 1000 tokens → cpu",
    ]
    # Router: 1 task of 1 vCPU / 2 GB: 0.04048 + 2 × 0.004445 = 0.04937/h; × 730 = 36.04/month
    assert t["router"]["taskHourly"] == 0.04937
    assert cost["fixedItemsMonthly"]["router"]["monthly"] == 36.04
    # Three load balancers: the public router ALB and the two tiers' internal ALBs, 0.0225/h each
    assert cost["fixedItemsMonthly"]["loadBalancer"] == {
        "monthly": round(3 * 0.0225 * 730, 2),
        "basis": "3 (2 internal) × hourly × 730",
        "usage": False,
    }
    # Idle: the pool's minSize + fixed costs + the cpu tier's one c7i.12xlarge at capacity.minSize
    assert t["extraTiersMinHourly"] == 2.142
    b = t["blended"]
    assert b["trafficMix"] == {"large": 0.4, "cpu": 0.6}
    assert b["hourly"] == round(b["monthly"] / 730, 4)
    assert b["perMillionOutputTokens"] == round(b["monthly"] / (b["monthlyOutputTokens"] / 1e6), 4)


def test_hybrid_plan_text_shows_the_tiers_and_the_blended_line():
    out = plan("--stack", "hybrid").stdout
    assert "Tiers (router: deepseek-cloud:tiers)" in out
    assert "routing rule 3: model auto and prompt ≤ 1000 tokens → cpu" in out
    assert "fallbacks: cpu → large; large → cpu" in out
    assert "tiers blended (large 40%, cpu 60%; stacks/tco.yaml staging" in out


def test_stacks_without_tiers_have_no_tiers_cost():
    doc = json.loads(plan("--stack", "dev", "--format", "json").stdout)
    assert "tiers" not in doc["cost"] and "router" not in doc["cost"]["fixedItemsMonthly"]


def test_the_plan_lists_resources_in_one_order_whatever_order_they_registered_in():
    """The SDK sends RegisterResource from a thread pool, so the monitor's list changes between runs; the
    plan's tree and JSON must not: parents first, siblings by type and name."""
    import random

    from offline.harness import tree_order

    registrations = list(shared_run("hybrid-eks").registrations)
    expected = [r.urn for r in tree_order(registrations)]
    for seed in range(3):
        shuffled = registrations[:]
        random.Random(seed).shuffle(shuffled)
        assert [r.urn for r in tree_order(shuffled)] == expected
    assert len(expected) == len(registrations) == len(set(expected))
    seen: set[str] = set()
    urns = set(expected)
    for r in tree_order(registrations):
        assert r.parent not in urns or r.parent in seen, r.urn  # a parent before its children
        seen.add(r.urn)
    top = [r for r in tree_order(registrations) if r.parent not in urns]
    assert [(r.type, r.name) for r in top] == sorted((r.type, r.name) for r in top)
