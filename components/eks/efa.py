"""EFA for multi-node replicas: the AWS EFA device plugin, the pods' `vpc.amazonaws.com/efa` request, and the
libfabric/NCCL environment that makes NCCL's inter-node (pipeline-parallel) traffic use EFA instead of TCP.

How the interfaces get there: a pod requesting `vpc.amazonaws.com/efa` makes Karpenter launch the node with
one `efa` interface per EFA-capable network card (its dynamic EFA path: launch template
`generateNetworkInterfaces`, EFACount = the instance type's MaximumEfaInterfaces, card 0 device 0 and cards
1..N-1 device 1, all InterfaceType "efa"; aws/karpenter-provider-aws pkg/providers/launchtemplate, and the
EFA design notes of commit 097e3fe: "Karpenter provides a way to configure EFA launches with dynamic capacity,
through vpc.amazonaws.com/efa requests on pods"). So the EC2NodeClass declares no static networkInterfaces
(a static `interface` on card 0 + `efa-only` elsewhere would leave one EFA device fewer than the request).
The device plugin then advertises the node's EFA devices as `vpc.amazonaws.com/efa` (EKS user guide,
"Manage EFA devices on Amazon EKS": with Karpenter use the EFA device plugin, not the DRA driver).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EFA_RESOURCE = "vpc.amazonaws.com/efa"

# libfabric / NCCL over EFA. FI_PROVIDER=efa: use the EFA libfabric provider, never fall back to TCP sockets
# silently (EC2 user guide "Get started with EFA and NCCL", nccl-tests run); FI_EFA_USE_DEVICE_RDMA=1:
# GPUDirect RDMA on p4d/p5 (same guide); RDMAV_FORK_SAFE=1: Ray/vLLM fork worker processes after the verbs
# device is open (aws/sagemaker-training-toolkit commit 9a5ed9f sets both for its EFA RDMA instances).
# NCCL_DEBUG=INFO logs "NET/OFI" (EFA) or "NET/Socket" (TCP) once at start, so the transport is visible.
EFA_ENV: dict[str, str] = {
    "FI_PROVIDER": "efa",
    "FI_EFA_USE_DEVICE_RDMA": "1",
    "RDMAV_FORK_SAFE": "1",
    "NCCL_DEBUG": "INFO",
}


def device_plugin_values(
    instance_types: Sequence[str], node_selector: dict[str, str], toleration: dict[str, str]
) -> dict[str, Any]:
    """The aws-efa-k8s-device-plugin chart on our GPU nodes only: the chart's own affinity keeps it to the
    EFA-capable types it lists (supportedInstanceLabels), narrowed to the pool's types; our pool label as
    nodeSelector; the GPU taint tolerated (the chart tolerates only CriticalAddonsOnly)."""
    return {
        "supportedInstanceLabels": {"keys": ["node.kubernetes.io/instance-type"], "values": list(instance_types)},
        "nodeSelector": dict(node_selector),
        "tolerations": [dict(toleration)],
    }
