// express-actuator under /actuator (Spring Boot's layout): /actuator/health, /actuator/info.
import http from 'node:http';
import express from 'express';
import actuator from 'express-actuator';
import { listen } from './serve.mjs';

const app = express();
app.use(actuator({ basePath: '/actuator' }));
listen(http.createServer(app));
