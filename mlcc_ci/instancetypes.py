"""The instance types SageMaker knows, from botocore's own service model: offline, and as
current as the installed botocore."""

import difflib
from functools import cache

# The API field an instance type goes to, by deployment target (SageMaker's shape names).
_SHAPES = {"batch-transform": "TransformInstanceType", "hyperpod-eks": "ClusterInstanceType"}
_ENDPOINT_SHAPE = "ProductionVariantInstanceType"


@cache
def known(shape: str = _ENDPOINT_SHAPE) -> tuple[str, ...]:
    """Every value of one of SageMaker's instance-type enums, as botocore ships it."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return tuple(model["shapes"][shape]["enum"])


def problem(instance_type: str, target: str) -> str | None:
    """Why SageMaker would refuse `instance_type` for `target`, or None."""
    import botocore

    names = known(_SHAPES.get(target, _ENDPOINT_SHAPE))
    if instance_type in names:
        return None
    close = difflib.get_close_matches(instance_type, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see the SageMaker instance types"
    return (
        f"SageMaker has no instance type '{instance_type}' for {target} "
        f"(botocore {botocore.__version__}); {hint}"
    )
