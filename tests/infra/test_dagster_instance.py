"""The production Dagster instance (infra/dagster/dagster.yaml) passes Dagster's own instance-config validation,
its run launcher's config passes K8sRunLauncher's config schema (dagster-k8s), and the Helm values name the
same launcher, coordinator and storage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher

INFRA = Path(__file__).resolve().parents[2] / "infra" / "dagster"


@pytest.fixture
def instance_config() -> dict:
    return yaml.safe_load((INFRA / "dagster.yaml").read_text())


def test_production_instance_passes_dagster_validation(tmp_path):
    shutil.copy(INFRA / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert "postgres" in config["storage"]


def test_run_launcher_config_passes_k8s_run_launcher_schema(instance_config):
    launcher = instance_config["run_launcher"]
    assert launcher["module"] == "dagster_k8s"
    result = validate_config(K8sRunLauncher.config_type(), launcher["config"])
    assert result.success, [e.message for e in result.errors]


def test_a_wrong_run_launcher_field_is_refused(instance_config):
    config = {**instance_config["run_launcher"]["config"], "job_namespaces": "outscaled"}
    assert not validate_config(K8sRunLauncher.config_type(), config).success


def test_helm_values_match_the_instance(instance_config):
    values = yaml.safe_load((INFRA / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == instance_config["run_launcher"]["class"]
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert k8s["jobNamespace"] == instance_config["run_launcher"]["config"]["job_namespace"]
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == instance_config["run_coordinator"]["class"]
    assert values["postgresql"]["postgresqlDatabase"] == instance_config["storage"]["postgres"]["postgres_db"]["db_name"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "orchestration.definitions"]


def test_training_assets_ask_kubernetes_for_a_bigger_pod():
    from dagster_k8s.job import USER_DEFINED_K8S_CONFIG_KEY, get_user_defined_k8s_config

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in (["models", "backtest"], ["models", "stat_line_models"]):
        node = graph.get(AssetKey(key))
        tags = node.assets_def.op.tags
        config = get_user_defined_k8s_config(tags)
        assert USER_DEFINED_K8S_CONFIG_KEY in tags
        assert config.container_config["resources"]["limits"]["memory"] == "16Gi"
