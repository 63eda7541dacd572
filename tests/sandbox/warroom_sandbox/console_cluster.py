"""The sandbox's Kubernetes: the fake API server with two deployments that each have a
previous revision, so `/incident rollback api` and `scale` have something real to do."""

from __future__ import annotations

from bot.adapters.catalog.model import Catalog
from bot.adapters.catalog.store import CatalogStore
from bot.adapters.kube import apply_set_image, load_api_client, plan_set_image
from warroom_sandbox.console_alerts import with_alerts
from warroom_sandbox.fake_cluster import FakeCluster, start_fake_cluster, write_kubeconfig
from warroom_sandbox.fake_cluster.server import RunningCluster
from warroom_sandbox.testbed import Testbed

DEPLOYMENTS = {"api": ("registry.local/api", 3), "checkout": ("registry.local/checkout", 2)}


def attach_fake_cluster(bed: Testbed) -> RunningCluster:
    """Point warroom at a fresh fake cluster; the caller stops what this returns."""
    cluster = FakeCluster()
    for name, (image, replicas) in DEPLOYMENTS.items():
        cluster.create_deployment("default", name, f"{image}:v1", replicas=replicas)
    running = start_fake_cluster(cluster)
    kubeconfig = write_kubeconfig(bed.data_dir / "kubeconfig", running.url)
    api = load_api_client(kubeconfig=str(kubeconfig))
    for name, (image, _) in DEPLOYMENTS.items():
        apply_set_image(api, plan_set_image(api, "default", name, f"{image}:v2"))
    # Pods take a second to become ready from now on, as in a real cluster: a rollback's
    # progress is then edited in place a few times before its verdict, as a person would see.
    cluster.rollout_delay = 1.0
    bed.services.kube.use(api)
    # A catalog, so Run checks, the modals and `/incident check` have services to show; the
    # sandbox's own /healthz stands in for each service's health URL.
    bed.services.catalog = CatalogStore.of(
        Catalog.model_validate(
            with_alerts(
                bed,
                {
                    "services": [
                        {
                            "name": name,
                            "health_url": f"{bed.url}/healthz",
                            "kubernetes": {"namespace": "default", "deployment": name},
                        }
                        for name in DEPLOYMENTS
                    ]
                },
            )
        )
    )
    return running
