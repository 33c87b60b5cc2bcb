"""Every Kubernetes manifest under infra/kubernetes validates against the Kubernetes schema (kubernetes-validate,
schemas bundled, offline, strict: unknown fields fail), and the deployment rules the platform relies on hold:
probes on the health routes, requests and limits on every container, secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

INFRA = Path(__file__).resolve().parents[2] / "infra"
KUBERNETES_VERSION = "1.33.0"
MANIFESTS = sorted((INFRA / "kubernetes").rglob("*.yaml"))


def _documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all() -> list[dict]:
    return [d for path in MANIFESTS for d in _documents(path)]


def _containers(document: dict) -> list[dict]:
    spec = document.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(INFRA)))
def test_manifest_is_valid_kubernetes(path: Path):
    documents = _documents(path)
    assert documents, f"{path} holds no manifest"
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_refused():
    deployment = next(d for d in _all() if d["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_container_has_requests_and_limits():
    for document in _all():
        for container in _containers(document):
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), (document["metadata"]["name"], container["name"])
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), (document["metadata"]["name"], container["name"])


def test_services_probe_the_health_routes():
    deployments = [d for d in _all() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"outscaled-service", "outscaled-service-gpu"}
    for deployment in deployments:
        (container,) = _containers(deployment)
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_gpu_variant_asks_for_a_gpu_on_gpu_nodes():
    gpu = next(d for d in _all() if d["metadata"]["name"] == "outscaled-service-gpu" and d["kind"] == "Deployment")
    (container,) = _containers(gpu)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    pod = gpu["spec"]["template"]["spec"]
    assert pod["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_gpu_variant_differs_from_the_cpu_deployment_only_where_it_must():
    """deployment-gpu.yaml is a copy of deployment.yaml with GPU placement: this keeps the copy from drifting."""
    import copy

    deployments = {d["metadata"]["name"]: d for d in _all() if d["kind"] == "Deployment"}
    expected = copy.deepcopy(deployments["outscaled-service"])
    expected["metadata"]["name"] = expected["metadata"]["labels"]["app.kubernetes.io/name"] = "outscaled-service-gpu"
    expected["spec"]["replicas"] = 1
    expected["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "outscaled-service-gpu"
    pod = expected["spec"]["template"]
    pod["metadata"]["labels"]["app.kubernetes.io/name"] = "outscaled-service-gpu"
    gpu_pod = deployments["outscaled-service-gpu"]["spec"]["template"]["spec"]
    (container,), (gpu_container,) = pod["spec"]["containers"], gpu_pod["containers"]
    container["image"] = gpu_container["image"]
    # nvForest on the GPU or no start (outscaled/models/forest.py): a pod that lost its GPU says so
    container["env"] = [{"name": "OUTSCALED_INFERENCE", "value": "gpu"}, *container["env"]]
    container["resources"]["limits"]["nvidia.com/gpu"] = "1"
    pod["spec"]["nodeSelector"], pod["spec"]["tolerations"] = gpu_pod["nodeSelector"], gpu_pod["tolerations"]
    assert deployments["outscaled-service-gpu"] == expected


def test_autoscaler_uses_cpu_and_latency_and_a_disruption_budget_exists():
    kinds = {d["kind"]: d for d in _all()}
    metrics = {m["type"] for m in kinds["HorizontalPodAutoscaler"]["spec"]["metrics"]}
    assert metrics == {"Resource", "Pods"}
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] >= 1
    ingress = kinds["Ingress"]["spec"]
    assert ingress["tls"] and ingress["tls"][0]["secretName"]


def test_no_secret_values_in_the_repository():
    documents = _all()
    assert not [d for d in documents if d["kind"] == "Secret"], "Secrets are made out of band, never committed"
    for document in documents:
        for container in _containers(document):
            for variable in container.get("env", []):
                words = set(variable["name"].lower().split("_"))
                assert "value" not in variable or not words & {"secret", "password", "uri", "url", "token"}, variable
