"""A catalog broken while warroom runs fails closed: a real `warroom serve` gets SIGHUP after
its catalog file was overwritten with broken YAML, and over signed Slack requests the
allow-list, the target and the cluster stay those of the last good catalog, while /healthz
says the catalog is stale. Fixing the file clears it."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from warroom_sandbox.fake_cluster import FakeCluster, kubeconfig_dict, start_fake_cluster
from warroom_sandbox.fake_cluster.resources import DEPLOYMENTS
from warroom_sandbox.fake_cluster.server import RunningCluster
from warroom_sandbox.slack_driver import SlackDriver
from warroom_sandbox.testbed import SIGNING_SECRET, Replica, Testbed

from tests.e2e.test_declare import setup_finished
from tests.reliability.world import free_port

NS = "prod"


def image(cluster: FakeCluster) -> str:
    return cluster.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"]


def set_image(cluster: FakeCluster, value: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": value}]}}}}
    cluster.api.patch(DEPLOYMENTS, NS, "api", "application/strategic-merge-patch+json", patch)


def good_catalog(health_url: str, rollback_users: list[str]) -> str:
    return yaml.safe_dump(
        {
            "clusters": [{"name": "east"}],
            "services": [
                {
                    "name": "api",
                    "health_url": health_url,
                    "kubernetes": {"context": "east", "namespace": NS, "deployment": "api"},
                }
            ],
            "operations": {"allow": {"rollback": {"users": rollback_users}}},
        },
        sort_keys=False,
    )


@dataclass
class Running:
    replica: Replica
    driver: SlackDriver
    catalog: Path
    east: FakeCluster  # the catalog's cluster
    stray: FakeCluster  # the kubeconfig's current context: where a lost catalog would lead

    def health(self) -> dict[str, Any]:
        resp = httpx.get(self.replica.url + "/healthz", timeout=10)
        assert resp.status_code == 200, resp.text  # a stale catalog is no reason to restart
        return resp.json()

    def hang_up(self) -> None:
        self.replica.proc.send_signal(signal.SIGHUP)

    def log(self) -> str:
        return self.replica.log_path.read_text(errors="replace")


@pytest.fixture
def running(bed: Testbed, tmp_path: Path) -> Iterator[Running]:
    fakes = {"east": FakeCluster(), "stray": FakeCluster()}
    servers: list[RunningCluster] = []
    kubeconfig: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for name, fake in fakes.items():
        fake.rollout_delay = 0.0
        servers.append(start_fake_cluster(fake))
        one = kubeconfig_dict(servers[-1].url, context=name, namespace=NS)
        for key in ("clusters", "users", "contexts"):
            kubeconfig.setdefault(key, []).extend(one[key])
        fake.create_deployment(NS, "api", "img:v1")
        set_image(fake, "img:v2")
    kubeconfig["current-context"] = "stray"
    kubeconfig_path = tmp_path / "kubeconfig"
    kubeconfig_path.write_text(yaml.safe_dump(kubeconfig))
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(good_catalog(f"{bed.url}/healthz", [bed.people["bob"]]))
    replica = bed.spawn_replica(
        free_port(),
        {"CATALOG_FILE": str(catalog), "KUBECONFIG": str(kubeconfig_path)},
        log_file=tmp_path / "replica.log",
    )
    driver = SlackDriver(replica.url + "/slack/events", SIGNING_SECRET, emulator=bed.emulator)
    try:
        yield Running(replica, driver, catalog, fakes["east"], fakes["stray"])
    finally:
        replica.stop()
        for server in servers:
            server.stop()


def texts(bed: Testbed) -> str:
    return "\n".join(r.body.get("text") or "" for r in bed.emulator.responses())


def confirm_value(bed: Testbed) -> str:
    def find() -> str | None:
        for r in reversed(bed.emulator.responses()):
            for block in r.body.get("blocks") or []:
                for el in block.get("elements") or []:
                    if el.get("action_id") == "ops_confirm":
                        return el["value"]
        return None

    return bed.wait_for(find, timeout=20)


def timeline(bed: Testbed, kind: str) -> list[dict[str, Any]]:
    return bed.rows("SELECT * FROM timeline_events WHERE kind = :k ORDER BY id", k=kind)


def wait_catalog(run: Running, status: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        check = run.health()["checks"].get("catalog") or {}
        if check.get("status") == status:
            return check
        if time.monotonic() > deadline:
            raise AssertionError(f"catalog never {status}: {check}")
        time.sleep(0.1)


def test_a_catalog_broken_at_runtime_keeps_the_last_good_policy(
    bed: Testbed, running: Running
) -> None:
    alice, bob = bed.people["alice"], bed.people["bob"]
    assert wait_catalog(running, "healthy")["services"] == 1

    running.driver.command("declare SEV2 api is down", user_id=alice, channel_id="C0GEN")
    channel = bed.wait_for(lambda: setup_finished(bed), timeout=20)["channel_id"]

    # Someone tries to add alice to the allow-list and leaves the bracket open (line 14).
    broken = good_catalog(f"{bed.url}/healthz", [bob]).replace(f"- {bob}", f"- [{bob}, {alice}")
    assert broken.splitlines()[13].endswith(f"[{bob}, {alice}")
    running.catalog.write_text(broken)
    running.hang_up()
    stale = wait_catalog(running, "stale")
    # YAML notices at the end of the file (line 15) and says where the bracket was opened.
    assert stale["error"].startswith(f"{running.catalog}:15: invalid YAML"), stale
    assert "on line 14" in stale["error"]
    assert "SIGHUP" in running.log() and "catalog reload refused" in running.log()

    # The commander is outside the (last good) allow-list: refused, nothing changes anywhere.
    running.driver.command("rollback api", user_id=alice, channel_id=channel)
    value = confirm_value(bed)
    running.driver.block_action("ops_confirm", value=value, user_id=alice, channel_id=channel)
    denied = bed.wait_for(lambda: timeline(bed, "denied") or None, timeout=20)
    assert [d["actor"] for d in denied] == [alice]
    assert image(running.east) == "img:v2" and image(running.stray) == "img:v2"

    # The one allowed user still may, and the rollback lands in the catalog's cluster only.
    running.driver.block_action("ops_confirm", value=value, user_id=bob, channel_id=channel)
    done = bed.wait_for(lambda: timeline(bed, "action") or None, timeout=20)[0]
    assert done["actor"] == bob and done["data"]["outcome"] == "succeeded"
    assert f"{NS}/api" in str(done["data"])
    assert image(running.east) == "img:v1"
    assert image(running.stray) == "img:v2"
    assert not [r for r in running.stray.requests if r.method == "PATCH"]

    # Fixed (alice added properly): the new catalog takes effect and stale clears.
    running.catalog.write_text(good_catalog(f"{bed.url}/healthz", [bob, alice]))
    running.hang_up()
    assert wait_catalog(running, "healthy")["services"] == 1
    assert "error" not in running.health()["checks"]["catalog"]
