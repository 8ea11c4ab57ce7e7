"""slowapi on FastAPI: 20 requests per minute per client, X-RateLimit-* headers enabled."""

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


if __name__ == "__main__":
    serve_asgi(app)
