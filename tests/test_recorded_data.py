"""The recorded AWS data the plan shows is pinned: a dependency release cannot move an AZ, an AMI id or an
instance fact unnoticed. The values below were read on 2026-12-01 from moto 5.2.5's bundled recordings
(moto/ec2/resources, moto/ssm/resources), the version requirements.lock pins; re-locking moto to a version
with other recordings fails here until these values are reviewed and updated on purpose."""

from __future__ import annotations

from importlib import metadata

import pytest

from offline import recorded
from offline.harness import shared_run, stack_names
from tests.test_lock import LOCK, lock_pins

GPU_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
CPU_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"

# What each shipped stack's plan shows: subnet AZs, launch template AMI, and the GPUs of each pool type.
PLAN_FACTS = {
    "dev": (
        ["us-east-1a", "us-east-1b"],
        {"ami-0ca77a28d8801702a"},
        {"g6e.xlarge": "1× NVIDIA L40S 45 GiB", "g5.2xlarge": "1× NVIDIA A10G 22 GiB"},
    ),
    "staging": (
        ["us-east-1a", "us-east-1b"],
        {"ami-0ca77a28d8801702a"},
        {"g6e.2xlarge": "1× NVIDIA L40S 45 GiB", "g6e.4xlarge": "1× NVIDIA L40S 45 GiB"},
    ),
    "prod": (
        ["us-east-1a", "us-east-1b", "us-east-1c"],
        {"ami-0ca77a28d8801702a"},
        {"g6e.12xlarge": "4× NVIDIA L40S 45 GiB", "g6e.24xlarge": "4× NVIDIA L40S 45 GiB"},
    ),
    # Tiered (hybrid): the default tier's GPU pool on the GPU AMI, the CPU tier on the standard ECS AMI
    # (components/ecs/capacity.py CPU_AMI_PARAMETER); pool_sizing is the default tier's GPU pool.
    "hybrid": (
        ["us-east-1a", "us-east-1b"],
        {"ami-0ca77a28d8801702a", "ami-05fb4f257abd42992"},
        {"g6e.12xlarge": "4× NVIDIA L40S 45 GiB", "g6e.24xlarge": "4× NVIDIA L40S 45 GiB"},
    ),
    # EKS: the system node group's launch template names no AMI (EKS picks the AL2023 AMI by amiType) and
    # Karpenter's GPU nodes take theirs from the EC2NodeClass alias (stacks/versions.py), not recorded data.
    "eks-dev": (
        ["us-east-1a", "us-east-1b"],
        {None},
        {"g6e.xlarge": "1× NVIDIA L40S 45 GiB", "g5.2xlarge": "1× NVIDIA A10G 22 GiB"},
    ),
    "eks-r1": (["us-east-1a", "us-east-1b"], {None}, {"p5.48xlarge": "8× NVIDIA H100 80 GiB"}),
    # Hybrid on EKS: the CPU tier's nodes take their AMI from its EC2NodeClass alias as well.
    "hybrid-eks": (
        ["us-east-1a", "us-east-1b"],
        {None},
        {"g6e.12xlarge": "4× NVIDIA L40S 45 GiB", "g6e.24xlarge": "4× NVIDIA L40S 45 GiB"},
    ),
}

# DescribeInstanceTypes: vCPUs, memory MiB, (GPU, count, GPU memory MiB); DescribeInstanceTypeOfferings AZs.
L40S_AZS = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")
INSTANCE_FACTS = {
    "g6e.xlarge": (4, 32768, ("L40S", 1, 45776), L40S_AZS),
    "g6e.2xlarge": (8, 65536, ("L40S", 1, 45776), L40S_AZS),
    "g6e.4xlarge": (16, 131072, ("L40S", 1, 45776), L40S_AZS),
    "g6e.12xlarge": (48, 393216, ("L40S", 4, 45776), L40S_AZS),
    "g6e.24xlarge": (96, 786432, ("L40S", 4, 45776), L40S_AZS),
    "g5.2xlarge": (8, 32768, ("A10G", 1, 22888), (*L40S_AZS, "us-east-1f")),
    "p5.48xlarge": (192, 2097152, ("H100", 8, 81920), (*L40S_AZS, "us-east-1e", "us-east-1f")),
}


def test_the_recording_is_the_locked_moto():
    assert metadata.version("moto") == lock_pins(LOCK.read_text())["moto"] == "5.2.5"


def test_shipped_stacks_are_the_pinned_ones():
    assert sorted(PLAN_FACTS) == stack_names()


@pytest.mark.parametrize("stack", sorted(PLAN_FACTS))
def test_plan_shows_the_pinned_azs_amis_and_gpus(stack: str):
    azs, amis, gpus = PLAN_FACTS[stack]
    run = shared_run(stack)
    assert sorted(r.inputs["availabilityZone"] for r in run.of_type("aws:ec2/subnet:Subnet")) == sorted(azs * 2)
    assert {r.inputs.get("imageId") for r in run.of_type("aws:ec2/launchTemplate:LaunchTemplate")} == amis
    pools = [p.as_plan() for p in run.program_globals["context"].pool_sizing]
    assert {p["instanceType"]: p["gpu"] for p in pools} == gpus


def test_region_facts():
    assert recorded.availability_zones("us-east-1") == tuple(f"us-east-1{z}" for z in "abcdef")
    assert recorded.availability_zones("eu-west-1") == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert recorded.ssm_parameter("us-east-1", GPU_AMI) == "ami-0ca77a28d8801702a"
    assert recorded.ssm_parameter("eu-west-1", GPU_AMI) == "ami-05db4db06e751ab89"
    assert recorded.ssm_parameter("us-east-1", CPU_AMI) == "ami-05fb4f257abd42992"
    assert len(recorded.regions()) == 34


@pytest.mark.parametrize("instance_type", sorted(INSTANCE_FACTS))
def test_instance_facts(instance_type: str):
    vcpus, memory, (gpu, count, gpu_memory), azs = INSTANCE_FACTS[instance_type]
    data = recorded.instance_types()[instance_type]
    assert data["VCpuInfo"]["DefaultVCpus"] == vcpus
    assert data["MemoryInfo"]["SizeInMiB"] == memory
    assert [(g["Name"], g["Count"], g["MemoryInfo"]["SizeInMiB"]) for g in data["GpuInfo"]["Gpus"]] == [
        (gpu, count, gpu_memory)
    ]
    assert recorded.instance_type_azs("us-east-1", instance_type) == azs


# A CPU tier's instance (Pulumi.hybrid.yaml): vCPUs and memory size it (stacks/tiers.py), no GPUs.
CPU_INSTANCE_FACTS = {"c7i.12xlarge": (48, 98304, "Intel", (*L40S_AZS, "us-east-1f"))}


@pytest.mark.parametrize("instance_type", sorted(CPU_INSTANCE_FACTS))
def test_cpu_instance_facts(instance_type: str):
    vcpus, memory, maker, azs = CPU_INSTANCE_FACTS[instance_type]
    data = recorded.instance_types()[instance_type]
    assert data["VCpuInfo"]["DefaultVCpus"] == vcpus
    assert data["MemoryInfo"]["SizeInMiB"] == memory
    assert "GpuInfo" not in data and data["ProcessorInfo"]["Manufacturer"] == maker
    assert recorded.instance_type_azs("us-east-1", instance_type) == azs
