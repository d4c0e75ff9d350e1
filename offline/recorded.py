"""Recorded AWS data, read from the copies that moto ships (moto/ec2/resources, moto/ssm/resources).

moto records these from the real AWS APIs (DescribeInstanceTypes, DescribeInstanceTypeOfferings,
SSM public parameters under /aws/service/...); the installed moto version is the recording date.
Each file is read once per process. The files are found on disk next to moto's package without importing
moto: `import moto.ec2` builds moto's whole EC2 model (~0.9 s) and none of it is needed to read them.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

_EC2 = ("ec2", "resources")
_SSM = ("ssm", "resources")


@functools.cache
def _moto_root() -> Path:
    spec = importlib.util.find_spec("moto")  # finds the package directory; runs none of moto's code
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("moto is not installed: it ships the recorded AWS data (make installs it)")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_gz(package: tuple[str, ...], *parts: str) -> Any:
    with gzip.open(_moto_root().joinpath(*package, *parts)) as fh:
        return json.load(fh)


@functools.cache
def instance_types() -> dict[str, dict[str, Any]]:
    """DescribeInstanceTypes, keyed by instance type name."""
    return _load_gz(_EC2, "instance_types.json.gz")


@functools.cache
def _global_infrastructure() -> dict[str, Any]:
    data = _load_gz(_SSM, "regions.json.gz")
    return data["aws"]["service"]["global-infrastructure"]["regions"]


@functools.cache
def regions() -> tuple[str, ...]:
    """Commercial-partition regions (SSM /aws/service/global-infrastructure/regions)."""
    return tuple(
        sorted(
            name for name, info in _global_infrastructure().items() if info.get("partition", {}).get("Value") == "aws"
        )
    )


@functools.cache
def _offerings_by_az(region: str) -> dict[str, frozenset[str]]:
    rows = _load_gz(_EC2, "instance_type_offerings", "availability-zone", f"{region}.json.gz")
    by_az: dict[str, set[str]] = {}
    for row in rows:
        by_az.setdefault(row["Location"], set()).add(row["InstanceType"])
    return {az: frozenset(types) for az, types in by_az.items()}


def availability_zones(region: str) -> tuple[str, ...]:
    """AZ names of a region (DescribeInstanceTypeOfferings, location type availability-zone)."""
    if region not in regions():
        raise KeyError(f"unknown region {region!r}")
    return tuple(sorted(_offerings_by_az(region)))


def instance_type_azs(region: str, instance_type: str) -> tuple[str, ...]:
    """AZs of a region that offer an instance type."""
    return tuple(sorted(az for az, types in _offerings_by_az(region).items() if instance_type in types))


def offered_types(region: str, az: str) -> frozenset[str]:
    """Instance types an AZ offers (DescribeInstanceTypeOfferings, location type availability-zone)."""
    return _offerings_by_az(region).get(az, frozenset())


@functools.cache
def _ecs_ssm_parameters(region: str) -> dict[str, Any]:
    return _load_gz(_SSM, "ecs", "optimized_amis", f"{region}.json.gz")


def ssm_parameter(region: str, name: str) -> str:
    """A public SSM parameter value, e.g. /aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"""
    node: Any = _ecs_ssm_parameters(region)
    for part in name.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"ParameterNotFound: {name} in {region}")
        node = node[part]
    if isinstance(node, dict) and "Value" in node and isinstance(node["Value"], str):
        return node["Value"]
    if isinstance(node, dict):
        return json.dumps(node["Value"])
    raise KeyError(f"ParameterNotFound: {name} in {region}")
