"""An S3 server on loopback that can be stopped and restarted on the same port with its state kept: moto's
threaded server in this process (moto's backends live in process memory, so a restart keeps every bucket, object
and multipart upload). Commands on stdin, one a line: `stop`, `start`; each is answered `ok` once done.

Run: python fault_s3server.py PORT
"""

from __future__ import annotations

import sys

from moto.server import ThreadedMotoServer


def serve(port: int) -> None:
    """Serve until stdin closes, obeying `stop` and `start`."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ok", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stop" and server is not None:
            server.stop()
            server = None
        elif command == "start" and server is None:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
        print("ok", flush=True)
    if server is not None:
        server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
