import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config.ts';
import { captureIo } from './capture-io.ts';

const base = { GOOGLE_CLOUD_PROJECT: 'p', AUTH: 'none', ALLOW_UNAUTHENTICATED: '1', LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1' };

t.test('executor pull refuses a CHAIN tier without a subscription: one line, exit 2', async (t) => {
  const io = captureIo({ ...base, CHAIN: 'incoming:3#incoming-pull,incoming-2:3' });
  t.equal(await main(['pull'], io), 2);
  t.equal(io.errLines.length, 1);
  t.match(
    io.stderr,
    /^executor: configuration error: CHAIN: pull mode needs a subscription on every tier \(queue#subscription\); "incoming-2" has none \(fix CHAIN; see README "Configuration"\)$/,
  );
});

t.test('pull mode config: serve rules for auth, LOCATION optional, PULL_MAX_MESSAGES defaults to MAX_CONCURRENCY', async (t) => {
  const c = loadConfig({ ...base, CHAIN: 'incoming:3#incoming-pull', MAX_CONCURRENCY: '250' }, 'pull');
  t.equal(c.location, '');
  t.equal(c.pullMaxMessages, 250);
  t.equal(c.chain[0]!.subscription, 'incoming-pull');
  t.equal(loadConfig({ ...base, PULL_MAX_MESSAGES: '40' }, 'pull').pullMaxMessages, 40);
  t.throws(() => loadConfig({ ...base, PULL_MAX_MESSAGES: '0' }, 'pull'), /PULL_MAX_MESSAGES/);
  t.throws(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', AUTH: 'none' }, 'pull'), /AUTH: none is refused/);
  t.throws(() => loadConfig({ AUTH: 'none', ALLOW_UNAUTHENTICATED: '1' }, 'pull'), /GOOGLE_CLOUD_PROJECT: required in pull mode/);
  t.throws(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' }, 'pull'), /OIDC_AUDIENCE|OIDC_INVOKERS/, 'AUTH=oidc by default, as serve');
});
