"""Facts about AWS that decide the plan, read through the provider's own data sources.

Under `pulumi up`/`preview` these are real AWS API calls; under the offline plan and tests,
Pulumi's mock runtime answers them from recorded AWS data (see offline/mocks.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

# The EC2 API's answer for a type it does not know (DescribeInstanceTypes error code, surfaced by the
# provider as "reading EC2 Instance Type (<name>): ... api error InvalidInstanceType: The following
# supplied instance types do not exist: [<name>]"; terraform-provider-aws internal/service/ec2 findInstanceTypeByName).
# Every other failure (ExpiredToken, UnauthorizedOperation, Throttling, a network error) is not an answer.
NOT_FOUND_CODES = ("InvalidInstanceType",)


class AwsLookupError(pulumi.RunError):
    """An AWS lookup failed for another reason than "no such thing": one line, printed without a traceback."""


@dataclass(frozen=True)
class GpuFacts:
    name: str
    manufacturer: str
    count: int
    memory_mib: int


@dataclass(frozen=True)
class InstanceFacts:
    instance_type: str
    vcpus: int
    memory_mib: int
    architectures: tuple[str, ...]
    gpu: GpuFacts | None
    # NetworkInfo of the default network card: "Up to 20 Gigabit"-style types sustain the baseline and burst
    # to the peak for a limited time (EC2 user guide, "Amazon EC2 instance network bandwidth").
    network_performance: str = ""
    baseline_gbps: float = 0.0
    peak_gbps: float = 0.0
    efa_interfaces: int = 0  # EFA interfaces it supports (0: no EFA)
    network_cards: int = 1

    @property
    def family(self) -> str:
        return self.instance_type.split(".")[0]

    @property
    def has_nvidia_gpu(self) -> bool:
        return self.gpu is not None and self.gpu.manufacturer.upper() == "NVIDIA"

    def describe_gpu(self) -> str:
        if self.gpu is None:
            return "no GPU"
        return f"{self.gpu.count}× {self.gpu.manufacturer} {self.gpu.name} {self.gpu.memory_mib / 1024:.0f} GiB"


@functools.cache
def instance_type(name: str) -> InstanceFacts | None:
    """DescribeInstanceTypes for one type, or None when AWS does not know the type."""
    try:
        result = aws.ec2.get_instance_type(instance_type=name)
    except Exception as exc:
        if any(code in str(exc) for code in NOT_FOUND_CODES):
            return None
        raise AwsLookupError(f"aws: could not look up EC2 instance type {name}: {_one_line(exc)}") from None
    gpus = list(result.gpuses or [])
    gpu = None
    if gpus:
        first = gpus[0]
        gpu = GpuFacts(
            name=first.name,
            manufacturer=first.manufacturer,
            count=sum(g.count for g in gpus),
            memory_mib=first.memory_size,
        )
    return InstanceFacts(
        instance_type=name,
        vcpus=result.default_vcpus,
        memory_mib=result.memory_size,
        architectures=tuple(result.supported_architectures),
        gpu=gpu,
        **_network(result),
        efa_interfaces=(result.efa_maximum_interfaces or 0) if result.efa_supported else 0,
        network_cards=result.maximum_network_cards or 1,
    )


def _network(result: Any) -> dict[str, Any]:
    cards = list(result.network_cards or [])
    card = next((c for c in cards if c.index == (result.default_network_card_index or 0)), cards[0] if cards else None)
    return {
        "network_performance": result.network_performance or "",
        "baseline_gbps": float(card.baseline_bandwidth) if card else 0.0,
        "peak_gbps": float(card.peak_bandwidth) if card else 0.0,
    }


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    # Pulumi wraps a failed invoke as "invoke of <token> failed: <provider's message> (<property>)".
    return text.split(" failed: ", 1)[1] if text.startswith("invoke of ") and " failed: " in text else text


@functools.cache
def regions() -> tuple[str, ...]:
    return tuple(sorted(aws.get_regions(all_regions=True).names))


@functools.cache
def availability_zones() -> tuple[str, ...]:
    return tuple(aws.get_availability_zones(state="available").names)


@functools.cache
def offered_zones(instance_type: str) -> tuple[str, ...]:
    """The region's AZs that offer an instance type (DescribeInstanceTypeOfferings, location type
    availability-zone); empty when the region offers it nowhere. Sorted, as AZ names sort by letter."""
    result = aws.ec2.get_instance_type_offerings(
        location_type="availability-zone",
        filters=[{"name": "instance-type", "values": [instance_type]}],
    )
    return tuple(
        sorted({loc for loc, t in zip(result.locations, result.instance_types, strict=True) if t == instance_type})
    )


@functools.cache
def service_linked_roles() -> frozenset[str]:
    """Names of the account's service-linked roles (IAM ListRoles, path /aws-service-role/)."""
    return frozenset(aws.iam.get_roles(path_prefix="/aws-service-role/").names)


def clear_caches() -> None:
    """Each program run (and each test's fresh mock run) starts without remembered answers."""
    instance_type.cache_clear()
    regions.cache_clear()
    availability_zones.cache_clear()
    offered_zones.cache_clear()
    service_linked_roles.cache_clear()
    region.cache_clear()


@functools.cache
def region() -> str:
    return aws.get_region().region
