// `npm run apikey -- create --scopes events:read,events:write [--id <id>] [--description <text>]`:
// prints a new API key once, and the entry to add to the AUTH_API_KEYS_FILE of the services.
import { parseArgs } from 'node:util';
import { createApiKey } from './api-keys.js';
import { parseList } from './config.js';
import { SCOPES, type Scope } from './scopes.js';

const usage = `usage: npm run apikey -- create --scopes <scope,...> [--id <id>] [--description <text>]
scopes: ${SCOPES.join(', ')}`;

function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { scopes: { type: 'string' }, id: { type: 'string' }, description: { type: 'string' } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'create' || values.scopes === undefined) {
    console.error(usage);
    return 2;
  }
  const scopes = parseList(values.scopes);
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    console.error(`unknown scope: ${unknown.join(', ') || '(none given)'}\n${usage}`);
    return 2;
  }
  try {
    const { key, entry } = createApiKey({ id: values.id, scopes: scopes as Scope[], description: values.description });
    console.log(`API key (shown once; hand it to the caller): ${key}`);
    console.log('Entry for the AUTH_API_KEYS_FILE array:');
    console.log(JSON.stringify(entry));
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
