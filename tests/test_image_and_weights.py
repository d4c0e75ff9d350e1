"""Issue 13: the digest-pinned serving image, the model bucket, vLLM streaming from S3 and the per-phase
cold-start estimate (checked by hand for dev and prod)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from components.shared import cold_start as cs
from components.shared import vllm
from components.shared.image import DOCKERFILE, base_image, build_tag
from offline.harness import shared_run
from offline.plan import _render_image_and_cold_start, plan_document

ROOT = Path(__file__).resolve().parent.parent
HADOLINT = Path(sys.executable).with_name("hadolint")
V0310_DIGEST = "sha256:c1c9f6fd5c109ba7f0546a59f5b2f15fb87f64c77782e90a27b648b42a8e67c3"


@pytest.fixture(scope="module")
def dev_plan():
    return plan_document(shared_run("dev"))


@pytest.fixture(scope="module")
def prod_plan():
    return plan_document(shared_run("prod"))


TYPES = {
    "repo": "aws:ecr/repository:Repository",
    "lifecycle": "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "key": "aws:kms/key:Key",
    "task": "aws:ecs/taskDefinition:TaskDefinition",
    "bucket": "aws:s3/bucket:Bucket",
    "role": "aws:iam/role:Role",
    "role-policy": "aws:iam/rolePolicy:RolePolicy",
    "secret": "aws:secretsmanager/secret:Secret",
    "service": "aws:ecs/service:Service",
    "alarm": "aws:cloudwatch/metricAlarm:MetricAlarm",
    "build": "docker-build:index:Image",
}


def by_name(run, name: str, kind: str):
    return next(r for r in run.registrations if r.name == name and r.type == TYPES[kind])


def stack_key_arn(run) -> str:
    (key,) = run.of_type(TYPES["key"])
    return key.outputs["arn"]


# --- the Dockerfile ---------------------------------------------------------------------------------------


def test_hadolint_passes_the_dockerfile_with_no_ignores():
    result = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hadolint ignore" not in DOCKERFILE.read_text()


def test_hadolint_does_fail_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM vllm/vllm-openai:latest\nRUN pip install runai-model-streamer\n")
    result = subprocess.run([str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "DL3007" in result.stdout and "DL3013" in result.stdout  # latest tag; unpinned pip install


def test_the_dockerfile_pins_the_base_by_tag_and_digest_runs_as_non_root_and_pins_the_streamer():
    text = DOCKERFILE.read_text()
    assert base_image() == {"image": "vllm/vllm-openai", "tag": "v0.31.0", "digest": V0310_DIGEST}
    # The task definitions run as vllm.CONTAINER_USER: the Dockerfile's USER is that uid, named vllm
    # (created only if the base lacks it; the build stops if the name has another uid), and HF_HOME is the
    # server's cache path, never root's.
    assert re.findall(r"^USER (\S+)$", text, re.MULTILINE) == [vllm.CONTAINER_USER] == ["2000"]
    assert f"useradd --system --uid {vllm.CONTAINER_USER} " in text
    assert f'test "$(id -u vllm)" = {vllm.CONTAINER_USER}' in text
    assert re.search(r"^ENV HF_HOME=(\S+)", text, re.MULTILINE).group(1) == vllm.HF_CACHE
    assert f'VOLUME ["{vllm.CACHE_ROOT}"]' in text and "/root" not in text
    assert '"runai-model-streamer==0.16.1"' in text and '"runai-model-streamer-s3==0.16.1"' in text
    assert "org.opencontainers.image.source" in text and "org.opencontainers.image.version" in text
    assert not re.search(r"(?i)(token|password|secret)\s*=", text)


def test_the_plan_reports_the_dockerfiles_base_digest(dev_plan):
    image = dev_plan["image"]
    assert image["base"]["digest"] == re.search(r"@(sha256:[0-9a-f]{64})", DOCKERFILE.read_text()).group(1)
    assert image["base"]["digest"] == V0310_DIGEST
    assert image["platforms"] == ["linux/amd64"]
    assert image["dockerfile"] == "images/vllm/Dockerfile" and image["context"] == "images/vllm"
    # The repository URL carries the account: all of it is known after deploy; the tag is not.
    assert image["tags"] == [f"<known after deploy>:{build_tag()}"]


# --- ECR and the build ---------------------------------------------------------------------------------


def test_the_ecr_repository_is_kms_encrypted_immutable_scanned_and_expires_old_images():
    run = shared_run("prod")
    repo = by_name(run, "ds-prod-image-repo", "repo").inputs
    key_arn = stack_key_arn(run)
    assert repo["name"] == "deepseek/prod/vllm"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]
    assert repo["forceDelete"] is False
    rules = json.loads(by_name(run, "ds-prod-image-lifecycle", "lifecycle").inputs["policy"])["rules"]
    assert [(r["selection"]["tagStatus"], r["selection"]["countNumber"]) for r in rules] == [
        ("untagged", 7),
        ("any", 10),
    ]


def test_the_build_pushes_for_linux_amd64_with_an_ecr_token():
    run = shared_run("dev")
    build = by_name(run, "ds-dev-image-build", "build").inputs
    assert build["push"] is True and build["platforms"] == ["linux/amd64"]
    (registry,) = build["registries"]
    assert registry["username"] == "AWS" and registry["address"].endswith(
        ".dkr.ecr.us-east-1.amazonaws.com/deepseek/dev/vllm"
    )
    assert ("aws:ecr/getAuthorizationToken:getAuthorizationToken", {"registryId": "123456789012"}) in run.invokes


def test_the_task_definition_runs_the_built_image_by_digest():
    run = shared_run("dev")
    container, _metrics_sidecar = json.loads(by_name(run, "ds-dev-vllm-task", "task").inputs["containerDefinitions"])
    digest = by_name(run, "ds-dev-image-build", "build").outputs["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert container["image"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/deepseek/dev/vllm@{digest}"
    assert digest in run.computed  # the plan shows it as known after deploy


# --- the model bucket and the streamer -------------------------------------------------------------------

REVISION_7B = "916b56a44061fd5cd7d6a8fb632557ed4f724f60"
PREFIX_7B = f"deepseek-ai/DeepSeek-R1-Distill-Qwen-7B/{REVISION_7B}"


def test_the_model_bucket_is_kms_encrypted_versioned_tls_only_private_and_logged():
    run = shared_run("dev")
    key_arn = stack_key_arn(run)
    companions = {r.type.split(":")[-1]: r.inputs for r in run.registrations if r.name == "ds-dev-models-weights"}
    (rule,) = companions["BucketServerSideEncryptionConfiguration"]["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    assert rule["bucketKeyEnabled"] is True
    assert companions["BucketVersioning"]["versioningConfiguration"] == {"status": "Enabled"}
    assert all(companions["BucketPublicAccessBlock"][k] is True for k in (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip
    (deny,) = json.loads(companions["BucketPolicy"]["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    log_bucket = by_name(run, "ds-dev-vllm-alb-logs", "bucket").outputs["bucket"]
    assert companions["BucketLogging"]["targetBucket"] == log_bucket
    assert companions["BucketLogging"]["targetPrefix"] == "s3/ds-dev-models/"
    log_policy = json.loads(
        next(r for r in run.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.name == "ds-dev-vllm-alb-logs").inputs[
            "policy"
        ]
    )
    delivery = next(s for s in log_policy["Statement"] if s["Sid"] == "S3ServerAccessLogDelivery")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}


def test_vllm_streams_the_pinned_revision_from_s3():
    run = shared_run("dev")
    bucket = by_name(run, "ds-dev-models-weights", "bucket").outputs["bucket"]
    container, _metrics_sidecar = json.loads(by_name(run, "ds-dev-vllm-task", "task").inputs["containerDefinitions"])
    assert container["command"][0] == f"s3://{bucket}/{PREFIX_7B}"
    command = container["command"]
    assert command[command.index("--load-format") + 1] == "runai_streamer"
    assert "--revision" not in command  # the prefix names the revision; the streamer reads config and tokenizer there
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["RUNAI_STREAMER_CONCURRENCY"] == "16"  # g6e.xlarge: 20 Gbit/s peak / 1.25
    assert env["AWS_REGION"] == "us-east-1"
    prod = shared_run("prod")
    prod_container, _prod_sidecar = json.loads(
        by_name(prod, "ds-prod-vllm-task", "task").inputs["containerDefinitions"]
    )
    assert {e["name"]: e["value"] for e in prod_container["environment"]}["RUNAI_STREAMER_CONCURRENCY"] == "64"


def test_the_task_role_reads_that_prefix_and_nothing_else():
    run = shared_run("dev")
    bucket_arn = by_name(run, "ds-dev-models-weights", "bucket").outputs["arn"]
    key_arn = stack_key_arn(run)
    grant = by_name(run, "ds-dev-vllm-read-model", "role-policy")
    assert grant.inputs["role"] == by_name(run, "ds-dev-vllm-task", "role").outputs["name"]
    statements = json.loads(grant.inputs["policy"])["Statement"]
    assert statements == [
        {
            "Sid": "ReadTheModelRevision",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{PREFIX_7B}/*",
        },
        {
            "Sid": "ListTheModelRevision",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [PREFIX_7B, f"{PREFIX_7B}/*"]}},
        },
        {
            "Sid": "DecryptThroughS3",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
    ]


def test_hub_loading_stays_possible_by_config():
    from offline.harness import run_program

    run = run_program("dev", overrides={"deepseek-cloud:model.loadFrom": "hub"})
    container, _metrics_sidecar = json.loads(by_name(run, "ds-dev-vllm-task", "task").inputs["containerDefinitions"])
    # The catalog's pinned commit, as the S3 prefix pins it: every replica serves the same weights and tokenizer.
    assert container["command"][:3] == [
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "--revision", "916b56a44061fd5cd7d6a8fb632557ed4f724f60"
    ]  # fmt: skip
    assert "runai_streamer" not in container["command"]
    assert not [w for w in run.program_globals["context"].warnings if "no pinned revision" in w]
    assert not [r for r in run.registrations if r.type.startswith("deepseek:ecs:WeightsSync")]
    assert not [r for r in run.registrations if r.name.startswith("ds-dev-models")]


def test_the_sync_task_is_a_fargate_cpu_task_with_the_hf_token_from_secrets_manager():
    run = shared_run("prod")
    task = by_name(run, "ds-prod-sync-task", "task").inputs
    assert task["requiresCompatibilities"] == ["FARGATE"] and (task["cpu"], task["memory"]) == ("4096", "16384")
    assert task["ephemeralStorage"] == {"sizeInGib": 77}  # ceil(65.53 GB × 1.25 / GiB) for the 32B revision
    (container,) = json.loads(task["containerDefinitions"])
    assert container["secrets"] == [
        {"name": "HF_TOKEN", "valueFrom": by_name(run, "ds-prod-vllm-hf-token", "secret").outputs["arn"]}
    ]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["REVISION"] == "711ad2ea6aa40cfca18895e8aca02ab92df1a746" and env["MODEL_ID"].endswith("Qwen-32B")
    # Like the server: the image's vllm user on a read-only root, writing only to the scratch bind mount
    # (the task's ephemeral storage) at the Dockerfile's VOLUME, where HOME, TMPDIR and the download live.
    assert (container["user"], container["readonlyRootFilesystem"]) == ("2000", True)
    assert task["volumes"] == [{"name": "scratch"}]
    assert container["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/var/cache/vllm", "readOnly": False}
    ]
    cache = "/var/cache/vllm"
    assert (env["HOME"], env["TMPDIR"], env["WORKDIR"], env["HF_HOME"]) == (
        f"{cache}/home",
        f"{cache}/tmp",
        f"{cache}/sync",
        f"{cache}/huggingface",
    )
    write = json.loads(by_name(run, "ds-prod-sync-write-model", "role-policy").inputs["policy"])["Statement"][0]
    assert write["Resource"].endswith(f"/{env['MODEL_ID']}/{env['REVISION']}/*")


# --- cold start ----------------------------------------------------------------------------------------


def test_dev_cold_start_by_hand(dev_plan):
    c = dev_plan["coldStart"]
    assert c["instanceType"] == "g6e.xlarge" and c["network"] == {"peakGbps": 20.0, "baselineGbps": 2.5}
    # 15.23 GB of weights at min(3.5 GiB/s streamer, 20 Gbit/s = 2.5 GB/s network) = 6.092 s
    # 12 GB image at 10.78 GB / 112 s = 124.67 s; with SOCI at 10.78 GB / 60 s = 66.79 s
    # engine 23 - 4.9 = 18.1 s; launch 120 s
    fresh, soci, cached = c["scenarios"]
    assert fresh == {
        "scenario": "fresh", "launchSeconds": 120.0, "imagePullSeconds": 124.7, "weightLoadSeconds": 6.1,
        "engineStartSeconds": 18.1, "totalSeconds": 268.9, "dominantPhase": "pull",
    }  # fmt: skip
    assert (soci["imagePullSeconds"], soci["totalSeconds"]) == (66.8, 211.0)
    assert (cached["imagePullSeconds"], cached["totalSeconds"]) == (0.0, 144.2)
    assert c["weightLoadFloorSeconds"] == 48.7  # 15.23 GB at the 2.5 Gbit/s baseline
    cached_t, fresh_t = c["targets"]
    assert (cached_t["scenario"], cached_t["targetSeconds"], cached_t["met"]) == ("cached", 150, True)
    assert (fresh_t["targetSeconds"], fresh_t["met"], fresh_t["dominantPhase"]) == (240, False, "pull")
    assert fresh_t["cutBy"]["scenario"] == "cached" and fresh_t["cutBy"]["totalSeconds"] == 144.2
    # alarm: ceil(268.9 × 1.5 / 60) = 7 minutes; grace: ceil(ceil(24.19) × 1.5 / 60) × 60 = 60 s
    assert (c["replicaStartupMinutes"], c["healthCheckGraceSeconds"]) == (7, 60)


def test_prod_cold_start_by_hand(prod_plan):
    c = prod_plan["coldStart"]
    assert c["instanceType"] == "g6e.12xlarge" and c["network"]["peakGbps"] == 100.0
    # 32B: 32.76e9 params × 2 bytes = 65.52 GB at min(3.5 GiB/s = 3.758 GB/s, 12.5 GB/s) = 17.43 s
    fresh = c["scenarios"][0]
    # engine, cold compile cache: 18.1 + (32.76 - 8) × (102.68 - 18.1) / (27 - 8) = 18.1 + 110.2 = 128.3 s
    assert (fresh["weightLoadSeconds"], fresh["engineStartSeconds"]) == (17.4, 128.3)
    # 120 launch + 12e9 / (10.78e9 / 112) = 124.7 pull + 17.4 + 128.3 = 390.4 s: the 300 s target is missed,
    # the engine start dominates, and an image already on the node would bring it to 265.8 s
    assert (fresh["totalSeconds"], fresh["dominantPhase"]) == (390.4, "engine")
    (target,) = c["targets"]
    assert (target["targetSeconds"], target["met"], target["cutBy"]["totalSeconds"]) == (300, False, 265.8)
    # grace: ceil(ceil(17.4 + 128.3) × 1.5 / 60) × 60 = 240 s; alarm: ceil(390.4 × 1.5 / 60) = 10 minutes
    assert (c["healthCheckGraceSeconds"], c["replicaStartupMinutes"]) == (240, 10)


def test_the_estimate_drives_the_grace_period_and_the_startup_alarm():
    run = shared_run("dev")
    svc = by_name(run, "ds-dev-vllm-svc", "service").inputs
    assert svc["healthCheckGracePeriodSeconds"] == 60
    container, _metrics_sidecar = json.loads(by_name(run, "ds-dev-vllm-task", "task").inputs["containerDefinitions"])
    assert container["healthCheck"]["startPeriod"] == 25  # ceil(6.09 + 18.1)
    # replicaStartupMinutes 0 in the shipped config: the alarms wait ceil(268.9 × 1.5 / 60) = 7 minutes
    for alarm in ("ds-dev-alarms-unhealthy-hosts", "ds-dev-alarms-tasks-below-desired"):
        assert by_name(run, alarm, "alarm").inputs["evaluationPeriods"] == 7


def test_the_phases_follow_their_formulas():
    node = cs.Node("x", peak_gbps=8.0, baseline_gbps=1.0)
    run = cs.estimate(10e9, node)
    assert run.weights == pytest.approx(10e9 / 1e9)  # the network (1 GB/s) is below the streamer's 3.76 GB/s
    assert run.pull == pytest.approx(12e9 / (10.78e9 / 112))
    hub = cs.estimate(10e9, node, load_from="hub")
    assert hub.weights == pytest.approx(10e9 / 100e6 + 10e9 / (500 * 1024**2))
    assert cs.streamer_concurrency(2.0) == 8 and cs.streamer_concurrency(400.0) == 64


def test_the_plan_says_when_the_engine_start_is_stretched_far_beyond_its_measurements(prod_plan):
    """The engine line is fitted at 8B and 27B: prod's 32.8B is near the data and gets no warning; R1's 671B is
    24.9× beyond it, and the plan says the figure is an order of magnitude only."""
    assert prod_plan["coldStart"]["engineEstimate"]["timesBeyondData"] == 1.2
    r1 = plan_document(shared_run("eks-r1"))["coldStart"]
    assert r1["engineEstimate"] == {"measuredUpToB": 27.0, "parametersB": 671.0, "timesBeyondData": 24.9}
    console = Console(record=True, width=200)
    _render_image_and_cold_start(console, {"coldStart": r1, "image": plan_document(shared_run("eks-r1"))["image"]})
    assert "engine start is extrapolated 24.9× beyond the largest measured model" in console.export_text()


def test_a_hub_model_without_a_pinned_revision_runs_unpinned_with_a_warning():
    from offline.harness import run_program

    run = run_program(
        "dev",
        overrides={
            "deepseek-cloud:model.name": "deepseek-v2-lite-chat",
            "deepseek-cloud:model.loadFrom": "hub",
            "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge"],  # dev's g5.2xlarge cannot hold its 29 GiB
        },
    )
    container, _metrics_sidecar = json.loads(by_name(run, "ds-dev-vllm-task", "task").inputs["containerDefinitions"])
    assert container["command"][0] == "deepseek-ai/DeepSeek-V2-Lite-Chat"
    assert "--revision" not in container["command"]
    assert (
        "model deepseek-ai/DeepSeek-V2-Lite-Chat has no pinned revision in stacks/models.yaml: each replica downloads "
        "the Hub's default branch when it starts, so replicas may serve different commits"
    ) in run.program_globals["context"].warnings
