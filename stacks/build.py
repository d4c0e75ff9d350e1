"""Builds a stack from its validated context: the platform-independent base, then the platform."""

from __future__ import annotations

from typing import Any

import pulumi

from components.shared.network import ExistingNetwork, Network, NetworkArgs
from stacks.config import StackContext
from stacks.ecs import build_ecs
from stacks.eks import build_eks
from stacks.observability import build_observability
from stacks.tagging import register_default_tags


def build_network(ctx: StackContext) -> Network:
    net = ctx.config.network
    if net.adopts_existing:
        args = NetworkArgs(
            existing=ExistingNetwork(net.vpc_id, tuple(net.public_subnet_ids), tuple(net.private_subnet_ids))
        )
    else:
        mode = net.nat_gateways if net.nat_gateways != "auto" else ("perAz" if ctx.is_prod else "single")
        args = NetworkArgs(availability_zones=ctx.availability_zones, cidr=str(net.cidr), nat_gateways=mode)
    return Network(f"{ctx.short_name}-net", args)


def build_stack(ctx: StackContext) -> dict[str, Any]:
    """Declare every resource of the stack; return the stack outputs."""
    register_default_tags(ctx.tags)
    network = build_network(ctx)
    outputs: dict[str, Any] = {
        "region": ctx.region,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
        "publicSubnetIds": network.public_subnet_ids,
        "sizing": ctx.sizing.as_plan(),
    }
    if ctx.config.platform == "ecs":
        ecs_outputs, endpoint = build_ecs(ctx, network)
        outputs.update(ecs_outputs)
        # Alarms and the dashboard watch whatever the platform serves through its ServingEndpoint.
        outputs.update(build_observability(ctx, endpoint))
    elif ctx.config.platform == "eks":
        eks_outputs, endpoint = build_eks(ctx, network)
        outputs.update(eks_outputs)
        outputs.update(build_observability(ctx, endpoint))
    for warning in ctx.warnings:
        pulumi.log.warn(warning)
    return outputs
