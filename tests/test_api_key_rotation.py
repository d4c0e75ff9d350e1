"""The API-key rotation function (lambdas/api_key_rotation/index.py) against moto's Secrets Manager and ECS.

The rotations run through moto's own RotateSecret: it stages the AWSPENDING version, calls the function for
createSecret, setSecret, testSecret and finishSecret in order (moto/secretsmanager/models.py rotate_secret),
and only the Lambda invocation itself is replaced by an in-process call (moto runs Lambda code in Docker).
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda.models import LambdaBackend

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("api_key_rotation", ROOT / "lambdas/api_key_rotation/index.py")
rotation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rotation)

REGION = "us-east-1"
SECRET = "deepseek/prod/vllm-api-key"
OLD_KEY = "k" * 48


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        sm, ecs = boto3.client("secretsmanager", REGION), boto3.client("ecs", REGION)
        cluster = ecs.create_cluster(clusterName="ds-prod-vllm")["cluster"]["clusterArn"]
        ecs.register_task_definition(family="vllm", containerDefinitions=[{"name": "vllm", "image": "x", "memory": 8}])
        ecs.create_service(cluster=cluster, serviceName="vllm-svc", taskDefinition="vllm", desiredCount=1)
        monkeypatch.setenv("CLUSTER_ARN", cluster)
        monkeypatch.setenv("SERVICE_NAME", "vllm-svc")
        calls: list[str] = []

        def invoke(self, function_name, qualifier, body, headers, response_headers):
            event = json.loads(body)
            calls.append(event["Step"])
            rotation.lambda_handler(event, None, sm, ecs)
            return b""

        monkeypatch.setattr(LambdaBackend, "invoke", invoke)
        iam = boto3.client("iam", REGION)
        role = iam.create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.write(ROOT / "lambdas/api_key_rotation/index.py", "index.py")
        function = boto3.client("lambda", REGION).create_function(
            FunctionName="rotation", Runtime="python3.13", Role=role, Handler="index.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]  # fmt: skip
        yield {"sm": sm, "ecs": ecs, "cluster": cluster, "function": function, "calls": calls}


def deployment_id(aws) -> str:
    return aws["ecs"].describe_services(cluster=aws["cluster"], services=["vllm-svc"])["services"][0]["deployments"][0][
        "id"
    ]


def stage_value(sm, stage: str) -> str:
    return sm.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"]


def rotate(aws, **more):
    return aws["sm"].rotate_secret(
        SecretId=SECRET, RotationLambdaARN=aws["function"], RotationRules={"AutomaticallyAfterDays": 30}, **more
    )


def test_a_rotation_runs_the_four_steps_keeps_the_old_key_as_previous_and_redeploys(aws):
    sm = aws["sm"]
    sm.create_secret(Name=SECRET, SecretString=OLD_KEY)
    before = deployment_id(aws)
    token = rotate(aws)["VersionId"]
    assert aws["calls"] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    new = stage_value(sm, "AWSCURRENT")
    assert rotation.KEY_FORMAT.match(new) and new != OLD_KEY
    assert stage_value(sm, "AWSPREVIOUS") == OLD_KEY  # the grace period: tasks accept both
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    assert stages[token] == ["AWSCURRENT"]  # AWSPENDING removed: the next RotateSecret starts afresh
    assert deployment_id(aws) != before  # forceNewDeployment: every task restarts with both keys

    rotate(aws)  # the next rotation: the first new key becomes the previous one, OLD_KEY is gone
    assert stage_value(sm, "AWSPREVIOUS") == new
    assert OLD_KEY not in {stage_value(sm, "AWSCURRENT"), stage_value(sm, "AWSPREVIOUS")}


def test_create_keeps_a_pending_value_it_already_put_and_steps_after_finish_do_nothing(aws):
    sm = aws["sm"]
    sm.create_secret(Name=SECRET, SecretString=OLD_KEY)
    sm.put_secret_value(
        SecretId=SECRET, ClientRequestToken="t" * 32, SecretString="p" * 48, VersionStages=["AWSPENDING"]
    )
    sm.rotate_secret(SecretId=SECRET, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    sm.update_secret_version_stage(SecretId=SECRET, VersionStage="AWSPENDING", MoveToVersionId="t" * 32)
    event = {"SecretId": SECRET, "ClientRequestToken": "t" * 32}
    rotation.lambda_handler({**event, "Step": "createSecret"}, None, sm, aws["ecs"])
    assert sm.get_secret_value(SecretId=SECRET, VersionStage="AWSPENDING")["SecretString"] == "p" * 48
    rotation.lambda_handler({**event, "Step": "finishSecret"}, None, sm, aws["ecs"])
    assert stage_value(sm, "AWSCURRENT") == "p" * 48 and stage_value(sm, "AWSPREVIOUS") == OLD_KEY
    rotation.lambda_handler({**event, "Step": "createSecret"}, None, sm, aws["ecs"])  # already current: no-op
    assert stage_value(sm, "AWSCURRENT") == "p" * 48


@pytest.mark.parametrize(
    ("setup", "step", "error"),
    [
        ("not-enabled", "createSecret", "not enabled for rotation"),
        ("unknown-token", "createSecret", "has no stage for rotation"),
        ("not-pending", "createSecret", "is not AWSPENDING"),
        ("malformed", "testSecret", "not a 48-character URL-safe key"),
        ("repeat", "testSecret", "repeats the current key"),
        ("bad-step", "rotateSecret", "unknown rotation step"),
    ],
)
def test_the_function_refuses_what_the_rotation_protocol_forbids(aws, setup, step, error):
    sm = aws["sm"]
    sm.create_secret(Name=SECRET, SecretString=OLD_KEY)
    token, value = "t" * 32, {"malformed": "short key", "repeat": OLD_KEY}.get(setup, "p" * 48)
    if setup != "not-enabled":
        sm.rotate_secret(SecretId=SECRET, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    if setup != "unknown-token":
        stages = [] if setup == "not-pending" else ["AWSPENDING"]
        sm.put_secret_value(
            SecretId=SECRET, ClientRequestToken=token, SecretString=value, VersionStages=stages or ["X"]
        )
    with pytest.raises(ValueError, match=error):
        rotation.lambda_handler({"SecretId": SECRET, "ClientRequestToken": token, "Step": step}, None, sm, aws["ecs"])
    assert stage_value(sm, "AWSCURRENT") == OLD_KEY  # nothing moved


def test_a_failed_redeploy_fails_the_rotation_and_a_retried_finish_redeploys(aws, monkeypatch):
    sm = aws["sm"]
    sm.create_secret(Name=SECRET, SecretString=OLD_KEY)
    monkeypatch.setenv("SERVICE_NAME", "no-such-service")
    with pytest.raises(ClientError, match="ServiceNotFoundException"):
        rotate(aws)
    token = next(v for v, s in sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"].items() if "AWSCURRENT" in s)
    assert stage_value(sm, "AWSPREVIOUS") == OLD_KEY  # the key moved; the old one still opens every task
    monkeypatch.setenv("SERVICE_NAME", "vllm-svc")
    before = deployment_id(aws)
    event = {"SecretId": SECRET, "ClientRequestToken": token, "Step": "finishSecret"}
    rotation.lambda_handler(event, None, sm, aws["ecs"])  # Secrets Manager's retry of the failed step
    assert deployment_id(aws) != before


def test_the_first_rotation_of_an_empty_secret_labels_its_key_previous_too(aws):
    """A created secret is empty until the first rotation; tasks reference AWSCURRENT and AWSPREVIOUS. (moto
    labels the first value of an empty secret AWSCURRENT as well as AWSPENDING.)"""
    sm = aws["sm"]
    sm.create_secret(Name=SECRET)
    sm.rotate_secret(SecretId=SECRET, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    token = "t" * 32
    sm.put_secret_value(SecretId=SECRET, ClientRequestToken=token, SecretString="p" * 48, VersionStages=["AWSPENDING"])
    event = {"SecretId": SECRET, "ClientRequestToken": token}
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        rotation.lambda_handler({**event, "Step": step}, None, sm, aws["ecs"])
    assert stage_value(sm, "AWSCURRENT") == stage_value(sm, "AWSPREVIOUS") == "p" * 48
    assert sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"] == {token: ["AWSCURRENT", "AWSPREVIOUS"]}
