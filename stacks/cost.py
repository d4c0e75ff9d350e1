"""Cost estimate for a stack, from the dated price snapshot in stacks/pricing.yaml.

Spot is a stated flat discount on on-demand (no spot price history offline); the snapshot names its
sources and date. Monthly = hourly × 730 (AWS's own monthly-hours convention).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

from stacks.yaml_files import read_yaml

PRICES_PATH = Path(__file__).with_name("pricing.yaml")
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Prices:
    raw: dict

    @property
    def captured_on(self) -> str:
        return str(self.raw["capturedOn"])

    @property
    def spot_discount(self) -> float:
        return float(self.raw["spot"]["assumedDiscount"])

    def on_demand(self, region: str, instance_type: str) -> float | None:
        return (self.raw["onDemandHourly"].get(region) or {}).get(instance_type)

    def service(self, region: str, key: str) -> tuple[float, str]:
        """A service price and the region it was taken from (us-east-1 when the region has none)."""
        services = self.raw.get("services", {})
        for where in (region, "us-east-1"):
            if key in (services.get(where) or {}):
                return float(services[where][key]), where
        return 0.0, "unpriced"

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


def estimate(ctx) -> dict:
    """Hourly and monthly USD at min and max scale: all on-demand, and the configured spot mix."""
    prices = load_prices()
    cfg = ctx.config
    pool = cfg.gpu_pool
    itype = pool.instance_types[0]
    od_price = prices.on_demand(ctx.region, itype)
    notes = [
        f"prices captured {prices.captured_on}; spot = on-demand × (1 − {prices.spot_discount}) (assumed)",
        f"GPU price of {itype}, the pool's first type",
    ]
    if od_price is None:
        notes.append(f"no on-demand price for {itype} in {ctx.region} in the snapshot: GPU cost left out")
        od_price = 0.0
    spot_price = od_price * (1 - prices.spot_discount)

    fixed_hourly = 0.0
    fixed_items = {}
    if not cfg.network.adopts_existing:
        nat_count = nat_gateway_count(ctx)
        nat, _ = prices.service(ctx.region, "natGatewayHourly")
        fixed_items["natGateways"] = round(nat * nat_count, 4)
    if cfg.platform == "ecs":
        alb, _ = prices.service(ctx.region, "albHourly")
        fixed_items["loadBalancer"] = round(alb, 4)
    else:
        eks, _ = prices.service(ctx.region, "eksClusterHourly")
        fixed_items["eksControlPlane"] = round(eks, 4)
    kms, _ = prices.service(ctx.region, "kmsKeyMonthly")
    secrets, _ = prices.service(ctx.region, "secretsManagerSecretMonthly")
    fixed_items["kmsAndSecrets"] = round((kms + 2 * secrets) / HOURS_PER_MONTH, 4)
    fixed_hourly = sum(fixed_items.values())

    def at(instances: int) -> dict:
        od = on_demand_count(
            instances,
            pool.spot.on_demand_base_capacity,
            pool.spot.on_demand_percentage_above_base_capacity,
            pool.spot.enabled,
        )
        all_od = instances * od_price + fixed_hourly
        mix = od * od_price + (instances - od) * spot_price + fixed_hourly
        return {
            "instances": instances,
            "onDemandInstances": od,
            "spotInstances": instances - od,
            "hourlyOnDemand": round(all_od, 2),
            "hourlyWithSpot": round(mix, 2),
            "monthlyOnDemand": round(all_od * HOURS_PER_MONTH, 2),
            "monthlyWithSpot": round(mix * HOURS_PER_MONTH, 2),
        }

    return {
        "currency": "USD",
        "pricesCapturedOn": prices.captured_on,
        "instanceType": itype,
        "onDemandHourlyPerInstance": od_price,
        "spotHourlyPerInstance": round(spot_price, 4),
        "spotDiscountAssumed": prices.spot_discount,
        "fixedHourly": round(fixed_hourly, 4),
        "fixedItemsHourly": fixed_items,
        "min": at(pool.min_size),
        "max": at(pool.max_size),
        "notes": notes,
    }


def nat_gateway_count(ctx) -> int:
    mode = ctx.config.network.nat_gateways
    if mode == "auto":
        mode = "perAz" if ctx.is_prod else "single"
    return len(ctx.availability_zones) if mode == "perAz" else 1
