// @fastify/rate-limit: 20 requests per minute per client. /limited sends its default
// x-ratelimit-* headers, /draft the IETF draft's ratelimit-* (enableDraftSpec).
import Fastify from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { port } from './serve.mjs';

const app = Fastify();
for (const [path, enableDraftSpec] of [['/limited', false], ['/draft', true]]) {
  app.register(async (scope) => {
    await scope.register(rateLimit, { max: 20, timeWindow: '1 minute', enableDraftSpec });
    scope.get(path, async () => 'ok');
  });
}
await app.listen({ port, host: '127.0.0.1' });
console.log(`ready ${app.server.address().port}`);
