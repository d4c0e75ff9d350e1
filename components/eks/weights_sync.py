"""EksWeightsSync: the EKS counterpart of components/ecs/weights_sync.py. A suspended CronJob that never runs
on a schedule: `make sync-weights STACK=…` (scripts/sync_weights.py) creates a Job from its jobTemplate (what
`kubectl create job --from=cronjob/…` does) and waits for it. The Job copies one model revision from the
Hugging Face Hub into the model bucket's `<hf id>/<revision>` prefix with the same program as ECS.

  ServiceAccount ── Pod Identity association ── role: the HF token secret (read) and, granted by the stack
  with ModelBucket.grant(write=True), that model prefix (write); nothing else
  SecretProviderClass (AWS provider) → CSI volume → the HF token file, exported by the wrapper
  CronJob (suspend: true) → Job → one pod on the system nodes (deepseek.ai/node-pool=system; the GPU nodes'
  nvidia.com/gpu taint keeps it off them), the serving image (huggingface_hub and boto3 are in it), as the
  image's non-root user on a read-only root filesystem, writing only to an emptyDir sized for the revision.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.ecs.weights_sync import SYNC_PROGRAM, WORKDIR, ephemeral_gib, sync_cache_env
from components.eks.pod_identity import associate, pod_identity_trust
from components.eks.system_node_group import SYSTEM_LABEL
from components.eks.workload import CSI_DRIVER, HF_TOKEN_FILE, SECRETS_DIR
from components.shared import vllm
from components.shared.validation import ArgsProblems

NAME = "weights-sync"  # the CronJob, its ServiceAccount; Jobs made from it are weights-sync-<suffix>
CONTAINER = "sync"
SECRET_PROVIDER_CLASS = f"{NAME}-secrets"
# Never scheduled: suspend stops the controller from creating Jobs (Kubernetes docs, CronJob "Schedule
# suspension": `.spec.suspend: true` suspends subsequent executions). The schedule is required; any valid one.
SCHEDULE = "0 0 1 1 *"
# Run the program with the token from the CSI file in HF_TOKEN, then hand over to Python ($1 = the program).
WRAPPER = f'HF_TOKEN="$(cat {SECRETS_DIR}/{HF_TOKEN_FILE})" exec python3 -c "$1"'
BACKOFF_LIMIT = 1  # one retry, then the Job fails and the make target reports it
ACTIVE_DEADLINE_SECONDS = 3 * 3600
TTL_SECONDS_AFTER_FINISHED = 7 * 24 * 3600


@dataclass(frozen=True)
class EksWeightsSyncArgs:
    image: pulumi.Input[str] = ""  # the digest-pinned serving image
    hf_id: str = ""
    revision: str = ""
    bucket_name: pulumi.Input[str] = ""
    prefix: str = ""
    weights_bytes: float = 0.0
    hf_token_secret_arn: pulumi.Input[str] = ""
    hf_token_grant: str = ""  # the GetSecretValue resource (ARN or name pattern) for the HF token
    kms_key_arns: tuple[pulumi.Input[str], ...] = ()  # keys the token secret is encrypted with
    cluster_name: pulumi.Input[str] = ""
    region: str = ""
    namespace: str = "deepseek-serving"
    permissions_boundary_arn: str = ""
    extra_labels: dict[str, str] = field(default_factory=dict)


class EksWeightsSync(pulumi.ComponentResource):
    role_name: pulumi.Output[str]
    cron_job_name: str

    def __init__(
        self, name: str, args: EksWeightsSyncArgs, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("deepseek:eks:WeightsSync", name, None, opts)
        _validate(args)
        child = pulumi.ResourceOptions(parent=self)
        kube = pulumi.ResourceOptions(parent=self, provider=provider)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description="Weight sync Job (EKS Pod Identity): read the HF token, write one model revision",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-token",
            role=role.name,
            policy=pulumi.Output.all(*args.kms_key_arns).apply(
                lambda keys: json.dumps(token_policy(args.hf_token_grant, list(keys), args.region))
            ),
            opts=child,
        )
        meta = {"name": NAME, "namespace": args.namespace, "labels": labels(args)}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta, automount_service_account_token=False, opts=kube
        )
        association = associate(f"{name}-identity", args.cluster_name, args.namespace, NAME, role.arn, child)
        spc = k8s.apiextensions.CustomResource(
            f"{name}-secrets",
            api_version="secrets-store.csi.x-k8s.io/v1",
            kind="SecretProviderClass",
            metadata={"name": SECRET_PROVIDER_CLASS, "namespace": args.namespace},
            spec=pulumi.Output.from_input(args.hf_token_secret_arn).apply(
                lambda arn: token_provider_spec(arn, args.region)
            ),
            opts=kube,
        )
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=meta,
            spec=pulumi.Output.all(args.image, args.bucket_name).apply(lambda a: cron_job_spec(args, a[0], a[1])),
            opts=pulumi.ResourceOptions.merge(kube, pulumi.ResourceOptions(depends_on=[account, association, spc])),
        )
        self.role_name = role.name
        self.cron_job_name = NAME
        self.register_outputs({"cronJob": NAME, "namespace": args.namespace, "roleArn": role.arn})


def labels(args: EksWeightsSyncArgs) -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME, **args.extra_labels}


def token_provider_spec(hf_token_arn: str, region: str) -> dict[str, Any]:
    objects = [{"objectName": hf_token_arn, "objectType": "secretsmanager", "objectAlias": HF_TOKEN_FILE}]
    return {
        "provider": "aws",
        "parameters": {"objects": yaml.safe_dump(objects, sort_keys=False), "usePodIdentity": "true", "region": region},
    }


def token_policy(hf_token_grant: str, kms_key_arns: list[str], region: str) -> dict[str, Any]:
    """The AWS provider's calls for one secret with the pod's identity (GetSecretValue, DescribeSecret),
    decrypting through Secrets Manager only. The bucket write comes from ModelBucket.grant(write=True)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheHfToken",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": hf_token_grant,
            },
            {
                "Sid": "DecryptTheTokenThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": sorted(set(kms_key_arns)),
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }


def pod_spec(args: EksWeightsSyncArgs, image: str, bucket: str) -> dict[str, Any]:
    env = {
        "MODEL_ID": args.hf_id,
        "REVISION": args.revision,
        "BUCKET": bucket,
        "PREFIX": args.prefix,
        "WORKDIR": WORKDIR,
        **sync_cache_env(),
        "AWS_REGION": args.region,
        "HF_HUB_ENABLE_HF_TRANSFER": "0",
    }
    user = int(vllm.CONTAINER_USER)
    return {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": False,  # the program never calls the Kubernetes API
        "restartPolicy": "Never",
        "nodeSelector": dict([SYSTEM_LABEL]),  # CPU nodes; no toleration for the GPU nodes' taint
        "securityContext": {"runAsUser": user, "runAsGroup": user, "fsGroup": user, "runAsNonRoot": True},
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "command": ["/bin/sh", "-c", WRAPPER, CONTAINER, SYNC_PROGRAM],
                "env": [{"name": k, "value": v} for k, v in env.items()],
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
                "securityContext": {
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "scratch", "mountPath": vllm.CACHE_ROOT},
                    {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True},
                ],
            }
        ],
        "volumes": [
            {"name": "scratch", "emptyDir": {"sizeLimit": f"{ephemeral_gib(args.weights_bytes)}Gi"}},
            {
                "name": "secrets",
                "csi": {
                    "driver": CSI_DRIVER,
                    "readOnly": True,
                    "volumeAttributes": {"secretProviderClass": SECRET_PROVIDER_CLASS},
                },
            },
        ],
    }


def cron_job_spec(args: EksWeightsSyncArgs, image: str, bucket: str) -> dict[str, Any]:
    return {
        "schedule": SCHEDULE,
        "suspend": True,
        "concurrencyPolicy": "Forbid",
        "jobTemplate": {
            "metadata": {"labels": labels(args)},
            "spec": {
                "backoffLimit": BACKOFF_LIMIT,
                "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
                "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
                "template": {"metadata": {"labels": labels(args)}, "spec": pod_spec(args, image, bucket)},
            },
        },
    }


def _validate(args: EksWeightsSyncArgs) -> None:
    problems = ArgsProblems("EksWeightsSync")
    problems.check(bool(re.match(r"^[0-9a-f]{40}$", args.revision)), "revision", "must be a 40-hex Hugging Face commit")
    problems.check(bool(args.region), "region", "required")
    problems.check(bool(args.hf_token_grant), "hfTokenGrant", "the HF token secret's ARN or name pattern")
    problems.raise_if_any()
