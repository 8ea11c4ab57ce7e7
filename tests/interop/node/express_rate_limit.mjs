// express-rate-limit: 20 requests per minute per client, on paths /STYLE/a, /STYLE/b, /STYLE/c,
// each with a limiter of its own (so that one test can burst several). STYLE names the headers:
// draft-6, draft-7, draft-8 (the IETF drafts' standardHeaders), legacy (X-RateLimit-*), none (no
// headers at all).
import http from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { listen } from './serve.mjs';

const app = express();
for (const style of ['draft-6', 'draft-7', 'draft-8', 'legacy', 'none']) {
  for (const name of ['a', 'b', 'c']) {
    const legacy = style === 'legacy';
    const limiter = rateLimit({
      windowMs: 60_000,
      limit: 20,
      standardHeaders: legacy || style === 'none' ? false : style,
      legacyHeaders: legacy,
    });
    app.get(`/${style}/${name}`, limiter, (req, res) => res.send('ok'));
  }
}
listen(http.createServer(app));
