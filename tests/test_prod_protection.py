"""Prod's stateful resources (the stack key, the access-log bucket, the log group, the created secrets) are
protected and retained on delete; dev's are neither, so a dev stack can be torn down and re-created."""

from __future__ import annotations

import pytest

from offline.harness import ProgramRun, shared_run

STATEFUL = (
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:secretsmanager/secret:Secret",
)


def _stateful(run: ProgramRun) -> dict[str, list]:
    found = {t: run.of_type(t) for t in STATEFUL}
    assert all(found.values()), {t: len(r) for t, r in found.items()}
    assert len(found["aws:secretsmanager/secret:Secret"]) == 2  # API key and HF token, both created
    return found


@pytest.mark.parametrize(("stack", "expected"), [("prod", True), ("dev", False)])
def test_stateful_resources_are_protected_and_retained_only_in_prod(stack, expected):
    for type_, registrations in _stateful(shared_run(stack)).items():
        for r in registrations:
            assert r.protect is expected, (type_, r.name)
            assert r.retain_on_delete is expected, (type_, r.name)


def test_protection_stays_on_the_stateful_resources():
    run = shared_run("prod")
    stateful = {r.urn for rs in _stateful(run).values() for r in rs}
    protected = {r.urn for r in run.registrations if r.protect}
    assert protected == stateful
