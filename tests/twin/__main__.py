"""The simulated AWS account as a server (`make twin-server`, or `python -m tests.twin` from
the repository root): serves on 127.0.0.1 until Ctrl-C or SIGTERM, for the AWS CLI or boto3
pointed at it with `--endpoint-url` or `AWS_ENDPOINT_URL` and any credentials."""

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.twin.server import Twin

HOW = """\
Simulated AWS account {account} on {url}
Point the AWS CLI or boto3 at it (any credentials, any region):
  aws sagemaker list-endpoints --endpoint-url {url} --region us-east-1
  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
AWS_DEFAULT_REGION=us-east-1
  boto3.client("sagemaker", endpoint_url="{url}", region_name="us-east-1")
Ctrl-C stops it; everything it holds is gone then."""


def _bind(twin: "Twin", port: int) -> None:
    """Serve on `port` rather than on the free port Twin took (Twin has no port option)."""
    from werkzeug.serving import make_server

    old = twin._server
    old.server_close()
    server = make_server(
        "127.0.0.1", port, twin, threaded=True, request_handler=old.RequestHandlerClass
    )
    twin._server = server
    twin._thread = threading.Thread(target=server.serve_forever, daemon=True)
    twin.url = f"http://127.0.0.1:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.twin", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=0, help="the port on 127.0.0.1 (default 0: any free one)"
    )
    args = parser.parse_args(argv)

    from tests.twin.server import ACCOUNT, Twin

    twin = Twin()
    if args.port:
        _bind(twin, args.port)
    twin.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(HOW.format(account=ACCOUNT, url=twin.url), flush=True)
    while not stop.wait(0.5):
        pass
    twin.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
