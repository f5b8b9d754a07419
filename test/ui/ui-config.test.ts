import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/interfaces.ts';
import { createMemoryLedger } from '../../src/ledger/index.ts';

const serveEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  LOCATION: 'europe-west1',
  SERVICE_URL: 'https://executor-abc.a.run.app',
  OIDC_INVOKERS: 'tasks@p.iam.gserviceaccount.com',
};

t.test('UI is on in dev, off in serve unless UI=on, and a bad value names the variable', async (t) => {
  t.equal(loadConfig({}, 'dev').ui, true);
  t.equal(loadConfig(serveEnv, 'serve').ui, false);
  t.equal(loadConfig({ ...serveEnv, UI: 'on' }, 'serve').ui, true);
  t.equal(loadConfig({ UI: 'off' }, 'dev').ui, false);
  let err: unknown;
  try {
    loadConfig({ ...serveEnv, UI: 'yes' }, 'serve');
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ConfigError);
  t.match((err as Error).message, /UI/);
});

function app(env: Record<string, string>, mode: 'serve' | 'dev') {
  const config = loadConfig(env, mode);
  const registry = {
    make: () => {
      throw new Error('none');
    },
    has: () => false,
    types: () => [],
  };
  return buildApp(config, {
    ledger: createMemoryLedger(),
    notifier: { send: async () => {}, close: async () => {} },
    registry,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  }).app;
}

t.test('/ui serves the page and its two files; absent when off', async (t) => {
  const on = app({ UI: 'on' }, 'dev');
  t.teardown(() => on.close());
  const page = await on.inject({ method: 'GET', url: '/ui' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, /<script src="\/ui\/app\.js"/);
  t.match((await on.inject({ method: 'GET', url: '/ui/app.js' })).headers['content-type'], /javascript/);
  t.match((await on.inject({ method: 'GET', url: '/ui/style.css' })).headers['content-type'], /text\/css/);
  t.equal((await on.inject({ method: 'GET', url: '/' })).headers.location, '/ui');
  const off = app({ UI: 'off' }, 'dev');
  t.teardown(() => off.close());
  t.equal((await off.inject({ method: 'GET', url: '/ui' })).statusCode, 404);
});
