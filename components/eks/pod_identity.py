"""EKS Pod Identity: the role trust and the association.

Each serving piece on EKS (the vLLM server, the tier router, the weight sync, the collectors, the controllers)
gets AWS rights the same way: an IAM role trusted by `pods.eks.amazonaws.com`, associated with one
ServiceAccount in one namespace (EKS user guide, "Assign an IAM role to a Kubernetes service account").
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


def pod_identity_trust() -> dict[str, Any]:
    """EKS Pod Identity's trust policy (EKS user guide, "Create IAM role for Pod Identity")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def associate(
    name: str,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    role_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.PodIdentityAssociation:
    """`role_arn` for the pods of `namespace`/`service_account` (the association resource named `name`)."""
    return aws.eks.PodIdentityAssociation(
        name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role_arn,
        opts=opts,
    )
