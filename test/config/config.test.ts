import t from 'tap';
import { ConfigError, loadConfig, parseChain, parseDuration } from '../../src/config.ts';

const serveEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  LOCATION: 'europe-west1',
  SERVICE_URL: 'https://executor-abc.a.run.app',
  OIDC_INVOKERS: 'tasks@p.iam.gserviceaccount.com',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('CHAIN parses queue[:maxAttempts][@url][#subscription] with MAX_ATTEMPTS as the default', async (t) => {
  const chain = parseChain('incoming,incoming-2:5@https://other.run.app/tasks,incoming-3:unlimited#sub-3', 7, 'https://svc.run.app');
  t.same(chain, [
    { index: 0, queue: 'incoming', maxAttempts: 7, url: 'https://svc.run.app/tasks' },
    { index: 1, queue: 'incoming-2', maxAttempts: 5, url: 'https://other.run.app/tasks' },
    { index: 2, queue: 'incoming-3', maxAttempts: null, url: 'https://svc.run.app/tasks', subscription: 'sub-3' },
  ]);
});

t.test('CHAIN refuses bad entries with one line naming the variable', async (t) => {
  for (const bad of ['', 'a:0', 'a:x', 'bad_queue!', 'a,a', 'a:unlimited,b', 'a@notaurl']) {
    const err = configError(() => parseChain(bad, 7));
    t.equal(err.variable, 'CHAIN', bad);
    t.notMatch(err.message, /\n/, 'one line');
  }
});

t.test('serve mode loads a production environment', async (t) => {
  const c = loadConfig(serveEnv, 'serve');
  t.equal(c.auth.mode, 'oidc');
  t.ok(c.auth.audiences.includes('https://executor-abc.a.run.app'));
  t.ok(c.auth.audiences.includes('https://executor-abc.a.run.app/tasks'));
  t.equal(c.jobTimeoutMs, 540_000);
  t.equal(c.shutdownGraceMs, 8000);
  t.equal(c.notify.queue, 'notifier');
  t.same([...c.notify.on], ['failed', 'cancelled'], 'a cancel is heard wherever failures are');
  t.equal(c.chain[0]!.maxAttempts, 7);
});

t.test('serve refuses AUTH=none unless ALLOW_UNAUTHENTICATED=1', async (t) => {
  t.equal(configError(() => loadConfig({ ...serveEnv, AUTH: 'none' }, 'serve')).variable, 'AUTH');
  t.equal(loadConfig({ ...serveEnv, AUTH: 'none', ALLOW_UNAUTHENTICATED: '1' }, 'serve').auth.mode, 'none');
});

t.test('bad values stop start-up with the variable named', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LEDGER: 'redis' }, 'LEDGER'],
    [{ JOB_TIMEOUT: 'forever' }, 'JOB_TIMEOUT'],
    [{ JOB_TIMEOUT: '45m' }, 'JOB_TIMEOUT'],
    [{ NOTIFY_ON: 'sometimes' }, 'NOTIFY_ON'],
    [{ NOTIFY_TOPIC: 'my-topic' }, 'NOTIFY_TOPIC'],
    [{ MAX_CONCURRENCY: '0' }, 'MAX_CONCURRENCY'],
    [{ SERVICE_URL: 'ftp://x' }, 'SERVICE_URL'],
    [{ CLOUD_TASKS_EMULATOR_HOST: 'localhost' }, 'CLOUD_TASKS_EMULATOR_HOST'],
    [{ EXEC_PERMANENT_EXIT_CODES: '2,300' }, 'EXEC_PERMANENT_EXIT_CODES'],
    [{ OIDC_ISSUER: 'http://127.0.0.1:1' }, 'OIDC_CERTS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ];
  for (const [env, variable] of cases) {
    const err = configError(() => loadConfig({ ...serveEnv, ...env }, 'serve'));
    t.equal(err.variable, variable, JSON.stringify(env));
    t.match(err.message, new RegExp(`^${variable}: `));
    t.notMatch(err.message, /\n/);
  }
});

t.test('a variable with a fixed set of values names every one of them when the value is not one', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['LEDGER', 'redis', 'memory, firestore'],
    ['AUTH', 'iam', 'oidc, none'],
    ['UI', 'yes', 'on, off'],
    ['LOG_LEVEL', 'loud', 'fatal, error, warn, info, debug, trace, silent'],
  ];
  for (const [variable, value, choices] of cases) {
    const err = configError(() => loadConfig({ ...serveEnv, [variable]: value }, 'serve'));
    t.equal(err.message, `${variable}: must be one of ${choices}, got "${value}"`, variable);
  }
});

t.test('serve requires the project, location and invokers', async (t) => {
  t.equal(configError(() => loadConfig({ ...serveEnv, GOOGLE_CLOUD_PROJECT: '' }, 'serve')).variable, 'GOOGLE_CLOUD_PROJECT');
  t.equal(configError(() => loadConfig({ ...serveEnv, OIDC_INVOKERS: '' }, 'serve')).variable, 'OIDC_INVOKERS');
});

t.test('dev mode has local defaults and needs nothing', async (t) => {
  const c = loadConfig({}, 'dev');
  t.equal(c.auth.mode, 'none');
  t.equal(c.project, 'local-project');
  t.equal(c.location, 'us-central1');
  t.equal(c.ledger.kind, 'memory');
  t.equal(c.emulatorPort, 8123);
});

t.test('an empty NOTIFY_QUEUE turns the notifier queue off', async (t) => {
  t.equal(loadConfig({ ...serveEnv, NOTIFY_QUEUE: '' }, 'serve').notify.queue, undefined);
  t.same([...loadConfig({ ...serveEnv, NOTIFY_ON: 'all' }, 'serve').notify.on].sort(), ['cancelled', 'failed', 'forwarded', 'succeeded']);
});

t.test('durations accept units and bare seconds', async (t) => {
  t.equal(parseDuration('X', '30'), 30_000);
  t.equal(parseDuration('X', '1500ms'), 1500);
  t.equal(parseDuration('X', '9m'), 540_000);
  t.equal(parseDuration('X', '7d'), 7 * 86_400_000);
});

t.test('EXEC_ENV_PASS picks the listed variables that are set; loader variables stop start-up', async (t) => {
  const c = loadConfig({ EXEC_ENV_PASS: 'PATH,TZ,MISSING', PATH: '/bin', TZ: 'UTC', SECRET: 'x' }, 'dev');
  t.same(c.jobs.execEnv, { PATH: '/bin', TZ: 'UTC' });
  t.same(
    loadConfig({ PATH: '/bin', HOME: '/h', LANG: 'C', TMPDIR: '/t', TZ: 'UTC', AWS_SECRET: 'x' }, 'dev').jobs.execEnv,
    { PATH: '/bin', HOME: '/h', LANG: 'C', TZ: 'UTC', TMPDIR: '/t' },
    'default list',
  );
  for (const name of ['NODE_OPTIONS', 'BASH_ENV', 'ENV', 'GCONV_PATH', 'PERL5OPT', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'PYTHONSTARTUP']) {
    t.throws(() => loadConfig({ EXEC_ENV_PASS: `PATH,${name}` }, 'dev'), { name: 'ConfigError', variable: 'EXEC_ENV_PASS' }, name);
  }
  t.throws(() => loadConfig({ EXEC_ENV_PASS: 'A B' }, 'dev'), { name: 'ConfigError', variable: 'EXEC_ENV_PASS' });
});

t.test('the exec kill grace never exceeds half of SHUTDOWN_GRACE (5 s at most)', async (t) => {
  t.equal(loadConfig({}, 'dev').jobs.execKillGraceMs, 4000, 'default SHUTDOWN_GRACE 8s');
  t.equal(loadConfig({ SHUTDOWN_GRACE: '2s' }, 'dev').jobs.execKillGraceMs, 1000);
  t.equal(loadConfig({ SHUTDOWN_GRACE: '60s' }, 'dev').jobs.execKillGraceMs, 5000);
});

t.test('BLOB_REF_KEY must be at least 32 characters', async (t) => {
  t.throws(() => loadConfig({ BLOB_REF_KEY: 'short' }, 'dev'), { name: 'ConfigError', variable: 'BLOB_REF_KEY' });
  t.equal(loadConfig({ BLOB_REF_KEY: 'k'.repeat(32) }, 'dev').blobs.refKey, 'k'.repeat(32));
});

t.test('SERVICE_URL is accepted with or without a trailing /tasks (normalised, said once); any other path is refused in one line', async (t) => {
  const env = { GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', AUTH: 'none', ALLOW_UNAUTHENTICATED: '1', CHAIN: 'a,b' };
  for (const given of ['https://svc.example', 'https://svc.example/', 'https://svc.example/tasks', 'https://svc.example/tasks/']) {
    const c = loadConfig({ ...env, SERVICE_URL: given }, 'serve');
    t.equal(c.serviceUrl, 'https://svc.example', given);
    t.equal(c.chain[1]!.url, 'https://svc.example/tasks', `${given}: forwards go to /tasks, never /tasks/tasks`);
    t.equal(c.serviceUrlNote !== undefined, given.includes('/tasks'), `${given}: normalisation is said`);
  }
  for (const given of ['https://svc.example/api', 'https://svc.example/tasks/x', 'https://svc.example/?a=1']) {
    const err = (() => {
      try {
        loadConfig({ ...env, SERVICE_URL: given }, 'dev');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    t.equal(err?.variable, 'SERVICE_URL', `${given}: refused`);
    t.notMatch(err?.message ?? '', /\n/, 'one line');
  }
});

t.test('LEDGER_MAX_BYTES bounds the memory ledger (default 128 MiB); a bad value is one line naming it', async (t) => {
  t.equal(loadConfig(serveEnv, 'serve').ledger.maxBytes, 128 * 1024 * 1024);
  t.equal(loadConfig({ ...serveEnv, LEDGER_MAX_BYTES: '67108864' }, 'serve').ledger.maxBytes, 64 * 1024 * 1024);
  for (const bad of ['lots', '1024', '-5', '1.5']) {
    const err = configError(() => loadConfig({ ...serveEnv, LEDGER_MAX_BYTES: bad }, 'serve'));
    t.equal(err.variable, 'LEDGER_MAX_BYTES', bad);
    t.notMatch(err.message, /\n/, 'one line');
  }
});
