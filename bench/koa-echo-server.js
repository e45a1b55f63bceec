// The framework floor for POST benchmarks: the bare echo of echo-server.js, but through the
// packages the services are built on (koa, @koa/router, koa-bodyparser), with no validation,
// storage, logs, metrics or tracing. The gap to echo-server.js is what the framework costs.
import Koa from 'koa';
import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';

const app = new Koa();
const router = new Router();
router.post(['/events', '/events/batch'], bodyParser({ enableTypes: ['json'] }), (ctx) => {
  ctx.status = 201;
  ctx.body = ctx.request.body;
});
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
