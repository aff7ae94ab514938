"""The objects a pod template refers to, found the way Kubernetes' pod visitors find them.

ConfigMaps: ``configMap`` volumes, projected configMap sources, ``envFrom.configMapRef`` and
``env.valueFrom.configMapKeyRef`` of init, app and ephemeral containers. Secrets: ``imagePullSecrets``,
``secret`` volumes, projected secret sources, the secret references of azureFile, cephfs, cinder,
flexVolume, rbd, scaleIO, iscsi, storageos and csi volumes (only the first of these sources present in a
volume is inspected, in that order), ``envFrom.secretRef`` and ``env.valueFrom.secretKeyRef``. The
ServiceAccount: ``serviceAccountName`` unless empty or ``default``. PersistentVolumeClaims:
``persistentVolumeClaim.claimName`` volumes. Empty names are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from kpl.engine.kube_podspec import Container, KubeHelperError, PodTemplate

__all__ = ["dependency_names"]

# volume source key -> the key of its secret reference object ("" when the source names the secret itself)
_SECRET_VOLUME_SOURCES: Final = (
    ("azureFile", "secretName"),
    ("cephfs", "secretRef"),
    ("cinder", "secretRef"),
    ("flexVolume", "secretRef"),
    ("projected", ""),
    ("rbd", "secretRef"),
    ("secret", "secretName"),
    ("scaleIO", "secretRef"),
    ("iscsi", "secretRef"),
    ("storageos", "secretRef"),
    ("csi", "nodePublishSecretRef"),
)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise KubeHelperError(f"`{path}` must be an object")
    return value


def _name(value: Any, key: str, path: str) -> str:
    name = _mapping(value, path).get(key)
    if name is None:
        return ""
    if not isinstance(name, str):
        raise KubeHelperError(f"`{path}.{key}` must be a string")
    return name


def _containers(pod: PodTemplate) -> Iterator[Container]:
    yield from pod.init_containers
    yield from pod.containers
    yield from pod.ephemeral_containers


def _container_refs(pod: PodTemplate, from_key: str, ref_key: str) -> Iterator[str]:
    for container in _containers(pod):
        for source in container.env_from:
            if source.get(from_key) is not None:
                yield _name(source[from_key], "name", f"envFrom.{from_key}")
        for variable in container.env:
            value_from = _mapping(variable.get("valueFrom"), "env.valueFrom")
            if value_from.get(ref_key) is not None:
                yield _name(value_from[ref_key], "name", f"env.valueFrom.{ref_key}")


def _projected(volume: Mapping[str, Any], kind: str) -> Iterator[str]:
    projected = _mapping(volume["projected"], "volumes.projected")
    sources = projected.get("sources") or ()
    if not isinstance(sources, (list, tuple)):
        raise KubeHelperError("`volumes.projected.sources` must be a list")
    for source in sources:
        item = _mapping(source, "volumes.projected.sources").get(kind)
        if item is not None:
            yield _name(item, "name", f"volumes.projected.sources.{kind}")


def _volume_secrets(volume: Mapping[str, Any]) -> Iterator[str]:
    for key, ref in _SECRET_VOLUME_SOURCES:
        if volume.get(key) is None:
            continue
        if key == "projected":
            yield from _projected(volume, "secret")
        elif ref in ("secretName",):
            yield _name(volume[key], ref, f"volumes.{key}")
        elif _mapping(volume[key], f"volumes.{key}").get(ref) is not None:
            yield _name(volume[key][ref], "name", f"volumes.{key}.{ref}")
        return


def _volume_config_maps(volume: Mapping[str, Any]) -> Iterator[str]:
    if volume.get("projected") is not None:
        yield from _projected(volume, "configMap")
    elif volume.get("configMap") is not None:
        yield _name(volume["configMap"], "name", "volumes.configMap")


def _secrets(pod: PodTemplate) -> Iterator[str]:
    yield from pod.image_pull_secrets
    yield from _container_refs(pod, "secretRef", "secretKeyRef")
    for volume in pod.volumes:
        yield from _volume_secrets(volume)


def _config_maps(pod: PodTemplate) -> Iterator[str]:
    yield from _container_refs(pod, "configMapRef", "configMapKeyRef")
    for volume in pod.volumes:
        yield from _volume_config_maps(volume)


def _claims(pod: PodTemplate) -> Iterator[str]:
    for volume in pod.volumes:
        if volume.get("persistentVolumeClaim") is not None:
            yield _name(volume["persistentVolumeClaim"], "claimName", "volumes.persistentVolumeClaim")


def dependency_names(pod: PodTemplate) -> dict[str, set[str]]:
    """Referenced names per kind: ConfigMap, Secret, ServiceAccount and PersistentVolumeClaim."""
    account = pod.service_account_name
    return {
        "ConfigMap": {name for name in _config_maps(pod) if name},
        "Secret": {name for name in _secrets(pod) if name},
        "ServiceAccount": {account} if account and account != "default" else set(),
        "PersistentVolumeClaim": {name for name in _claims(pod) if name},
    }
