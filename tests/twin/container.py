"""What a container's model server answers to `InvokeEndpoint`, framework by framework, the
way its server would (or the ModelError SageMaker turns a client error into)."""

import base64
import json
import time
import uuid

from tests.twin.account import ApiError


def _model_error(message: str) -> ApiError:
    return ApiError(
        "ModelError", f'Received client error (400) from primary with message "{message}".', 424
    )


def answer(framework: str, server: str, body: bytes) -> bytes:
    """What the framework's model server answers to `body` (or a ModelError, as it would)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise _model_error("request body is not JSON") from None
    if not isinstance(request, dict):
        raise _model_error("request body is not a JSON object")
    if framework == "transformers" and server in ("vllm", "sglang"):
        if not isinstance(request.get("messages"), list):
            raise _model_error("'messages' is required")
        reply = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}}],
        }
    elif framework == "transformers":
        if not isinstance(request.get("inputs"), str):
            raise _model_error("'inputs' must be a string")
        reply = {"generated_text": "Paris is the capital of France."}
    elif framework == "triton":
        inputs = request.get("inputs")
        if not (isinstance(inputs, list) and inputs and "data" in inputs[0]):
            raise _model_error("triton expects 'inputs' with 'data'")
        reply = {
            "model_name": "model",
            "outputs": [{"name": "output__0", "datatype": "FP32", "shape": [1, 1], "data": [0.5]}],
        }
    elif framework == "http":
        if not isinstance(request.get("instances"), list):
            raise _model_error("'instances' is required")
        reply = {"predictions": [0.5 for _ in request["instances"]]}
    elif framework == "diffusors":
        if not isinstance(request.get("prompt"), str):
            raise _model_error("'prompt' is required")
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n twin").decode()
        reply = {"created": int(time.time()), "data": [{"b64_json": png}]}
    else:
        raise _model_error(f"no model server for framework {framework!r}")
    return json.dumps(reply).encode()


def emptied(reply: bytes) -> bytes:
    """The same answer with every list in it empty: `{"predictions": []}`, Triton's
    `{"outputs": []}` (the fault `answer-empty`)."""

    def empty(value: object) -> object:
        if isinstance(value, list):
            return []
        if isinstance(value, dict):
            return {k: empty(v) for k, v in value.items()}
        return value

    return json.dumps(empty(json.loads(reply))).encode()
