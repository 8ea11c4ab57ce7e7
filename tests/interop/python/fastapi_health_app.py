"""fastapi-health: `/health` with every condition up, `/health/cache-down` whose cache
condition reports down in its default 200 body, `/health/failing` with a falsy condition."""

from fastapi import FastAPI
from fastapi_health import health

from serve import serve_asgi


def database():
    return {"database": "connected"}


def cache_down():
    return {"cache": {"status": "down"}}


def failing():
    return False


app = FastAPI()
app.add_api_route("/health", health([database]))
app.add_api_route("/health/cache-down", health([database, cache_down]))
app.add_api_route("/health/failing", health([database, failing]))

if __name__ == "__main__":
    serve_asgi(app)
