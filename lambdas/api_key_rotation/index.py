"""Secrets Manager rotation function of the vLLM API key (runs in AWS Lambda, python3.13, boto3 from the runtime).

Secrets Manager calls it four times per rotation, with {"Step", "SecretId", "ClientRequestToken"} (Secrets
Manager user guide, "Lambda rotation functions"; the steps of AWS's SecretsManagerRotationTemplate):

  createSecret  put a new random key as the AWSPENDING version (unless that version already has a value)
  setSecret     nothing to set: vLLM keeps no credential store; the tasks read the secret when they start
  testSecret    the pending key is a well-formed new key (a broken value never becomes AWSCURRENT)
  finishSecret  move AWSCURRENT to it (Secrets Manager moves AWSPREVIOUS to the old key), then force a new
                deployment of the ECS service so every task restarts with the new key

The grace period: every task is started with both keys, AWSCURRENT and AWSPREVIOUS (the task definition's
`valueFrom: <secret arn>::AWSPREVIOUS:`, ECS developer guide "Pass Secrets Manager secrets through Amazon ECS
environment variables"), and vLLM accepts any of several keys (`--api-key k1 k2`, vllm PR #18548). A client
holding the old key keeps working until the next rotation; one that already took the new key works on every
task started after this rotation (during the rolling deployment an old task still refuses it: retry with
the previous key on a 401, docs/ecs.md).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
KEY_BYTES = 36  # 48 URL-safe characters: letters, digits, - and _ (safe in a header and a shell word)
KEY_FORMAT = re.compile(r"^[A-Za-z0-9_-]{48}$")


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def lambda_handler(event: dict[str, Any], context: Any = None, sm: Any = None, ecs: Any = None) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    sm = sm or boto3.client("secretsmanager")
    metadata = sm.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"secret {arn} is not enabled for rotation")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"secret version {token} has no stage for rotation of secret {arn}")
    if CURRENT in stages[token] and step != "finishSecret":
        logger.info("%s: version %s is already AWSCURRENT", step, token)
        return
    if CURRENT not in stages[token] and PENDING not in stages[token]:
        raise ValueError(f"secret version {token} is not AWSPENDING for rotation of secret {arn}")
    if step == "createSecret":
        create_secret(sm, arn, token)
    elif step == "setSecret":
        logger.info("setSecret: nothing to set, the ECS tasks read the key when they start")
    elif step == "testSecret":
        test_secret(sm, arn, token)
    elif step == "finishSecret":
        finish_secret(sm, ecs or boto3.client("ecs"), arn, token, stages)
    else:
        raise ValueError(f"unknown rotation step {step!r}")


def create_secret(sm: Any, arn: str, token: str) -> None:
    try:
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage=PENDING)
        logger.info("createSecret: version %s already has a value", token)
        return
    except sm.exceptions.ResourceNotFoundException:
        pass
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=new_key(), VersionStages=[PENDING])
    logger.info("createSecret: put a new key as version %s", token)


def test_secret(sm: Any, arn: str, token: str) -> None:
    pending = sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage=PENDING)["SecretString"]
    if not KEY_FORMAT.match(pending):
        raise ValueError(f"testSecret: version {token} is not a 48-character URL-safe key")
    try:
        current = sm.get_secret_value(SecretId=arn, VersionStage=CURRENT)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:  # the first rotation of a secret created empty
        current = None
    if pending == current:
        raise ValueError(f"testSecret: version {token} repeats the current key")


def finish_secret(sm: Any, ecs: Any, arn: str, token: str, stages: dict[str, list[str]]) -> None:
    current = next((version for version, labels in stages.items() if CURRENT in labels), None)
    if current != token:
        move = {"RemoveFromVersionId": current} if current else {}
        sm.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token, **move)
        logger.info("finishSecret: version %s is AWSCURRENT (was %s)", token, current)
    after = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    if PENDING in after.get(token, []):
        # Either end state is valid ("AWSPENDING on the AWSCURRENT version, or on none": Secrets Manager user
        # guide, rotation function steps); none is the one no later RotateSecret mistakes for a rotation in
        # progress (moto 5.2.5 refuses the other).
        sm.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)
    if not any(PREVIOUS in labels for labels in after.values()):
        # A secret rotated for the first time while empty has no previous key; the tasks reference
        # AWSPREVIOUS, so it labels the new key too (both references resolve, to one key).
        sm.update_secret_version_stage(SecretId=arn, VersionStage=PREVIOUS, MoveToVersionId=token)
    cluster, service = os.environ["CLUSTER_ARN"], os.environ["SERVICE_NAME"]
    deployment = ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)
    logger.info("finishSecret: new deployment of %s: %s", service, deployment["service"]["serviceArn"])
