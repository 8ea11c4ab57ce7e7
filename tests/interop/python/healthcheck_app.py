"""PyPI `healthcheck` on Flask: `/healthcheck` passes its check, `/healthcheck/down` fails it."""

from flask import Flask
from healthcheck import HealthCheck

from serve import serve_wsgi


def database_ok():
    return True, "database ok"


def database_down():
    return False, "database unreachable"


app = Flask(__name__)
up = HealthCheck(checkers=[database_ok])
down = HealthCheck(checkers=[database_down])
app.add_url_rule("/healthcheck", "healthcheck", view_func=up.check)
app.add_url_rule("/healthcheck/down", "healthcheck_down", view_func=down.check)

if __name__ == "__main__":
    serve_wsgi(app)
