"""The simulated image's `aws`: hands the command to the build's CLI server (awsd.py) with
this process's arguments, environment, folder, standard input, output and error, and exits
with its code. Without a server (a process outside any build), it runs the CLI itself."""

import json
import os
import socket
import struct
import sys


def main() -> None:
    path = os.path.join(os.environ.get("CODEBUILD_SRC_DIR", "/nonexistent"), "..", "aws.sock")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        os.execv(sys.executable, [sys.executable, "-I", "-m", "awscli", *sys.argv[1:]])
    request = json.dumps(
        {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}
    ).encode()
    socket.send_fds(conn, [struct.pack("!I", len(request))], [0, 1, 2])
    conn.sendall(request)
    answer = b""
    while len(answer) < 4:
        chunk = conn.recv(4 - len(answer))
        if not chunk:
            sys.exit(255)  # the command died without a word: as the CLI's own crash
        answer += chunk
    sys.exit(struct.unpack("!i", answer)[0] & 0xFF)


if __name__ == "__main__":
    main()
