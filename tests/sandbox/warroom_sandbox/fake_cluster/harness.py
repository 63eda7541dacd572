"""Test harness: a running fake cluster with a kubeconfig, a kubectl runner and a client."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warroom_sandbox.fake_cluster.cluster import FakeCluster
from warroom_sandbox.fake_cluster.kubeconfig import write_kubeconfig
from warroom_sandbox.fake_cluster.server import RunningCluster, start_fake_cluster

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


def kubectl_path() -> str | None:
    return shutil.which("kubectl")


@dataclass
class Harness:
    cluster: FakeCluster
    running: RunningCluster
    kubeconfig: Path
    cache_dir: Path

    @property
    def url(self) -> str:
        return self.running.url

    def kubectl(
        self, *args: str, check: bool = False, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Real kubectl against this cluster; its discovery cache stays in cache_dir."""
        return subprocess.run(
            self._argv(args),
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def spawn_kubectl(self, *args: str) -> subprocess.Popen[str]:
        """For commands that wait (rollout status) while the test moves the cluster on."""
        return subprocess.Popen(
            self._argv(args),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        binary = kubectl_path()
        if binary is None:
            raise RuntimeError("kubectl is not installed")
        return [binary, *args]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "KUBECACHEDIR": str(self.cache_dir),
            "HOME": str(self.cache_dir),
        }

    def api_client(self) -> ApiClient:
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return client.ApiClient(configuration)


@contextmanager
def running_cluster(
    workdir: Path, cluster: FakeCluster | None = None, *, namespace: str = "default"
) -> Iterator[Harness]:
    cluster = cluster or FakeCluster()
    running = start_fake_cluster(cluster)
    try:
        kubeconfig = write_kubeconfig(
            workdir / f"kubeconfig-{running.port}", running.url, namespace=namespace
        )
        cache = workdir / "kube-cache"
        cache.mkdir(parents=True, exist_ok=True)
        yield Harness(cluster, running, kubeconfig, cache)
    finally:
        running.stop()
