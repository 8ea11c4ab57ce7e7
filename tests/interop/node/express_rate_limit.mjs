// express-rate-limit: 20 requests per minute per client, on paths /STYLE/a, /STYLE/b, /STYLE/c,
// each with a limiter of its own (so that one test can burst several). STYLE names the headers:
// draft-6, draft-7, draft-8 (the IETF drafts' standardHeaders), legacy (X-RateLimit-*), none (no
// headers at all). Each is keyed by the client's address, so that every user shares it; the
// /keyed/ paths below are keyed by a header instead.
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

// Keyed by the X-User-Id header (keyGenerator), draft-7 headers: /keyed/user, 20 per user;
// /keyed/global and /keyed/global-b, 20 per user and, behind it, 50 for every user together (no
// headers of its own, so that the per-user limiter's headers stay the only ones).
const userId = (req) => req.get('x-user-id') ?? 'anonymous';
const perUser = () =>
  rateLimit({ windowMs: 60_000, limit: 20, standardHeaders: 'draft-7', legacyHeaders: false, keyGenerator: userId });
const everyone = () =>
  rateLimit({ windowMs: 60_000, limit: 50, standardHeaders: false, legacyHeaders: false, keyGenerator: () => 'everyone' });
app.get('/keyed/user', perUser(), (req, res) => res.send('ok'));
for (const path of ['/keyed/global', '/keyed/global-b']) {
  app.get(path, perUser(), everyone(), (req, res) => res.send('ok'));
}
listen(http.createServer(app));
