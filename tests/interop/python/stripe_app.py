"""A Stripe webhook receiver as Stripe's docs write it (`/webhook`), and one that verifies a
re-serialised body (`/reserialised`), a common mistake. The secret is in WEBHOOK_SECRET."""

import json
import os

import stripe
from flask import Flask, request

from serve import serve_wsgi

SECRET = os.environ["WEBHOOK_SECRET"]
app = Flask(__name__)


def verified(payload):
    try:
        stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature"), SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        return "invalid", 400
    return {"received": True}


@app.post("/webhook")
def webhook():
    return verified(request.get_data())


@app.post("/reserialised")
def reserialised():
    return verified(json.dumps(request.get_json()))


if __name__ == "__main__":
    serve_wsgi(app)
