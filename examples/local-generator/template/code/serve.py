"""A tiny server that follows the SageMaker container contract: GET /ping, POST /invocations.

Its answers have the shape each engine family returns, so a smoke test can check them.
"""

import argparse
import base64
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARCHITECTURE = os.environ.get("ARCHITECTURE", "http")
BACKEND = os.environ.get("BACKEND", "flask")
PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\n example image").decode()


def answer(request: dict) -> dict | list:
    if ARCHITECTURE == "diffusors":
        return {"data": [{"b64_json": PIXEL} for _ in range(int(request.get("n", 1)))]}
    if ARCHITECTURE == "transformers" and BACKEND in ("vllm", "sglang"):
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}]}
    if ARCHITECTURE == "transformers":
        return {"generated_text": "Paris"}
    if ARCHITECTURE == "triton" and BACKEND == "vllm":  # text in, text out
        return {"outputs": [{"name": "text_output", "datatype": "BYTES", "data": ["Paris"]}]}
    if ARCHITECTURE == "triton":
        data = request.get("inputs", [{}])[0].get("data", [])
        return {"outputs": [{"name": "output__0", "datatype": "FP32", "data": [sum(data)]}]}
    rows = request.get("instances", [])
    return {"predictions": [sum(row) for row in rows]}


class Handler(BaseHTTPRequestHandler):
    def _send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(200, {"status": "healthy"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": "body is not JSON"})
            return
        self._send(200, answer(request))

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
