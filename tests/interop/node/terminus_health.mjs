// @godaddy/terminus health checks: /healthcheck is up (with its details), /healthcheck/down
// throws as a failed database check does.
import http from 'node:http';
import terminus from '@godaddy/terminus';
import { listen } from './serve.mjs';

const { createTerminus, HealthCheckError } = terminus;
const server = http.createServer((req, res) => res.end('ok'));
createTerminus(server, {
  healthChecks: {
    '/healthcheck': async () => ({ database: 'ok' }),
    '/healthcheck/down': async () => {
      throw new HealthCheckError('healthcheck failed', { database: 'unreachable' });
    },
    verbatim: true,
  },
});
listen(server);
