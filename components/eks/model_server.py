"""EksModelServer: the vLLM replicas on EKS, registered into the shared Endpoint's target group.

  ServiceAccount ── Pod Identity association ── role: read the two model secrets (and, loading from S3,
  the model revision's prefix: the stack grants it with ModelBucket.grant on `role_name`), nothing else
  SecretProviderClass (AWS provider) → CSI volume → files → exported by the container's wrapper
  Deployment (one node per replica) | LeaderWorkerSet (nodes_per_replica > 1) → Service (ClusterIP)
  TargetGroupBinding (AWS Load Balancer Controller) → the Endpoint's target group (target type ip)
  PodDisruptionBudget; the security-group rule letting the load balancer reach the pods.

The Deployment's replica count is the initial one: KEDA (components/eks/autoscaling.py) owns it
afterwards, so it is in ignore_changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.eks import workload
from components.eks.pod_identity import associate, pod_identity_trust
from components.shared import vllm
from components.shared.validation import ArgsProblems

TGB_API = "elbv2.k8s.aws/v1beta1"
SPC_API = "secrets-store.csi.x-k8s.io/v1"
LWS_API = "leaderworkerset.x-k8s.io/v1"
EXCLUSIVE_TOPOLOGY = "leaderworkerset.sigs.k8s.io/exclusive-topology"


@dataclass(frozen=True)
class EksModelServerArgs:
    workload: workload.Workload = field(default_factory=workload.Workload)
    cluster_name: pulumi.Input[str] = ""
    region: str = ""
    initial_replicas: int = 1
    api_key_secret_arn: pulumi.Input[str] = ""
    hf_token_secret_arn: pulumi.Input[str] = ""
    secret_grants: tuple[str, ...] = ()  # GetSecretValue resources (ARNs or name patterns)
    kms_key_arns: tuple[pulumi.Input[str], ...] = ()  # keys the secrets are encrypted with
    target_group_arn: pulumi.Input[str] = ""
    load_balancer_security_group_id: pulumi.Input[str] = ""
    node_security_group_id: pulumi.Input[str] = ""  # the pods' (= the nodes') security group
    permissions_boundary_arn: str = ""
    # A tier behind the router (stacks/eks_tiers.py): reached through its ClusterIP Service only, so no
    # TargetGroupBinding and no load-balancer rule (target_group_arn and the security groups unused).
    internal: bool = False


class EksModelServer(pulumi.ComponentResource):
    workload_name: str
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]  # the pods' Pod Identity role

    def __init__(
        self, name: str, args: EksModelServerArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:ModelServer", name, None, opts)
        _validate(args)
        w = args.workload
        child = pulumi.ResourceOptions(parent=self)
        kube = pulumi.ResourceOptions(parent=self, provider=provider)
        meta = {"name": w.name, "namespace": w.namespace, "labels": w.labels}
        role = self._secrets_role(name, args, child)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={**meta, "name": w.service_account},
            automount_service_account_token=False,
            opts=kube,
        )
        association = associate(f"{name}-secrets", args.cluster_name, w.namespace, w.service_account, role.arn, child)
        spc = k8s.apiextensions.CustomResource(
            f"{name}-secrets",
            api_version=SPC_API,
            kind="SecretProviderClass",
            metadata={"name": w.secret_provider_class, "namespace": w.namespace},
            spec=pulumi.Output.all(args.api_key_secret_arn, args.hf_token_secret_arn).apply(
                lambda arns: workload.secret_provider_class_spec(arns[0], arns[1], args.region)
            ),
            opts=kube,
        )
        after = pulumi.ResourceOptions(depends_on=[account, association, spc])
        self._replicas(name, args, meta, pulumi.ResourceOptions.merge(kube, after))
        k8s.core.v1.Service(f"{name}-svc", metadata=meta, spec=workload.service_spec(w), opts=kube)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=workload.pdb_spec(w), opts=kube)
        if not args.internal:
            bind_load_balancer(
                name,
                LoadBalancerLink(
                    args.node_security_group_id,
                    args.load_balancer_security_group_id,
                    vllm.PORT,
                    "vLLM API on the pods from the load balancer only",
                ),
                meta,
                pulumi.Output.from_input(args.target_group_arn).apply(
                    lambda arn: workload.target_group_binding_spec(args.workload, arn)
                ),
                kube,
                child,
            )
        self.workload_name = w.name
        self.role_arn = role.arn
        self.role_name = role.name
        self.register_outputs({"workload": w.name, "namespace": w.namespace, "secretsRoleArn": role.arn})

    def _secrets_role(self, name: str, args: EksModelServerArgs, child: pulumi.ResourceOptions) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-secrets",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description=(
                "vLLM pods (EKS Pod Identity): read the API key and HF token secrets and the model revision in S3"
                if args.workload.server.load_from == "s3"
                else "vLLM pods (EKS Pod Identity): read the API key and HF token secrets only"
            ),
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        policy = pulumi.Output.all(*args.kms_key_arns).apply(
            lambda keys: json.dumps(secrets_policy(list(args.secret_grants), keys, args.region))
        )
        aws.iam.RolePolicy(f"{name}-secrets", role=role.name, policy=policy, opts=child)
        return role

    def _replicas(self, name: str, args: EksModelServerArgs, meta: dict[str, Any], opts: pulumi.ResourceOptions):
        w = args.workload
        keda_owns = pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
        if w.nodes_per_replica > 1:
            k8s.apiextensions.CustomResource(
                f"{name}-lws",
                api_version=LWS_API,
                kind="LeaderWorkerSet",
                # One group per zone, all its pods in it (LWS "exclusive placement"): with the NodeClass's
                # cluster placement group the group's nodes are close; a second group waits for another zone.
                metadata={**meta, "annotations": {EXCLUSIVE_TOPOLOGY: "topology.kubernetes.io/zone"}},
                spec=workload.leader_worker_spec(w, args.initial_replicas),
                opts=pulumi.ResourceOptions.merge(opts, keda_owns),
            )
            return
        k8s.apps.v1.Deployment(
            f"{name}-deploy",
            # First starts take many minutes (weights): `pulumi up` does not wait for readiness
            # (pulumi-kubernetes' skipAwait annotation), as ECS's wait_for_steady_state=False.
            metadata={**meta, "annotations": {"pulumi.com/skipAwait": "true"}},
            spec=workload.deployment_spec(w, args.initial_replicas),
            opts=pulumi.ResourceOptions.merge(opts, keda_owns),
        )


def bind_load_balancer(
    name: str,
    lb: LoadBalancerLink,
    meta: dict[str, Any],
    spec: pulumi.Output[dict[str, Any]],
    kube: pulumi.ResourceOptions,
    child: pulumi.ResourceOptions,
) -> None:
    """The load balancer's way to the pods: its security group admitted on the pods' port of the nodes' group,
    and the TargetGroupBinding that has the AWS Load Balancer Controller register the pods (the vLLM server's,
    or the tier router's: components/eks/router.py)."""
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-alb",
        security_group_id=lb.node_security_group_id,
        referenced_security_group_id=lb.load_balancer_security_group_id,
        ip_protocol="tcp",
        from_port=lb.port,
        to_port=lb.port,
        description=lb.description,
        opts=child,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-tgb", api_version=TGB_API, kind="TargetGroupBinding", metadata=meta, spec=spec, opts=kube
    )


@dataclass(frozen=True)
class LoadBalancerLink:
    node_security_group_id: pulumi.Input[str]
    load_balancer_security_group_id: pulumi.Input[str]
    port: int
    description: str


def secrets_policy(secret_grants: list[str], kms_key_arns: list[str], region: str) -> dict[str, Any]:
    """What the AWS provider needs for the two secrets with the pod's identity (its README: GetSecretValue
    and DescribeSecret), decrypting through Secrets Manager only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheTwoSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": sorted(set(secret_grants)),
            },
            {
                "Sid": "DecryptSecretsThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": sorted(set(kms_key_arns)),
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }


def _validate(args: EksModelServerArgs) -> None:
    problems = ArgsProblems("EksModelServer")
    w = args.workload
    problems.check(bool(args.region), "region", "required")
    problems.check(w.server.tensor_parallel_size >= 1, "workload.server.tensorParallelSize", "at least 1")
    problems.check(w.nodes_per_replica >= 1, "workload.nodesPerReplica", "at least 1")
    problems.check(
        w.nodes_per_replica == w.server.pipeline_parallel_size,
        "workload.nodesPerReplica",
        "equals the server's pipeline-parallel size (one pipeline stage per node)",
    )
    problems.check(
        w.grace_seconds < workload.SPOT_NOTICE_SECONDS,
        "workload.drainSeconds",
        f"drain plus stop timeout must finish inside the {workload.SPOT_NOTICE_SECONDS} s spot notice",
    )
    problems.check(
        w.server.load_from != "s3" or bool(w.server.model_uri), "workload.server.modelUri", "required loading from s3"
    )
    problems.check(len(args.secret_grants) == 2, "secretGrants", "the API key and HF token secrets")
    problems.check(bool(args.kms_key_arns), "kmsKeyArns", "at least the stack key")
    problems.raise_if_any()
