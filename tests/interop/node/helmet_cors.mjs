// helmet and cors on express:
//   /            helmet's defaults; cors allowing https://app.example with credentials
//   /reflecting  cors({ origin: true, credentials: true }): reflects any origin
//   /two-csp     a CSP without frame-ancestors, and a second CSP header with frame-ancestors 'none'
//   /frame-any   frame-ancestors * and no X-Frame-Options: any site may frame the page
//   /nonce       script-src with a nonce next to 'unsafe-inline' (which browsers then ignore)
//   /default-any default-src * and no script-src
//   /hsts-zero   Strict-Transport-Security max-age=0, which deletes HSTS in browsers
import http from 'node:http';
import express from 'express';
import helmet from 'helmet';
import cors from 'cors';
import { listen } from './serve.mjs';

const ok = (req, res) => res.send('hello');
const csp = (directives, extra = {}) =>
  helmet({ contentSecurityPolicy: { useDefaults: false, directives }, xFrameOptions: false, ...extra });

const app = express();
app.get('/', helmet(), cors({ origin: 'https://app.example', credentials: true }), ok);
app.get('/reflecting', helmet(), cors({ origin: true, credentials: true }), ok);
app.get(
  '/two-csp',
  csp({ defaultSrc: ["'self'"] }),
  (req, res, next) => {
    res.append('Content-Security-Policy', "frame-ancestors 'none'");
    next();
  },
  ok,
);
app.get('/frame-any', csp({ defaultSrc: ["'self'"], frameAncestors: ['*'] }), ok);
app.get(
  '/nonce',
  csp({ defaultSrc: ["'self'"], scriptSrc: ["'self'", "'nonce-r4nd0m'", "'unsafe-inline'"], frameAncestors: ["'none'"] }),
  ok,
);
app.get('/default-any', csp({ defaultSrc: ['*'], frameAncestors: ["'none'"] }), ok);
app.get('/hsts-zero', helmet({ strictTransportSecurity: { maxAge: 0 } }), ok);
listen(http.createServer(app));
