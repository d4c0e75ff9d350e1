"""Which pulumi-aws resource types accept `tags`, derived from the installed pulumi-aws Python SDK.

Importing `pulumi_aws` registers every resource module with the Pulumi runtime (type token -> module
and class); that index is read at import time. Whether a class accepts `tags` is then decided by
introspecting its `_internal_init` signature (the real constructor behind the `@overload`ed
`__init__`), or the overloads themselves. Importing all ~250 service modules to pre-compute the full
list takes ~20 s, far too slow for a policy pack the engine boots on every preview, so each type is
introspected on first use and cached (one service-module import, well under a second).
`taggable_types()` computes the full list for tooling.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing

_PKG = "aws"


def _registry() -> dict[str, tuple[str, str]]:
    """type token -> (python module, class name), from pulumi-aws's resource-module registrations."""
    try:
        importlib.import_module("pulumi_aws")
        from pulumi.runtime import rpc
    except ImportError:  # pulumi-aws not installed: callers fall back to "props contain tags"
        return {}
    index: dict[str, tuple[str, str]] = {}
    for key, modules in list(getattr(rpc, "_RESOURCE_MODULES", {}).items()):
        if not key.startswith(f"{_PKG}:"):
            continue
        for module in modules:
            info = getattr(module, "mod_info", None)
            if isinstance(info, dict):
                for token, cls in info.get("classes", {}).items():
                    index[token] = (info["fqn"], cls)
    return index


def _lookup(token: str) -> tuple[str, str] | None:
    hit = _REGISTRY.get(token)
    if hit is not None:
        return hit
    # Fall back to the public lookup (e.g. if the private registry layout changes).
    try:
        from pulumi.runtime import rpc

        pkg, mod, _name = token.split(":")
        module = rpc.get_resource_module(pkg, mod, "")
    except (ImportError, ValueError):
        return None
    info = getattr(module, "mod_info", None)
    if isinstance(info, dict) and token in info.get("classes", {}):
        return info["fqn"], info["classes"][token]
    return None


def _accepts_tags(cls: type) -> bool:
    init = getattr(cls, "_internal_init", None)
    if init is not None:
        return "tags" in inspect.signature(init).parameters
    for overload in typing.get_overloads(cls.__init__):
        if "tags" in inspect.signature(overload).parameters:
            return True
    return "tags" in inspect.signature(cls.__init__).parameters


@functools.cache
def sdk_accepts_tags(token: str) -> bool | None:
    """True/False for a known pulumi-aws type token, None when the SDK does not know the type."""
    found = _lookup(token)
    if found is None:
        return None
    fqn, cls_name = found
    try:
        cls = getattr(importlib.import_module(fqn), cls_name)
    except (ImportError, AttributeError):
        return None
    return _accepts_tags(cls)


def taggable_types() -> list[str]:
    """Every pulumi-aws type token whose resource class accepts `tags` (slow: imports all modules)."""
    return sorted(t for t in _REGISTRY if sdk_accepts_tags(t))


def known_types() -> int:
    return len(_REGISTRY)


_REGISTRY = _registry()
