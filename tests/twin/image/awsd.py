"""The simulated image's AWS CLI, started once per build: the PyPI CLI's own code, imported
once, and forked for each `aws` command the build runs (the do-scripts run a hundred or
so, and each CLI process spends most of its time importing itself).

`python -I awsd.py SOCKET [PARENT]` listens on SOCKET; `aws.py`, the image's `aws`, sends it the
command's arguments, environment, folder and its standard input, output and error; a child
of this server runs `awscli.clidriver.main()` with them, in the build's own mount
namespace (it is started inside it), and sends back the exit code. A child whose caller
goes away (killed at a timeout, with its process group) exits too. The server itself ends
with its build: when the build's shell, its parent, is gone (codebuild.py also kills it by
the pid file, which a build that ends at once may leave unread).
"""

import contextlib
import gc
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

# The services the generated projects' do-scripts call `aws` for (their templates, grepped):
# their models are parsed once per build, in the server (_share_models).
SERVICES = (
    *("sts", "s3", "sagemaker", "sagemaker-runtime", "secretsmanager"),
    *("ecr", "codebuild", "logs", "iam", "sns"),
)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    (size,) = struct.unpack("!I", head)
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the caller went away")
        data += chunk
    return json.loads(data), fds


def _watch(conn: socket.socket) -> None:
    """Exit as soon as the caller is gone: nothing would read what this command says."""
    with contextlib.suppress(OSError):
        while conn.recv(1):
            pass
    os._exit(143)


def _serve(conn: socket.socket) -> None:
    try:
        request, fds = _receive(conn)
    except (OSError, EOFError, ValueError):
        os._exit(1)
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=_watch, args=(conn,), daemon=True).start()
    sys.argv = ["aws", *request["argv"]]
    import importlib

    import awscli

    importlib.reload(awscli)  # what it does to the environment on import (AWS_DATA_PATH)
    from awscli.clidriver import main

    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):
            stream.flush()
    try:
        conn.sendall(struct.pack("!i", int(code or 0)))
    finally:
        os._exit(int(code or 0) & 0xFF)


def _share_models() -> None:
    """Each command's session makes a Loader of its own, which would read and parse the same
    JSON models again: two-thirds of a command's CPU (0.145 s a command, 0.045 s shared).
    Every Loader of this server and its children shares one cache per search path instead
    (AWS_DATA_PATH: a build at another speed has its own waiters), as one long-lived
    session's clients share theirs; the server fills it before any fork with what the
    do-scripts' commands load: every service's name for the command table, and each
    service's model, endpoint rules, paginators and waiters."""
    from awscli.clidriver import create_clidriver
    from botocore import loaders

    shared: dict[tuple[str, ...], dict] = {}
    made = loaders.Loader.__init__

    def __init__(self: loaders.Loader, *args: object, **kwargs: object) -> None:
        made(self, *args, **kwargs)
        self._cache = shared.setdefault(tuple(self.search_paths), {})

    loaders.Loader.__init__ = __init__  # type: ignore[method-assign]
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    # only time is saved here: what fails to load now (a profile the environment names that
    # does not exist, say) is each command's to load, and to fail on, as it would alone
    with contextlib.suppress(Exception):
        driver = create_clidriver()
        driver._get_command_table()
        session = driver.session
        for service in SERVICES:
            session.create_client(
                service, region_name=region, aws_access_key_id="-", aws_secret_access_key="-"
            )
            for model in (session.get_paginator_model, session.get_waiter_model):
                with contextlib.suppress(Exception):  # a service with none
                    model(service)


def _orphaned(parent: int) -> None:
    """Exit once the build's shell, this server's parent, is gone: nothing of the build is
    left to ask, and a server left behind would outlive the tests that made it."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def main(path: str, parent: int) -> None:
    threading.Thread(target=_orphaned, args=(parent,), daemon=True).start()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(128)
    with open(path + ".pid", "w") as pid:  # the build's end stops it (codebuild.py)
        pid.write(str(os.getpid()))
    # what every command imports, once (the connections wait in the backlog meanwhile):
    # the driver, and its built-in plugin (awscli.plugin.BUILTIN_PLUGINS), which each
    # command's load_plugins would otherwise import anew: a quarter of a command's time.
    # Importing it only defines the handlers; each command still registers them itself.
    import awscli.clidriver
    import awscli.handlers  # noqa: F401
    import botocore.client
    import botocore.httpsession  # noqa: F401

    _share_models()
    gc.collect()  # the warm-up's driver, session and clients: the cache is what stays
    # what is imported stays out of the collector's sight: a child's collections would
    # otherwise touch, and so copy, every page the server holds
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            _serve(conn)
        conn.close()


if __name__ == "__main__":
    # the build's shell names itself ($$): one gone before this started is noticed too
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else os.getppid())
