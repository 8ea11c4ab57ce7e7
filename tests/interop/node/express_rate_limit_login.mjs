// express-rate-limit guarding a login: 5 failed logins per account per 15 minutes, then 423
// Locked (skipSuccessfulRequests: only failed logins count), draft-7 headers.
//   /login/by-username  keyGenerator reads the account from the JSON body: one account locked
//   /login/by-ip        the default key, the client address: every account locked
//   /login/unprotected  no limiter: failed logins are answered 401 for ever
// No password is ever right, so every attempt fails.
import http from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { listen } from './serve.mjs';

const lockout = (options) =>
  rateLimit({
    windowMs: 15 * 60_000,
    limit: 5,
    statusCode: 423,
    message: 'account locked',
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    ...options,
  });
const wrongPassword = (req, res) => res.status(401).send('email or password is wrong');

const app = express();
app.use(express.json());
app.post(
  '/login/by-username',
  lockout({ keyGenerator: (req) => String(req.body?.username ?? '') }),
  wrongPassword,
);
app.post('/login/by-ip', lockout({}), wrongPassword);
app.post('/login/unprotected', wrongPassword);
listen(http.createServer(app));
