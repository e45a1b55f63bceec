// Serves the OpenAPI document and a Swagger UI page whose assets come from this process (no CDN),
// so /docs works in air-gapped clusters.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import Router from '@koa/router';

// The package's main module loads the whole UI bundle; its path helper alone is enough here.
const require = createRequire(import.meta.url);
const swaggerUiDir = (require('swagger-ui-dist/absolute-path.js') as () => string)();

const assets: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'application/javascript; charset=utf-8' },
};

const page = (title: string) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });</script>
</body>
</html>`;

export function apiDocsRouter(openapi: object, title: string): Router {
  const document = JSON.stringify(openapi);
  const loaded = new Map<string, string>();
  const router = new Router();
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page(title);
  });
  router.get('/docs/:asset', (ctx) => {
    const asset = assets[ctx.params.asset ?? ''];
    if (!asset) return;
    if (!loaded.has(asset.file)) loaded.set(asset.file, readFileSync(join(swaggerUiDir, asset.file), 'utf8'));
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = loaded.get(asset.file);
  });
  return router;
}
