// rate-limiter-flexible's documented login protection ("Login endpoint protection", consecutive
// failures by username) behind an express login route: every failed login consumes a point of
// the account; once more than 5 failed in a row, the account is blocked with 429 and Retry-After.
//   /login/by-username  keyed by the JSON body's username, as documented: one account locked
//   /login/by-ip        the same limiter keyed by the client address: every account locked
//   /login/unprotected  no limiter: failed logins are answered 401 for ever
// No password is ever right, so every attempt fails.
import http from 'node:http';
import express from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { listen } from './serve.mjs';

const maxConsecutiveFails = 5;

function tooMany(res, msBeforeNext) {
  res.set('Retry-After', String(Math.round(msBeforeNext / 1000) || 1));
  res.status(429).send('Too Many Requests');
}

/// The documented route, with the limiter's key taken from the request by `keyOf`.
function loginRoute(keyOf) {
  const limiter = new RateLimiterMemory({
    keyPrefix: 'login_fail_consecutive',
    points: maxConsecutiveFails,
    duration: 60 * 60 * 3,
    blockDuration: 60 * 15,
  });
  return async (req, res) => {
    const key = keyOf(req);
    const state = await limiter.get(key);
    if (state !== null && state.consumedPoints > maxConsecutiveFails) {
      return tooMany(res, state.msBeforeNext);
    }
    try {
      await limiter.consume(key);
      res.status(401).send('email or password is wrong');
    } catch (rejected) {
      if (rejected instanceof Error) throw rejected;
      tooMany(res, rejected.msBeforeNext);
    }
  };
}

const app = express();
app.use(express.json());
app.post('/login/by-username', loginRoute((req) => String(req.body?.username ?? '')));
app.post('/login/by-ip', loginRoute((req) => req.ip));
app.post('/login/unprotected', (req, res) => res.status(401).send('email or password is wrong'));
listen(http.createServer(app));
