"""The tier router's hook, loaded by the LiteLLM proxy (pinned in components/shared/router.py).

Not imported by the Pulumi program: components/shared/router.py ships this file's text next to the generated
config.yaml (`callbacks: deepseek_router.handler`; LiteLLM resolves the module relative to the config file,
litellm/proxy/types_utils/utils.py get_instance_fn). The routing rules are data, generated from the stack
config into the DEEPSEEK_ROUTING environment variable (JSON), so this file never changes per stack.

LiteLLM routes on the OpenAI `model` field only (a model group per tier, with fallbacks between groups). The
header and prompt-length rules need a look at the request before the router picks a group: a proxy
`async_pre_call_hook` may return the request with another `model` (litellm/integrations/custom_logger.py;
the proxy calls it before `route_request`, litellm/proxy/common_request_processing.py, v1.103.0).

Every request that reaches a tier (and every failed attempt) prints one JSON line on stdout,
`{"event": "deepseek.route", "tier": ..., "routedTier": ..., "fallback": ..., "latencyMs": ..., "ok": ...}`:
the CloudWatch metric filters turn those into per-tier request counts, latency and fallbacks.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

ROUTING = json.loads(os.environ.get("DEEPSEEK_ROUTING") or "{}")
EVENT = "deepseek.route"


def _text_chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...] or prompt lists
        return sum(_text_chars(part.get("text", "") if isinstance(part, dict) else part) for part in content)
    return 0


def estimate_prompt_tokens(data: dict) -> int:
    """Prompt tokens estimated from characters (no tokenizer on the request path)."""
    chars = sum(_text_chars(m.get("content")) for m in data.get("messages") or [] if isinstance(m, dict))
    chars += _text_chars(data.get("prompt"))
    return math.ceil(chars / ROUTING.get("charsPerToken", 4))


def choose_tier(data: dict, headers: dict[str, str]) -> tuple[str | None, str]:
    """(tier, rule that chose it): the first rule that matches, in order; (None, "") when none does."""
    by_model = {t["model"]: name for name, t in ROUTING.get("tiers", {}).items()}
    model = data.get("model")
    for rule in ROUTING.get("rules", []):
        kind = rule["match"]
        if kind == "model" and model in by_model:
            return by_model[model], "model"
        if kind == "header":
            wanted = headers.get(rule["header"].lower(), "").strip()
            if wanted in ROUTING["tiers"]:
                return wanted, "header"
        if kind == "promptTokens" and estimate_prompt_tokens(data) <= rule["maxPromptTokens"]:
            return rule["tier"], "promptTokens"
    return None, ""


class DeepseekRouter(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type) -> dict:
        request = data.get("proxy_server_request") or {}
        headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
        tier, rule = choose_tier(data, headers)
        if tier is None and data.get("model") == ROUTING.get("routerModel"):
            tier, rule = ROUTING["defaultTier"], "default"
        if tier is not None:
            data["model"] = ROUTING["tiers"][tier]["model"]
            metadata = data.setdefault("metadata", {})
            metadata["deepseek_tier"], metadata["deepseek_rule"] = tier, rule
        return data

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time) -> None:
        _emit(kwargs, start_time, end_time, ok=True)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time) -> None:
        _emit(kwargs, start_time, end_time, ok=False)


def _served_tier(kwargs: dict) -> str | None:
    params = kwargs.get("litellm_params") or {}
    metadata = params.get("metadata") or {}
    group = metadata.get("model_group") or kwargs.get("model")
    by_model = {t["model"]: name for name, t in ROUTING.get("tiers", {}).items()}
    return by_model.get(group) or by_model.get(str(kwargs.get("model", "")).split("/", 1)[-1])


def _emit(kwargs: dict, start_time, end_time, ok: bool) -> None:
    metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    tier = _served_tier(kwargs)
    routed = metadata.get("deepseek_tier") or tier
    try:
        latency_ms = round((end_time - start_time).total_seconds() * 1000, 1)
    except (AttributeError, TypeError):
        latency_ms = None
    line = {
        "event": EVENT,
        "tier": tier,
        "routedTier": routed,
        "rule": metadata.get("deepseek_rule", ""),
        "fallback": bool(tier and routed and tier != routed),
        "ok": ok,
        "latencyMs": latency_ms,
        "stream": bool(kwargs.get("stream")),
    }
    print(json.dumps(line), file=sys.stdout, flush=True)


handler = DeepseekRouter()
