// Stripe webhook receivers on the official `stripe` package, with the secret in WEBHOOK_SECRET:
// /webhook verifies the raw body as Stripe's docs show; /reserialised verifies
// JSON.stringify(req.body), a common mistake.
import http from 'node:http';
import express from 'express';
import Stripe from 'stripe';
import { listen } from './serve.mjs';

const stripe = new Stripe('sk_test_interop');
const secret = process.env.WEBHOOK_SECRET;

function verify(payload, req, res) {
  try {
    stripe.webhooks.constructEvent(payload, req.headers['stripe-signature'], secret);
  } catch (err) {
    return res.status(400).send(`Webhook Error: ${err.message}`);
  }
  res.json({ received: true });
}

const app = express();
app.post('/webhook', express.raw({ type: '*/*' }), (req, res) => verify(req.body, req, res));
app.post('/reserialised', express.json(), (req, res) => verify(JSON.stringify(req.body), req, res));
listen(http.createServer(app));
