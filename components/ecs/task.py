"""The ECS task's documents (pure: tested and validated against AWS's own models): the vLLM container
definition, built from components/shared/vllm.py, and the execution and trust policies."""

from __future__ import annotations

import re
from typing import Any

from components.shared import vllm

CONTAINER_NAME = "vllm"
HOST_HF_CACHE = "/var/lib/deepseek/vllm-cache"  # survives task restarts on the instance; shared by its replicas
HF_CACHE_VOLUME = "vllm-cache"
ECS_MAX_START_PERIOD = 300  # ECS caps a container health check's startPeriod at 300 s


def container_definitions(
    server: vllm.VllmServer,
    api_key_arn: str,
    hf_token_arn: str,
    log_group: str,
    region: str,
    keep_alive_seconds: int = vllm.keep_alive_seconds(600),
    rotated_key: bool = False,
    sidecars: tuple[dict[str, Any], ...] = (),
) -> list[dict[str, Any]]:
    """The ECS container definition of the vLLM server (RegisterTaskDefinition shape); `server` with its
    image and model_uri resolved (plain strings). `rotated_key`: the API-key secret rotates
    (components/ecs/api_key_rotation.py), so the server also accepts its AWSPREVIOUS version.

    `server.memory_reservation_mib` is the task's memory budget on the instance (stacks/ecs.py sizes it so
    every replica fits); `sidecars` (e.g. the metrics collector) reserve theirs out of it, the rest is vLLM's."""
    probe = vllm.CONTAINER_HEALTH
    return [
        {
            "name": CONTAINER_NAME,
            "image": server.image,
            "essential": True,
            # The image's entrypoint is `vllm serve`; with a rotated key a shell adds both keys to it.
            **({"entryPoint": vllm.entrypoint_with_previous_key()} if rotated_key else {}),
            "command": vllm.serve_args(server),
            "portMappings": [{"containerPort": vllm.PORT, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
            **(
                {"resourceRequirements": [{"type": "GPU", "value": str(server.tensor_parallel_size)}]}
                if server.device != "cpu"
                else {}
            ),
            "memoryReservation": vllm_memory_reservation_mib(server, sidecars),
            "user": vllm.CONTAINER_USER,
            "readonlyRootFilesystem": True,
            "environment": [
                {"name": k, "value": v}
                for k, v in {**vllm.environment(keep_alive_seconds, server), **vllm.cpu_environment(server)}.items()
            ],
            "secrets": [
                {"name": vllm.API_KEY_ENV, "valueFrom": api_key_arn},
                *(
                    [{"name": vllm.PREVIOUS_API_KEY_ENV, "valueFrom": previous_stage(api_key_arn)}]
                    if rotated_key
                    else []
                ),
                {"name": vllm.HF_TOKEN_ENV, "valueFrom": hf_token_arn},
            ],
            "mountPoints": [{"sourceVolume": HF_CACHE_VOLUME, "containerPath": vllm.CACHE_ROOT, "readOnly": False}],
            "linuxParameters": {
                "sharedMemorySize": server.shared_memory_mib,
                "tmpfs": [
                    {"containerPath": vllm.TMP_DIR, "size": vllm.TMPFS_MIB, "mountOptions": ["rw", "nosuid", "nodev"]}
                ],
                "initProcessEnabled": True,  # reaps the TP worker processes, forwards SIGTERM
            },
            "ulimits": [
                {"name": "memlock", "softLimit": -1, "hardLimit": -1},  # pinned host memory for CUDA/NCCL
                {"name": "nofile", "softLimit": 65535, "hardLimit": 65535},  # one socket per streamed request
            ],
            "healthCheck": {
                "command": ["CMD", *vllm.probe_command()],
                "interval": probe.interval_seconds,
                "timeout": probe.timeout_seconds,
                "retries": probe.unhealthy_threshold,
                "startPeriod": min(ECS_MAX_START_PERIOD, server.startup_seconds),
            },
            "stopTimeout": server.stop_timeout_seconds,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                    "mode": "non-blocking",  # a slow log pipe must never stall token generation
                    "max-buffer-size": "25m",
                },
            },
        },
        *sidecars,
    ]


def vllm_memory_reservation_mib(server: vllm.VllmServer, sidecars: tuple[dict[str, Any], ...] = ()) -> int:
    """The task's budget less what its sidecars reserve: the task as a whole still fits the instance."""
    return server.memory_reservation_mib - sum(int(c.get("memoryReservation", 0)) for c in sidecars)


def previous_stage(secret_arn: str) -> str:
    """The AWSPREVIOUS version of a secret as an ECS `valueFrom`: <full secret ARN>:<json-key>:<version-stage>:
    <version-id> with the JSON key and version id empty (ECS developer guide, "Pass Secrets Manager secrets
    through Amazon ECS environment variables"; aws-cdk's ecs.Secret.fromSecretsManagerVersion builds the same)."""
    return f"{secret_arn}::AWSPREVIOUS:"


def execution_policy(
    log_group_arn: str,
    secret_arns: list[str],
    kms_key_arn: str,
    region: str,
    image: str,
    secrets_kms_key_arns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What the ECS agent needs for this task and nothing else. `secrets_kms_key_arns`: the keys of
    adopted secrets encrypted with another customer-managed key (GetSecretValue decrypts with the
    secret's key under the caller's permissions, Secrets Manager user guide "Secret encryption and
    decryption"); granted through Secrets Manager only, like the stack key."""
    decrypt_keys = sorted({kms_key_arn, *secrets_kms_key_arns})
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteThisTasksLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:log-stream:*",
        },
        {
            "Sid": "ReadTheTwoSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted(set(secret_arns)),
        },
        {
            "Sid": "DecryptSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": decrypt_keys if len(decrypt_keys) > 1 else kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]
    registry = re.match(r"^(\d{12})\.dkr\.ecr\.([\w-]+)\.amazonaws\.com/([^:@]+)", image)
    if registry:  # an ECR image (e.g. a pull-through cache of Docker Hub): pull rights on that repository
        account, ecr_region, repository = registry.groups()
        statements += [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullTheServerImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": f"arn:aws:ecr:{ecr_region}:{account}:repository/{repository}",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def ecs_tasks_trust_policy(account_id: str, region: str, partition: str) -> dict[str, Any]:
    # Confused-deputy guard: only ECS acting for this account's tasks in this region.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account_id}:*"},
                },
            }
        ],
    }


def cache_dir_user_data() -> str:
    """Instance user data: the host cache directory, owned by the container user before the ECS agent
    starts a task (ecs.service is ordered After=cloud-final.service on the ECS-optimized AMIs, so user
    data runs first). Docker would otherwise create it root-owned and the non-root vLLM could not write."""
    return f"install -d -o {vllm.CONTAINER_USER} -g {vllm.CONTAINER_USER} -m 0700 {HOST_HF_CACHE}\n"
