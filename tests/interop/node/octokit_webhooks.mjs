// GitHub webhooks with @octokit/webhooks' Node middleware at /webhook, secret in WEBHOOK_SECRET.
import http from 'node:http';
import { Webhooks, createNodeMiddleware } from '@octokit/webhooks';
import { listen } from './serve.mjs';

const webhooks = new Webhooks({ secret: process.env.WEBHOOK_SECRET });
webhooks.onAny(() => {});
listen(http.createServer(createNodeMiddleware(webhooks, { path: '/webhook' })));
