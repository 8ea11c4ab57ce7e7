// A Standard Webhooks receiver on the `standardwebhooks` package, secret (whsec_…) in
// WEBHOOK_SECRET.
import http from 'node:http';
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { listen } from './serve.mjs';

const wh = new Webhook(process.env.WEBHOOK_SECRET);
const app = express();
app.post('/webhook', express.raw({ type: '*/*' }), (req, res) => {
  try {
    wh.verify(req.body.toString('utf8'), req.headers);
  } catch (err) {
    return res.status(400).send(err.message);
  }
  res.json({ received: true });
});
listen(http.createServer(app));
