"""The instance types SageMaker knows, from botocore's own service model: offline, and as
current as the installed botocore. The model is read as a data file, never through botocore
itself: importing botocore would cost `catalog validate` its fast start."""

import difflib
import gzip
import importlib.metadata
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

# The API field an instance type goes to, by deployment target (SageMaker's shape names).
_SHAPES = {"batch-transform": "TransformInstanceType", "hyperpod-eks": "ClusterInstanceType"}
_ENDPOINT_SHAPE = "ProductionVariantInstanceType"


def _model_file() -> Path:
    """botocore's SageMaker service model: the latest API version it ships, as its own
    loader chooses (version folders are dates, so the greatest name is the newest)."""
    spec = importlib.util.find_spec("botocore")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed")
    service = Path(next(iter(spec.submodule_search_locations))) / "data" / "sagemaker"
    for version in sorted((p for p in service.iterdir() if p.is_dir()), reverse=True):
        for name in ("service-2.json", "service-2.json.gz"):
            if (version / name).is_file():
                return version / name
    raise RuntimeError(f"botocore ships no SageMaker service model under {service}")


@cache
def _model() -> dict[str, Any]:
    path = _model_file()
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    model: dict[str, Any] = json.loads(raw)
    return model


@cache
def known(shape: str = _ENDPOINT_SHAPE) -> tuple[str, ...]:
    """Every value of one of SageMaker's instance-type enums, as botocore ships it."""
    return tuple(_model()["shapes"][shape]["enum"])


def problem(instance_type: str, target: str) -> str | None:
    """Why SageMaker would refuse `instance_type` for `target`, or None."""
    names = known(_SHAPES.get(target, _ENDPOINT_SHAPE))
    if instance_type in names:
        return None
    close = difflib.get_close_matches(instance_type, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see the SageMaker instance types"
    return (
        f"SageMaker has no instance type '{instance_type}' for {target} "
        f"(botocore {importlib.metadata.version('botocore')}); {hint}"
    )
