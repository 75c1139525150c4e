"""Docker Hub images through the account's ECR pull-through cache. Pure.

CodeBuild pulls from shared addresses that Docker Hub rate-limits for anonymous pulls. With
the stack's DockerHubAccess given, the account caches Docker Hub in ECR under
`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>-docker-hub`, with that account's
credentials; a run then names its base image there, which the generator writes into the
Dockerfile's FROM.
"""

MIRROR_ENV = "MLCC_CI_DOCKER_HUB_MIRROR"


def on_docker_hub(image: str) -> bool:
    """An image reference without a registry host is Docker Hub's."""
    first, sep, _ = image.partition("/")
    return not (sep and ("." in first or ":" in first or first == "localhost"))


def through(image: str, mirror: str) -> str:
    """`image` as the pull-through cache serves it; others as they are."""
    if not mirror or not image or not on_docker_hub(image):
        return image
    path = image if "/" in image else f"library/{image}"
    return f"{mirror.rstrip('/')}/{path}"
