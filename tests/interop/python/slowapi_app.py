"""slowapi on FastAPI: 20 requests per minute per client address on /limited, and per X-User-Id
header (`key_func`) on /keyed; X-RateLimit-* headers enabled."""

from fastapi import FastAPI, Request, Response
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

from serve import serve_asgi

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)


@app.get("/limited")
@limiter.limit("20/minute")
async def limited(request: Request, response: Response):
    return {"ok": True}


def user_id(request: Request) -> str:
    return request.headers.get("x-user-id", "anonymous")


@app.get("/keyed")
@limiter.limit("20/minute", key_func=user_id)
async def keyed(request: Request, response: Response):
    return {"ok": True}


if __name__ == "__main__":
    serve_asgi(app)
