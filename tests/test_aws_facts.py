"""The instance-type lookup: only EC2's not-found answer (InvalidInstanceType) reads as "unknown type";
any other failure of the lookup is reported as what it is, in one line, before anything is declared."""

from __future__ import annotations

import pytest
from pulumi.runtime import settings

from offline import mocks, plan
from offline.harness import run_program
from stacks.aws_facts import AwsLookupError
from stacks.errors import ConfigError

TOKEN = "aws:ec2/getInstanceType:getInstanceType"
# How the provider words SDK failures of DescribeInstanceTypes ("reading EC2 Instance Type (<name>): <err>",
# terraform-provider-aws internal/service/ec2; e.g. "UnauthorizedOperation: You are not authorized ...").
EXPIRED = (
    "reading EC2 Instance Type ({name}): operation error EC2: DescribeInstanceTypes, https response error "
    "StatusCode: 400, RequestID: 5e1c0d2a, api error ExpiredToken: The security token included in the request "
    "is expired"
)
THROTTLED = (
    "reading EC2 Instance Type ({name}): operation error EC2: DescribeInstanceTypes, exceeded maximum number "
    "of attempts, 25, https response error StatusCode: 503, RequestID: 9a7f, api error RequestLimitExceeded: "
    "Request limit exceeded."
)


def _failing_with(template: str):
    def answer(self, a: dict) -> dict:
        raise LookupError(template.format(name=a["instanceType"]))

    return answer


@pytest.mark.parametrize(("template", "code"), [(EXPIRED, "ExpiredToken"), (THROTTLED, "RequestLimitExceeded")])
def test_a_failed_lookup_is_not_an_unknown_type(monkeypatch, template, code):
    monkeypatch.setitem(mocks._CALLS, TOKEN, _failing_with(template))
    with pytest.raises(AwsLookupError) as caught:
        run_program("dev")
    message = str(caught.value)
    assert not isinstance(caught.value, ConfigError)
    assert message.startswith("aws: could not look up EC2 instance type g6e.xlarge: reading EC2 Instance Type")
    assert f"api error {code}" in message
    assert "\n" not in message and "did you mean" not in message and "unknown instance type" not in message
    assert [r for r in settings.SETTINGS.monitor.registrations if r.custom] == []


def test_make_plan_prints_the_failure_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(mocks._CALLS, TOKEN, _failing_with(EXPIRED))
    assert plan.main(["--stack", "dev"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("aws: could not look up EC2 instance type g6e.xlarge: ")
    assert "ExpiredToken: The security token included in the request is expired" in line


def test_not_found_is_still_an_unknown_type_with_a_suggestion():
    with pytest.raises(ConfigError) as caught:
        run_program("dev", overrides={"deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarg"]})
    assert [str(p) for p in caught.value.problems] == [
        "deepseek-cloud:gpuPool.instanceTypes[0]: unknown instance type (got g6e.xlarg; allowed: an EC2 instance "
        "type with an NVIDIA GPU); did you mean 'g6e.xlarge'?"
    ]
