"""Images in the simulated ECR: a manifest whose annotation says what the container serves
(read from the project's do/config, as its Dockerfile bakes it in)."""

import json
import re
import uuid

LABEL = "org.mlcc-ci.twin"


def labels_from_config(config: str, project: str) -> dict[str, str]:
    def value(key: str) -> str:
        match = re.search(rf'^export {key}="?([^"\n]*)"?', config, re.M)
        return match.group(1) if match else ""

    return {"framework": value("FRAMEWORK"), "server": value("MODEL_SERVER"), "project": project}


def manifest(labels: dict[str, str]) -> str:
    layer = f"sha256:{uuid.uuid4().hex}{uuid.uuid4().hex}"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": layer,
            },
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer}
            ],
            "annotations": {LABEL: json.dumps(labels)},
        }
    )


def labels_of(image_manifest: str) -> dict[str, str]:
    annotations = json.loads(image_manifest).get("annotations", {})
    return dict(json.loads(annotations.get(LABEL, "{}")))
