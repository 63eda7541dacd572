"""Catalog loading: good files parse, bad files name the exact file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import Catalog, CatalogError

GOOD_YAML = """\
clusters:
  - name: prod
    context: prod-eks
  - name: ops
    in_cluster: true

services:
  - name: api
    health_url: http://api.internal/health
    kubernetes:
      context: prod
      namespace: shop
      deployment: api
      container: app
    aws:
      region: eu-west-1
      rds_instance: shop-db
      elasticache_cluster: shop-cache
      alarm_prefixes: [api-, shop-]
    postgres_url: postgresql://app:secret@db.internal/shop
    redis_url: redis://cache.internal:6379/0
  - name: web
    health_url: https://web.internal/healthz
"""

GOOD_TOML = """\
[[clusters]]
name = "prod"
context = "prod-eks"

[[services]]
name = "api"
health_url = "http://api.internal/health"
postgres_url = "postgresql://app:secret@db.internal/shop"

[services.kubernetes]
namespace = "shop"
deployment = "api"

[services.aws]
region = "eu-west-1"
rds_instance = "shop-db"
alarm_prefixes = ["api-"]

[[services]]
name = "web"
health_url = "https://web.internal/healthz"
redis_url = "unix:///run/redis.sock"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return str(caught.value)


def test_good_yaml(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.yml", GOOD_YAML))
    assert isinstance(catalog, Catalog)
    assert catalog.names == ["api", "web"]
    api = catalog.get("api")
    assert api.kubernetes is not None and api.kubernetes.namespace == "shop"
    assert api.kubernetes.context == "prod"
    assert api.aws is not None and api.aws.alarm_prefixes == ["api-", "shop-"]
    assert api.redis_url == "redis://cache.internal:6379/0"
    web = catalog.get("web")
    assert web.kubernetes is None and web.aws is None and web.postgres_url is None
    assert catalog.cluster("prod").kubeconfig_context == "prod-eks"
    assert catalog.cluster("ops").in_cluster and catalog.cluster("ops").kubeconfig_context is None


def test_good_toml_fills_the_only_cluster(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.toml", GOOD_TOML))
    assert catalog.names == ["api", "web"]
    api = catalog.get("api")
    assert api.kubernetes is not None and api.kubernetes.context == "prod"
    assert api.aws is not None and api.aws.rds_instance == "shop-db"
    assert catalog.get("web").redis_url == "unix:///run/redis.sock"


def test_select_keeps_catalog_order_and_rejects_unknown(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.yml", GOOD_YAML))
    assert [s.name for s in catalog.select(["web", "api"])] == ["api", "web"]
    assert [s.name for s in catalog.select(None)] == ["api", "web"]
    with pytest.raises(KeyError, match="nope"):
        catalog.select(["api", "nope"])


# --- YAML errors -------------------------------------------------------------------------


def test_yaml_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
          - name: web
            health_url: http://web/health
            kubernetes:
              deployment: web
        """,
    )
    assert error_of(path) == f"{path}:6: services[1].kubernetes.namespace: field required"


def test_yaml_wrong_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
            aws:
              region: eu-west-1
              alarm_prefixes: api-
        """,
    )
    assert error_of(path) == (
        f"{path}:6: services[0].aws.alarm_prefixes: input should be a valid list"
    )


def test_yaml_duplicate_service_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
          - name: web
            health_url: http://web/health
          - name: api
            health_url: http://api2/health
        """,
    )
    assert error_of(path) == (
        f"{path}:6: services[2].name: duplicate name 'api' (first at services[0])"
    )


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
            aws: {region: eu-west-1
          - name: web
        """,
    )
    assert error_of(path) == (
        f"{path}:5: invalid YAML: expected ',' or '}}', but got ':'"
        " (while parsing a flow mapping on line 4)"
    )
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health: bad
        """,
    )
    assert error_of(path) == f"{path}:3: invalid YAML: mapping values are not allowed here"


def test_yaml_unknown_key_is_a_typo(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
            redis: redis://cache
        """,
    )
    assert error_of(path) == f"{path}:4: services[0].redis: extra inputs are not permitted"


def test_yaml_duplicate_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
            name: api2
        """,
    )
    assert error_of(path) == f"{path}:4: services[0].name: duplicate key"


def test_yaml_bad_url_and_unknown_cluster(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        clusters:
          - name: prod
        services:
          - name: api
            health_url: ftp://api/health
        """,
    )
    assert error_of(path) == (
        f"{path}:5: services[0].health_url: URL scheme must be one of http, https"
    )
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        clusters:
          - name: prod
        services:
          - name: api
            health_url: http://api/health
            kubernetes:
              context: staging
              namespace: shop
              deployment: api
        """,
    )
    assert error_of(path) == (
        f"{path}:7: services[0].kubernetes.context: unknown cluster 'staging' (declared: prod)"
    )


def test_yaml_reports_the_first_error_and_counts_the_rest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - health_url: http://api/health
          - name: web
            health_url: 42
        """,
    )
    message = error_of(path)
    assert message == f"{path}:2: services[0].name: field required (and 1 more error)"
    assert "\n" not in message


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "a.yml", "")).endswith(":1: catalog is empty")
    assert "must be a mapping" in error_of(write(tmp_path, "b.yml", "- api\n"))
    missing = tmp_path / "missing.yml"
    assert error_of(missing) == f"{missing}: cannot read: No such file or directory"
    assert "must be .yml" in error_of(write(tmp_path, "c.json", "{}"))


# --- TOML errors -------------------------------------------------------------------------


def test_toml_missing_field_in_second_service_subtable(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.toml",
        """\
        [[services]]
        name = "api"
        health_url = "http://api/health"

        [[services]]
        name = "web"
        health_url = "http://web/health"

        [services.kubernetes]
        deployment = "web"
        """,
    )
    assert error_of(path) == f"{path}:9: services[1].kubernetes.namespace: field required"


def test_toml_wrong_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.toml",
        """\
        [[services]]
        name = "api"
        health_url = "http://api/health"
        aws = { region = "eu-west-1", alarm_prefixes = "api-" }
        """,
    )
    assert error_of(path) == (
        f"{path}:4: services[0].aws.alarm_prefixes: input should be a valid list"
    )


def test_toml_duplicate_service_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.toml",
        """\
        [[services]]
        name = "api"
        health_url = "http://api/health"

        [[services]]
        # the same service again
        name = "api"
        health_url = "http://api/health"
        """,
    )
    assert error_of(path) == (
        f"{path}:7: services[1].name: duplicate name 'api' (first at services[0])"
    )


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.toml",
        """\
        [[services]]
        name = "api"
        health_url = "http://api/health
        """,
    )
    message = error_of(path)
    assert message.startswith(f"{path}:3: invalid TOML: ")
    assert "line 3" not in message


def test_a_service_name_longer_than_incidents_store_is_refused_at_load(tmp_path: Path) -> None:
    """`incidents.service` holds 80 characters: a longer name must fail here, with its line,
    not later when someone declares with it."""
    long_name = "a" * 65
    path = write(
        tmp_path,
        "catalog.yml",
        f"""\
        services:
          - name: api
            health_url: http://api/health
          - name: {long_name}
            health_url: http://api/health
        """,
    )
    message = error_of(path)
    assert f"{path}:4: services[1].name" in message and "up to 64" in message
    ok = write(tmp_path, "ok.yml", f"services:\n  - name: {'a' * 64}\n    health_url: http://a/h\n")
    assert load_catalog(ok).names == ["a" * 64]
