"""Kubeconfig files pointing kubectl or the Python client at a fake cluster."""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_TOKEN = "fake-token"


def kubeconfig_dict(
    url: str, context: str = "fake", namespace: str = "default", token: str = DEFAULT_TOKEN
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace},
            }
        ],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(
    path: str | Path,
    url: str,
    context: str = "fake",
    namespace: str = "default",
    token: str = DEFAULT_TOKEN,
) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(kubeconfig_dict(url, context, namespace, token)))
    target.chmod(0o600)
    return target
