"""Python's `ssl` serving HTTPS with a given certificate: `tls_app.py PORT CERT KEY`."""

import http.server
import ssl
import sys

from serve import announce, port_argument


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        # A length, so that clients need not read to a close without TLS close_notify.
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server = http.server.ThreadingHTTPServer(("127.0.0.1", port_argument()), Ok)
server.socket = context.wrap_socket(server.socket, server_side=True)
announce(server.server_address[1])
server.serve_forever()
