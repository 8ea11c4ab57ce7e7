"""Starts an app on loopback and prints `ready PORT` once the socket listens.

The port is the first argument; 0 (the default) takes a free port, and the line tells which.
"""

import socket
import sys


def port_argument():
    return int(sys.argv[1]) if len(sys.argv) > 1 else 0


def announce(port):
    print(f"ready {port}", flush=True)


def serve_asgi(app):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port_argument()))
    sock.listen(256)
    # Connections wait in the backlog until uvicorn accepts them: the port is usable now.
    announce(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve_wsgi(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port_argument(), app, threaded=True)
    announce(server.port)
    server.serve_forever()
