"""A fake Kubernetes API server good enough for kubectl and the official Python client.

Tests seed a FakeCluster, start it over HTTP, point clients at a generated kubeconfig, and
steer it (image behaviours, rollout delay, clock, injected faults) to exercise incident paths.
"""

from warroom_sandbox.fake_cluster.cluster import DEFAULT_USER, FakeCluster, RequestRecord
from warroom_sandbox.fake_cluster.faults import Fault
from warroom_sandbox.fake_cluster.harness import Harness, kubectl_path, running_cluster
from warroom_sandbox.fake_cluster.kubeconfig import DEFAULT_TOKEN, kubeconfig_dict, write_kubeconfig
from warroom_sandbox.fake_cluster.pods import BEHAVIOURS, CRASH_LOOP, IMAGE_PULL, NEVER_READY, READY
from warroom_sandbox.fake_cluster.server import RunningCluster, start_fake_cluster

__all__ = [
    "BEHAVIOURS",
    "CRASH_LOOP",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "IMAGE_PULL",
    "NEVER_READY",
    "READY",
    "FakeCluster",
    "Fault",
    "Harness",
    "RequestRecord",
    "RunningCluster",
    "kubeconfig_dict",
    "kubectl_path",
    "running_cluster",
    "start_fake_cluster",
    "write_kubeconfig",
]
