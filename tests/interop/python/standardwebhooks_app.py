"""A Standard Webhooks receiver as the library's README writes it. The secret (whsec_…) is in
WEBHOOK_SECRET. Only WebhookVerificationError is caught, as documented."""

import os

from flask import Flask, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from serve import serve_wsgi

webhook_verifier = Webhook(os.environ["WEBHOOK_SECRET"])
app = Flask(__name__)


@app.post("/webhook")
def webhook():
    try:
        webhook_verifier.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError:
        return "invalid signature", 400
    return {"received": True}


if __name__ == "__main__":
    serve_wsgi(app)
