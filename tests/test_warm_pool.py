"""The ECS GPU pool's warm pool (components/ecs/capacity.py WarmPool; issue 13): what the group, the launch
template, the lifecycle hook and the instance role carry when gpuPool.warmPool is on; the pre-pull script's
branches run for real under bash with stand-ins for curl/aws/docker on PATH (no instance, no AWS: what
EC2, Auto Scaling and ECR then do is not exercised here); the config refusals AWS would otherwise make at
`pulumi up`; the cold-start plan's warm-pool path; and the gp3 limits against the pinned botocore.

One program run with the warm pool (prod, on-demand g6e.12xlarge only); the rest read shared runs.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import botocore
import pytest
from botocore.loaders import Loader

from components.ecs.capacity import PREPULL_SCRIPT, WARM_POOL_HOOK
from components.eks.gpu_capacity import GpuCapacityArgs
from components.eks.gpu_capacity import _validate as validate_eks_capacity
from components.shared import ebs
from offline.harness import ProgramRun, run_program, shared_run
from offline.iam_eval import ALLOW, Request, decide
from offline.plan import plan_document
from stacks.errors import ConfigError

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
POOL = "deepseek-cloud:gpuPool"
WARM = {f"{POOL}.spot.enabled": False, f"{POOL}.instanceTypes": ["g6e.12xlarge"], f"{POOL}.warmPool.enabled": True}
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


@pytest.fixture(scope="module")
def warm() -> ProgramRun:
    return shared_run("prod", WARM)


def user_data(run: ProgramRun) -> str:
    return base64.b64decode(run.one(LT).inputs["userData"]).decode()


def ecs_config(run: ProgramRun) -> dict[str, str]:
    body = user_data(run).split("<<'ECS_EOF'\n", 1)[1].split("\nECS_EOF", 1)[0]
    return dict(line.split("=", 1) for line in body.splitlines())


def prepull_script(run: ProgramRun) -> str:
    """The script as user data writes it to the instance (not the Python helper that builds it)."""
    return user_data(run).split(f"cat > {PREPULL_SCRIPT} <<'PREPULL_EOF'\n", 1)[1].split("PREPULL_EOF\n", 1)[0]


# --- what the program declares ---------------------------------------------------------------------------


def test_a_warm_pool_group_launches_its_one_on_demand_type_from_the_template(warm):
    asg = warm.one(ASG).inputs
    # PutWarmPool refuses groups with a mixed instances policy: the template itself names the type.
    assert "mixedInstancesPolicy" not in asg
    assert asg["launchTemplate"]["version"] == "$Latest"
    assert warm.one(LT).inputs["instanceType"] == "g6e.12xlarge"
    # The shipped prod (spot mix) keeps its mixed instances policy and no warm pool.
    plain = shared_run("prod").one(ASG).inputs
    assert "warmPool" not in plain and "launchTemplate" not in plain
    assert "instanceType" not in shared_run("prod").one(LT).inputs
    assert plain["mixedInstancesPolicy"]["instancesDistribution"]["onDemandBaseCapacity"] == 1


def test_the_pool_is_stopped_instances_without_reuse_on_scale_in(warm):
    assert warm.one(ASG).inputs["warmPool"] == {
        "poolState": "Stopped",
        "minSize": 1,
        "maxGroupPreparedCapacity": -1,  # 0 in config = unset: the pool holds maxSize - desired
        "instanceReusePolicy": {"reuseOnScaleIn": False},
    }
    sized = shared_run("prod", {**WARM, f"{POOL}.warmPool.minSize": 2, f"{POOL}.warmPool.maxGroupPreparedCapacity": 4})
    assert (
        sized.one(ASG).inputs["warmPool"]["minSize"],
        sized.one(ASG).inputs["warmPool"]["maxGroupPreparedCapacity"],
    ) == (
        2,
        4,
    )


def test_the_agent_checks_the_warm_pool_only_when_there_is_one(warm):
    assert ecs_config(warm)["ECS_WARM_POOLS_CHECK"] == "true"
    assert ecs_config(warm)["ECS_IMAGE_PULL_BEHAVIOR"] == "prefer-cached"  # the task uses the pre-pulled image
    assert "ECS_WARM_POOLS_CHECK" not in ecs_config(shared_run("prod"))
    assert PREPULL_SCRIPT not in user_data(shared_run("prod"))


def test_the_launch_hook_waits_for_the_script_that_completes_it(warm):
    hook = warm.one(HOOK).inputs
    assert {k: v for k, v in hook.items() if k != "autoscalingGroupName"} == {
        "name": WARM_POOL_HOOK,
        "lifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
        "heartbeatTimeout": 1800,
        "defaultResult": "CONTINUE",
    }
    assert hook["autoscalingGroupName"].startswith("ds-prod-vllm-pool-asg-")
    # The script completes exactly this hook.
    assert f"--lifecycle-hook-name {WARM_POOL_HOOK} " in prepull_script(warm)
    assert not shared_run("prod").of_type(HOOK)


def test_the_instance_role_may_complete_the_hook_of_its_own_group_only(warm):
    [policy] = [
        r for r in warm.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "ds-prod-vllm-pool-instance-lifecycle"
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    asg_arn = statements["CompleteOwnLaunchHook"]["Resource"]
    assert (
        asg_arn.startswith("arn:aws:autoscaling:us-east-1:")
        and ":autoScalingGroupName/ds-prod-vllm-pool-asg" in asg_arn
    )
    own = Request("autoscaling:CompleteLifecycleAction", asg_arn)
    other = Request("autoscaling:CompleteLifecycleAction", asg_arn.replace("ds-prod-vllm-pool-asg", "ds-prod-other"))
    doc = json.loads(policy.inputs["policy"])
    assert decide([doc], own)[0] == ALLOW
    assert decide([doc], other)[0] != ALLOW
    assert decide([doc], Request("autoscaling:DescribeAutoScalingInstances", "*"))[0] == ALLOW


def test_the_user_data_is_shellcheck_clean(warm, tmp_path):
    for name, run in (("warm", warm), ("plain", shared_run("prod"))):
        path = tmp_path / f"{name}.sh"
        path.write_text(user_data(run))
        result = subprocess.run([str(SHELLCHECK), "-s", "bash", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
    (tmp_path / "prepull.sh").write_text(prepull_script(warm))
    result = subprocess.run([str(SHELLCHECK), str(tmp_path / "prepull.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- the pre-pull script's branches, run under bash ---------------------------------------------------------

STUBS = {
    # IMDSv2: PUT api/token, then GETs with the token. $STATE is the target lifecycle state under test.
    "curl": """#!/bin/bash
echo "curl $*" >> "$LOG"
case "$*" in
  *api/token*) echo token ;;
  *autoscaling/target-lifecycle-state*) echo "$STATE" ;;
  *placement/region*) echo us-east-1 ;;
  *instance-id*) echo i-0123456789abcdef0 ;;
  *) exit 22 ;;
esac
""",
    "aws": """#!/bin/bash
echo "aws $*" >> "$LOG"
case "$*" in
  "ecr get-login-password"*) echo secret ;;
  *describe-auto-scaling-instances*) echo ds-prod-vllm-pool-asg-7822b59 ;;
  *complete-lifecycle-action*) exit "${COMPLETE_RC:-0}" ;;
esac
""",
    # `docker login --password-stdin` reads the password to EOF before it does anything (as the real one does).
    "docker": """#!/bin/bash
[ "$1" = login ] && cat > /dev/null
echo "docker $*" >> "$LOG"
[ "$1" = pull ] && exit "${PULL_RC:-0}"
exit 0
""",
    "sleep": "#!/bin/bash\nexit 0\n",
}


def run_prepull(script: str, tmp_path: Path, state: str, **env: str) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in STUBS.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "prepull").write_text(script)
    log = tmp_path / f"{state.replace(':', '-')}.log"
    environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "STATE": state, **env}
    done = subprocess.run(["bash", str(tmp_path / "prepull")], env=environ, capture_output=True, text=True, timeout=60)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


def test_headed_for_the_warm_pool_it_logs_in_pulls_the_digest_logs_out_and_completes(warm, tmp_path):
    image = warm.one("aws:ecs/taskDefinition:TaskDefinition", under="ModelService").inputs["containerDefinitions"]
    [vllm] = [c for c in json.loads(image) if c["name"] == "vllm"]
    rc, calls = run_prepull(prepull_script(warm), tmp_path, "Warmed:Stopped")
    assert rc == 0
    aws_docker = [c for c in calls if not c.startswith("curl ")]
    registry = vllm["image"].split("/", 1)[0]
    assert aws_docker == [
        "aws ecr get-login-password --region us-east-1",
        f"docker login --username AWS --password-stdin {registry}",
        f"docker pull {vllm['image']}",  # the task definition's own digest-pinned image
        f"docker logout {registry}",
        "aws autoscaling describe-auto-scaling-instances --region us-east-1 --instance-ids i-0123456789abcdef0 "
        "--query AutoScalingInstances[0].AutoScalingGroupName --output text",
        "aws autoscaling complete-lifecycle-action --region us-east-1 --auto-scaling-group-name "
        f"ds-prod-vllm-pool-asg-7822b59 --lifecycle-hook-name {WARM_POOL_HOOK} --instance-id i-0123456789abcdef0 "
        "--lifecycle-action-result CONTINUE",
    ]
    assert "@sha256:" in vllm["image"]
    # IMDSv2 only: every metadata GET carries the session token.
    gets = [c for c in calls if c.startswith("curl ") and "api/token" not in c]
    assert gets and all("X-aws-ec2-metadata-token: token" in c for c in gets)


def test_headed_for_service_it_completes_at_once_without_pulling(warm, tmp_path):
    rc, calls = run_prepull(prepull_script(warm), tmp_path, "InService")
    assert rc == 0
    assert not any(c.startswith(("docker ", "aws ecr")) for c in calls)
    assert sum("complete-lifecycle-action" in c for c in calls) == 1


def test_a_pull_that_keeps_failing_still_releases_the_instance(warm, tmp_path):
    rc, calls = run_prepull(prepull_script(warm), tmp_path, "Warmed:Stopped", PULL_RC="1")
    assert rc == 0
    assert sum(c.startswith("docker pull ") for c in calls) == 3  # three attempts
    assert calls[-1].startswith("aws autoscaling complete-lifecycle-action")  # CONTINUE: the task pulls later


def test_a_hook_that_cannot_be_completed_fails_the_unit(warm, tmp_path):
    rc, calls = run_prepull(prepull_script(warm), tmp_path, "InService", COMPLETE_RC="255")
    assert rc == 1
    assert sum("complete-lifecycle-action" in c for c in calls) == 5  # then the hook's timeout CONTINUEs


# --- config: what AWS would refuse at `pulumi up` is refused first ------------------------------------------


def problems_for(stack: str, overrides: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        run_program(stack, overrides=overrides)
    return [str(p) for p in caught.value.problems]


def test_spot_several_types_and_eks_are_refused_in_one_line_each():
    assert problems_for("prod", {f"{POOL}.warmPool.enabled": True}) == [
        "deepseek-cloud:gpuPool.warmPool.enabled: AWS refuses a warm pool on a group that requests Spot instances "
        "(PutWarmPool) (got true; allowed: false, or gpuPool.spot.enabled false)",
        "deepseek-cloud:gpuPool.instanceTypes: a warm-pool group launches one type (no mixed instances policy) "
        "(got ['g6e.12xlarge', 'g6e.24xlarge']; allowed: exactly one type while gpuPool.warmPool.enabled is true)",
    ]
    eks = [
        "deepseek-cloud:gpuPool.warmPool.enabled: warm pools are an EC2 Auto Scaling feature of the ECS pool; EKS GPU "
        "nodes come from Karpenter (got true; allowed: false on platform eks)"
    ]
    assert problems_for("eks-r1", {f"{POOL}.warmPool.enabled": True}) == eks
    # eks-dev's pool is spot with two types: still the one EKS line, not the ECS group's conditions
    assert problems_for("eks-dev", {f"{POOL}.warmPool.enabled": True}) == eks


# --- the cold-start plan --------------------------------------------------------------------------------


def test_prod_with_a_warm_pool_meets_300_s_on_the_warm_pool_path(warm):
    c = plan_document(warm)["coldStart"]
    assert c["warmPool"] == {"enabled": True, "possible": True, "notPossibleBecause": None}
    assert c["scaleOutScenario"] == "warm-pool"
    warm_run = c["scenarios"][-1]
    # 120 s start (no measurement of a stopped GPU instance found: the launch figure is kept) + 0 pull
    # + 17.4 weights + 128.3 engine: the engine start dominates what is left.
    assert warm_run == {
        "scenario": "warm-pool", "launchSeconds": 120.0, "imagePullSeconds": 0.0, "weightLoadSeconds": 17.4,
        "engineStartSeconds": 128.3, "totalSeconds": 265.8, "dominantPhase": "engine",
    }  # fmt: skip
    (target,) = c["targets"]
    assert (target["measuredOn"], target["estimateSeconds"], target["met"], target["cutBy"]) == (
        "warm-pool",
        265.8,
        True,
        None,
    )
    # An empty pool means a fresh launch: the grace period and the startup alarm keep the fresh figures.
    assert (c["healthCheckGraceSeconds"], c["replicaStartupMinutes"]) == (240, 10)


def test_the_shipped_prod_cannot_have_one_and_the_plan_says_why():
    c = plan_document(shared_run("prod"))["coldStart"]
    assert c["warmPool"]["possible"] is False and "Spot" in c["warmPool"]["notPossibleBecause"]
    (target,) = c["targets"]
    assert (target["measuredOn"], target["met"], target["cutBy"]["usableHere"]) == ("fresh", False, False)


# --- gp3, one set of limits, the pinned botocore's ------------------------------------------------------


def test_gp3_limits_are_the_pinned_botocores_create_volume_ranges():
    model = Loader().load_service_model("ec2", "service-2")  # botocore/data/ec2/2016-11-15/service-2.json.gz
    assert botocore.__version__ == "1.44.8"  # requirements.lock
    docs = {
        k: re.sub(r"<[^>]+>", "", v["documentation"])
        for k, v in model["shapes"]["CreateVolumeRequest"]["members"].items()
    }
    assert "gp3: 1 - 65,536 GiB" in docs["Size"]
    assert f"gp3: {ebs.GP3_MIN_IOPS:,} (default) - {ebs.GP3_MAX_IOPS:,} IOPS" in docs["Iops"]
    assert f"Valid Range: {ebs.GP3_MIN_MIBPS} - {ebs.GP3_MAX_MIBPS} MiB/s" in docs["Throughput"]
    assert ebs.GP3_MAX_GIB == 65536


def test_eks_node_class_takes_what_gp3_allows():
    """The EKS check stopped at 1000 MiB/s and 16000 IOPS (the old gp3 limits) before the shared constants."""
    args = GpuCapacityArgs(
        instance_types=("g6e.xlarge",),
        ami_alias="al2023@v20251108",
        device_plugin_version="0.17.0",
        root_volume_throughput_mibps=2000,
        root_volume_iops=8000,
    )
    validate_eks_capacity(args)  # raises on a problem
    with pytest.raises(Exception, match="rootVolumeIops"):
        validate_eks_capacity(GpuCapacityArgs(**{**args.__dict__, "root_volume_iops": 80001}))


def test_a_root_volume_above_the_old_16384_gib_limit_is_accepted():
    run = shared_run("dev", {f"{POOL}.rootVolumeGiB": 20000})
    [device] = run.one(LT).inputs["blockDeviceMappings"]
    assert device["ebs"]["volumeSize"] == 20000


def test_the_plan_prices_the_stopped_instances_as_their_volumes_only(warm):
    cost = plan_document(warm)["cost"]
    # Unset maxGroupPreparedCapacity: maxSize 5 - desired 1 (minSize) = 4 stopped, each a 190 GiB gp3 root
    # volume at 30.2/month (0.08/GiB + 375 MB/s above 125 at 0.04); no instance hours.
    assert cost["rootVolume"]["monthly"] == 30.2
    assert cost["warmPool"] == {
        "stoppedInstancesAtIdle": 4,
        "monthly": 120.8,
        "basis": "4 stopped × root volume 30.2/month; no instance hours",
    }
    plain = plan_document(shared_run("prod"))["cost"]
    assert plain["warmPool"]["stoppedInstancesAtIdle"] == 0
    assert round((cost["idle"]["hourly"] - plain["idle"]["hourly"]) * 730, 1) == 120.8
    # The price of the warm pool on prod: no spot share, so at maxSize every host is on-demand.
    assert (plain["max"]["hourlyWithSpot"], cost["max"]["hourlyWithSpot"]) == (42.58, 53.01)
