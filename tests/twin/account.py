"""The simulated account's id, and the error a SageMaker call answers with."""

ACCOUNT = "123456789012"


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def missing(kind: str, name: str, region: str) -> ApiError:
    """SageMaker's answer about a resource that does not exist."""
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"
    label = {"endpoint-config": "endpoint configuration"}.get(kind, kind.replace("-", " "))
    return ApiError("ValidationException", f'Could not find {label} "{arn}".')
