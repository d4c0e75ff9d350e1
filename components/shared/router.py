"""The tier router, platform-neutral (pure: no resources): one OpenAI endpoint in front of the tiers.

The router is the LiteLLM proxy. Everything it runs is generated here from typed arguments (the stack
config, translated by stacks/ecs.py; an EKS builder passes the same RouterSpec with in-cluster Service
URLs as `api_base`):
  - config.yaml: one model group per tier (the tier's served model name), `auto` as an alias of the
    default tier, fallbacks between groups, the hook below as a callback;
  - DEEPSEEK_ROUTING (JSON): the ordered rules the hook applies (components/shared/deepseek_router.py);
  - the container command: a few lines of Python that write both files into a writable directory and
    exec the proxy, so the image stays the published one (pinned by digest) on a read-only root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from components.shared.validation import ArgsProblems

# LiteLLM proxy v1.103.0, by digest: the index digest of ghcr.io/berriai/litellm:v1.103.0 as pinned by several
# public deployments read 2026-12-01 (e.g. a docker-compose/Bicep pair "fetched 2026-09-29", and a benchmark
# record of the same digest reporting "LiteLLM package 1.103.0", image revision c991f4b0). Not re-resolved here
# (no registry access); requirements-router.txt pins the same release for the local test. 1.82.7/1.82.8 were the
# compromised PyPI releases (BerriAI/litellm#24518; the proxy image was not affected).
IMAGE = "ghcr.io/berriai/litellm:v1.103.0@sha256:bd089afdcd35b894b14a93f9743cdc8b591f82da1a38dd43a010a7b0c9de5fd7"
VERSION = "1.103.0"
PORT = 4000  # the proxy's default port
# Unauthenticated liveness ("USE /health/liveliness to health check the proxy", litellm/proxy/health_endpoints);
# /health itself needs the key and calls every model.
HEALTH_PATH = "/health/liveliness"
ROUTER_MODEL = "auto"  # the model name that lets the router pick
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text ("1 token ~= 4 chars"), the hook's estimate
WORK_DIR = "/tmp/router"  # the writable directory config.yaml and the hook are written into
HOOK_MODULE = "deepseek_router"
HOOK_SOURCE = Path(__file__).with_name(f"{HOOK_MODULE}.py")
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"  # clients' bearer key (the stack's API key secret)
ROUTING_ENV = "DEEPSEEK_ROUTING"
CONFIG_ENV = "DEEPSEEK_ROUTER_CONFIG"
HOOK_ENV = "DEEPSEEK_ROUTER_HOOK"
KEEP_ALIVE_ENV = "KEEPALIVE_TIMEOUT"
# {ENV: file}: secrets mounted as files (EKS: the Secrets Store CSI driver) become the environment variables the
# config names before the proxy starts, the EKS vLLM wrapper's `export X="$(cat file)"` without a shell
# (the image has none to rely on). Unset on ECS, where the agent injects the secrets as variables.
SECRET_FILES_ENV = "DEEPSEEK_ROUTER_SECRET_FILES"
# Reads the secret files (if any), writes the two files and becomes the proxy: the image's Python, no shell.
BOOTSTRAP = (
    "import os,pathlib,json;"
    "[os.environ.__setitem__(k,pathlib.Path(f).read_text().rstrip(chr(10))) for k,f in "
    f"json.loads(os.environ.get('{SECRET_FILES_ENV}','{{}}')).items()];"
    f"d=pathlib.Path(os.environ.get('DEEPSEEK_ROUTER_DIR','{WORK_DIR}'));d.mkdir(parents=True,exist_ok=True);"
    f"(d/'config.yaml').write_text(os.environ['{CONFIG_ENV}']);"
    f"(d/'{HOOK_MODULE}.py').write_text(os.environ['{HOOK_ENV}']);"
    "os.execvp('litellm',['litellm','--config',str(d/'config.yaml'),'--host','0.0.0.0',"
    "'--port',os.environ.get('DEEPSEEK_ROUTER_PORT','" + str(PORT) + "')])"
)


@dataclass(frozen=True)
class RouterTier:
    name: str  # the tier's config name (header values, metrics)
    served_model_name: str  # the OpenAI `model` that names it (vLLM --served-model-name)
    api_base: str  # e.g. http://internal-alb/v1 (ECS) or http://svc.ns:8000/v1 (EKS)
    api_key_env: str  # environment variable holding the tier's vLLM API key


@dataclass(frozen=True)
class RouteRule:
    match: Literal["model", "header", "promptTokens"]
    header: str = ""  # header: the header whose value names a tier
    max_prompt_tokens: int = 0  # promptTokens: estimated prompt tokens at most this
    tier: str = ""  # promptTokens: the tier it sends to


@dataclass(frozen=True)
class RouterSpec:
    default_tier: str
    tiers: tuple[RouterTier, ...]  # the default tier included
    rules: tuple[RouteRule, ...] = ()
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # tier -> tiers tried next, in order
    router_model: str = ROUTER_MODEL
    request_timeout_seconds: int = 600  # a long reasoning answer; the ALB idle timeout bounds it too
    num_retries: int = 1  # same tier once more before its fallbacks
    allowed_fails: int = 1  # failures a minute before a tier's deployment cools down
    cooldown_seconds: int = 30
    # The proxy's HTTP keep-alive (uvicorn timeout_keep_alive, 5 s by default): above the idle timeout of the
    # load balancer in front, or the ALB reuses connections the proxy already closed (502s; ELB user guide,
    # "Connection idle timeout"). 0 = uvicorn's default.
    keep_alive_seconds: int = 0


def spec_problems(spec: RouterSpec) -> ArgsProblems:
    problems = ArgsProblems("RouterSpec")
    names = [t.name for t in spec.tiers]
    problems.check(spec.default_tier in names, "defaultTier", "must name one of the tiers")
    problems.check(len(set(names)) == len(names), "tiers", "names must be distinct")
    served = [t.served_model_name for t in spec.tiers]
    problems.check(len(set(served)) == len(served), "tiers", "served model names must be distinct")
    problems.check(spec.router_model not in served, "routerModel", "must not be a tier's model name")
    for i, rule in enumerate(spec.rules):
        if rule.match == "header":
            problems.check(bool(rule.header), f"rules[{i}].header", "is required for a header rule")
        if rule.match == "promptTokens":
            problems.check(rule.tier in names, f"rules[{i}].tier", "must name one of the tiers")
            problems.check(rule.max_prompt_tokens > 0, f"rules[{i}].maxPromptTokens", "must be above 0")
    for tier, chain in spec.fallbacks.items():
        problems.check(tier in names and all(t in names and t != tier for t in chain), "fallbacks", "unknown tier")
    return problems


def litellm_config(spec: RouterSpec) -> dict[str, Any]:
    """The proxy's config.yaml (as a dict)."""
    spec_problems(spec).raise_if_any()
    by_name = {t.name: t for t in spec.tiers}
    default = by_name[spec.default_tier]
    return {
        "model_list": [
            {
                "model_name": t.served_model_name,
                "litellm_params": {
                    # LiteLLM's provider for vLLM's OpenAI-compatible server (docs.litellm.ai/docs/providers/vllm)
                    "model": f"hosted_vllm/{t.served_model_name}",
                    "api_base": t.api_base,
                    "api_key": f"os.environ/{t.api_key_env}",
                    "timeout": spec.request_timeout_seconds,
                    "stream_timeout": spec.request_timeout_seconds,
                },
                "model_info": {"id": f"tier-{t.name}"},
            }
            for t in spec.tiers
        ],
        "router_settings": {
            "model_group_alias": {spec.router_model: default.served_model_name},
            "fallbacks": [
                {by_name[tier].served_model_name: [by_name[t].served_model_name for t in chain]}
                for tier, chain in spec.fallbacks.items()
                if chain
            ],
            "num_retries": spec.num_retries,
            "allowed_fails": spec.allowed_fails,
            "cooldown_time": spec.cooldown_seconds,
            "timeout": spec.request_timeout_seconds,
        },
        "litellm_settings": {
            "callbacks": f"{HOOK_MODULE}.handler",
            "drop_params": False,
            "request_timeout": spec.request_timeout_seconds,
            "telemetry": False,
        },
        "general_settings": {"master_key": f"os.environ/{MASTER_KEY_ENV}"},
    }


def routing_document(spec: RouterSpec) -> dict[str, Any]:
    """What the hook reads from DEEPSEEK_ROUTING."""
    return {
        "defaultTier": spec.default_tier,
        "routerModel": spec.router_model,
        "charsPerToken": CHARS_PER_TOKEN,
        "tiers": {t.name: {"model": t.served_model_name} for t in spec.tiers},
        "rules": [
            {"match": r.match}
            | ({"header": r.header} if r.match == "header" else {})
            | ({"maxPromptTokens": r.max_prompt_tokens, "tier": r.tier} if r.match == "promptTokens" else {})
            for r in spec.rules
        ],
    }


def config_yaml(spec: RouterSpec) -> str:
    header = "# Generated by components/shared/router.py from the stack config (deepseek-cloud:tiers). Do not edit.\n"
    return header + yaml.safe_dump(litellm_config(spec), sort_keys=False)


def hook_source() -> str:
    return HOOK_SOURCE.read_text()


def command() -> list[str]:
    """The container command (entry point overridden): write the files, exec the proxy."""
    return ["python3", "-c", BOOTSTRAP]


def environment(spec: RouterSpec) -> dict[str, str]:
    """The router's plain environment (the keys come as secrets: MASTER_KEY_ENV and each api_key_env)."""
    return {
        CONFIG_ENV: config_yaml(spec),
        HOOK_ENV: hook_source(),
        ROUTING_ENV: json.dumps(routing_document(spec), separators=(",", ":")),
        # The bundled model price map instead of a download from GitHub at every start (LiteLLM docs,
        # "Use local model cost map"); the router needs no internet.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "HOME": "/tmp",
        # `litellm --keepalive_timeout`, read from KEEPALIVE_TIMEOUT (click envvar; litellm/proxy/proxy_cli.py
        # in litellm 1.103.0, passed to uvicorn as timeout_keep_alive).
        **({KEEP_ALIVE_ENV: str(spec.keep_alive_seconds)} if spec.keep_alive_seconds else {}),
    }
