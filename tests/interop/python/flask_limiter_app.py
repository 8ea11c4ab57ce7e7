"""Flask-Limiter: 20 requests per minute per client, X-RateLimit-* headers enabled."""

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from serve import serve_wsgi

app = Flask(__name__)
limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", headers_enabled=True)


@app.route("/limited")
@limiter.limit("20 per minute")
def limited():
    return "ok"


if __name__ == "__main__":
    serve_wsgi(app)
