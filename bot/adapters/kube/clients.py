"""One Kubernetes API client per cluster, made on first use and closed at shutdown.

A cluster is a catalog entry (a kubeconfig context or the pod's service account) or None, the
kubeconfig's current context. Tests and the sandbox point every cluster at a fake API server
with `use()`/`use_for()`: the same code path, another address.
"""

from __future__ import annotations

import inspect
from typing import Any

from bot.adapters.catalog.model import Cluster
from bot.adapters.kube import load_api_client


class KubeClients:
    def __init__(self, kubeconfig: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self._all: Any = None  # one client for every cluster (sandbox, tests)
        self._given: dict[str | None, Any] = {}
        self._made: dict[str | None, Any] = {}

    def use(self, api: Any) -> None:
        """Every cluster talks to `api` (None: back to the kubeconfig)."""
        self._all = api

    def use_for(self, cluster: str | None, api: Any) -> None:
        self._given[cluster] = api

    @property
    def injected(self) -> bool:
        return self._all is not None or bool(self._given)

    def get(self, cluster: str | None, entry: Cluster | None = None) -> Any:
        """The client for `cluster`; `entry` is its catalog definition (None: the current
        context of the kubeconfig)."""
        if cluster in self._given:
            return self._given[cluster]
        if self._all is not None:
            return self._all
        if cluster not in self._made:
            if entry is None:
                self._made[cluster] = load_api_client(kubeconfig=self.kubeconfig)
            else:
                self._made[cluster] = load_api_client(
                    context=entry.kubeconfig_context,
                    kubeconfig=self.kubeconfig,
                    in_cluster=entry.in_cluster,
                )
        return self._made[cluster]

    async def close(self) -> None:
        """Close the clients this object made (aiohttp sessions); injected ones are the
        caller's."""
        made, self._made = self._made, {}
        for api in made.values():
            close = getattr(api, "close", None)
            if close is not None:
                result = close()
                if inspect.isawaitable(result):
                    await result
