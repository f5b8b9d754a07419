import t from 'tap';
import { checkLedger, checkTimeouts } from '../../src/cli/doctor.ts';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('doctor is OK against the dev emulator queues with lined-up timeouts', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s));
  t.equal(await main(['doctor'], io), 0, io.stdout);
  t.match(io.stdout, /OK\s+queue incoming \(tier 0\): exists, maxAttempts unlimited: CHAIN \(2\) decides/);
  t.match(io.stdout, /OK\s+queue incoming-2 \(tier 1\)/);
  t.match(io.stdout, /OK\s+notifier queue notifier: exists/);
  t.match(io.stdout, /OK\s+timeouts: JOB_TIMEOUT 60s < dispatchDeadline 90s <= REQUEST_TIMEOUT 300s/);
  t.notMatch(io.stdout, /FAIL/);
  // SERVICE_URL is set (NOTIFY_URL is not): no warning that it is missing.
  t.notMatch(io.stdout, /SERVICE_URL is not set/);
});

t.test('doctor warns when SERVICE_URL is not set, and only then', async (t) => {
  const s = await devStack(t);
  const io = captureIo({ ...cliEnv(s), SERVICE_URL: '' });
  t.equal(await main(['doctor'], io), 0, io.stdout);
  t.match(io.stdout, /WARN\s+SERVICE_URL is not set/);
  t.notMatch(io.stdout, /push route/, 'no service to probe');
});

t.test('doctor fails when a queue has fewer attempts than CHAIN, and says how to fix it', async (t) => {
  const s = await devStack(t);
  await s.emulator.ensureQueue(s.config.project, s.config.location, 'incoming-2', { maxAttempts: 1 });
  const io = captureIo(cliEnv(s));
  t.equal(await main(['doctor'], io), 1);
  t.match(io.stdout, /FAIL\s+queue incoming-2 \(tier 1\): maxAttempts is 1, CHAIN says 2/);
  t.match(io.stdout, /fix: gcloud tasks queues update incoming-2 .*--max-attempts=-1/);
  t.match(io.stdout, /OK\s+queue incoming \(tier 0\)/, 'the other queue is still fine');
});

t.test('doctor warns when a queue has exactly CHAIN attempts (no headroom) and accepts more', async (t) => {
  const s = await devStack(t);
  await s.emulator.ensureQueue(s.config.project, s.config.location, 'incoming', { maxAttempts: 2 });
  await s.emulator.ensureQueue(s.config.project, s.config.location, 'incoming-2', { maxAttempts: 5 });
  const io = captureIo(cliEnv(s));
  t.equal(await main(['doctor'], io), 0, io.stdout);
  t.match(io.stdout, /WARN\s+queue incoming \(tier 0\): maxAttempts 2 equals CHAIN, with no headroom/);
  t.match(io.stdout, /OK\s+queue incoming-2 \(tier 1\): exists, maxAttempts 5 >= CHAIN 2/);
});

t.test('doctor fails when a CHAIN queue or the notifier queue does not exist', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s, { CHAIN: 'incoming:2,incoming-2:2,incoming-9:2', NOTIFY_QUEUE: 'missing-notifier' }));
  t.equal(await main(['doctor'], io), 1);
  t.match(io.stdout, /FAIL\s+queue incoming-9 \(tier 2\): does not exist/);
  t.match(io.stdout, /fix: gcloud tasks queues create incoming-9/);
  t.match(io.stdout, /FAIL\s+notifier queue missing-notifier/);
});

t.test('doctor warns about a maxRetryDuration but still passes', async (t) => {
  const s = await devStack(t);
  await s.emulator.ensureQueue(s.config.project, s.config.location, 'incoming', { maxRetryDuration: '3600s' });
  const io = captureIo(cliEnv(s));
  t.equal(await main(['doctor'], io), 0, io.stdout);
  t.match(io.stdout, /WARN\s+queue incoming \(tier 0\): maxRetryDuration is 3600s/);
  t.match(io.stdout, /--max-retry-duration=0s/);
});

t.test('doctor fails on a maxRetryDuration of an unlimited tier: the duration alone would end it silently', async (t) => {
  const s = await devStack(t, { CHAIN: 'incoming:unlimited' });
  await s.emulator.ensureQueue(s.config.project, s.config.location, 'incoming', { maxRetryDuration: '600s' });
  const io = captureIo(cliEnv(s, { CHAIN: 'incoming:unlimited' }));
  t.equal(await main(['doctor'], io), 1);
  t.match(io.stdout, /OK\s+queue incoming \(tier 0\): exists, maxAttempts unlimited: CHAIN \(unlimited \(-1\)\) decides/);
  t.match(io.stdout, /FAIL\s+queue incoming \(tier 0\): maxRetryDuration is 600s.*the duration is the only limit/);
});

t.test('doctor fails when JOB_TIMEOUT is above REQUEST_TIMEOUT', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s, { JOB_TIMEOUT: '600s', REQUEST_TIMEOUT: '300s' }));
  t.equal(await main(['doctor'], io), 1);
  t.match(io.stdout, /FAIL\s+timeouts: .*JOB_TIMEOUT is not below REQUEST_TIMEOUT/);
  t.match(io.stdout, /fix: raise REQUEST_TIMEOUT .* >= 630s, or lower JOB_TIMEOUT to <= 270s/);
});

t.test('the timeout line-up: JOB_TIMEOUT < dispatchDeadline <= REQUEST_TIMEOUT', async (t) => {
  t.equal(checkTimeouts({ jobTimeoutMs: 60_000, requestTimeoutMs: 300_000 })[0]!.level, 'OK');
  t.equal(checkTimeouts({ jobTimeoutMs: 270_000, requestTimeoutMs: 300_000 })[0]!.level, 'OK', 'deadline 300s = request timeout');
  const cut = checkTimeouts({ jobTimeoutMs: 280_000, requestTimeoutMs: 300_000 })[0]!;
  t.equal(cut.level, 'FAIL', 'deadline 310s > request timeout');
  t.match(cut.what, /platform request timeout is shorter than the dispatch deadline/);
  const max = checkTimeouts({ jobTimeoutMs: 30 * 60_000, requestTimeoutMs: 60 * 60_000 })[0]!;
  t.equal(max.level, 'FAIL', 'a 30m job reaches the 30m deadline cap');
  t.match(max.what, /past the dispatch deadline/);
});

t.test('doctor with a bad configuration exits 2 naming the variable', async (t) => {
  const io = captureIo({ CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1', JOB_TIMEOUT: 'soon' });
  t.equal(await main(['doctor'], io), 2);
  t.match(io.stderr, /JOB_TIMEOUT/);
});

t.test('doctor warns that LEDGER=memory is one process with a bound per TTL; firestore is OK', async (t) => {
  const [memory] = checkLedger(loadConfig({ LEDGER: 'memory', LEDGER_TTL: '7d' }, 'cli'));
  t.equal(memory?.level, 'WARN');
  t.match(memory?.what, /lost on restart, not shared between instances, and at most 100,000 lineages per LEDGER_TTL \(7d\)/);
  t.match(memory?.fix, /LEDGER=firestore/);
  t.equal(checkLedger(loadConfig({ LEDGER: 'firestore' }, 'cli'))[0]?.level, 'OK');
});

t.test('doctor probes SERVICE_URL/tasks (this service answers 405) and NOTIFY_URL; a wrong path fails', async (t) => {
  const s = await devStack(t);
  const io = captureIo(cliEnv(s, { NOTIFY_URL: `${s.server.url}/healthz` }));
  t.equal(await main(['doctor'], io), 0, io.stdout);
  t.match(io.stdout, /OK\s+push route http:\/\/127\.0\.0\.1:\d+\/tasks: answers \(405\)/);
  t.match(io.stdout, /OK\s+NOTIFY_URL http:\/\/127\.0\.0\.1:\d+\/healthz: answers/);
  // A SERVICE_URL that is some other server (here: the emulator) is caught.
  const wrong = captureIo(cliEnv(s, { SERVICE_URL: `http://127.0.0.1:${s.emulator.port}` }));
  t.equal(await main(['doctor'], wrong), 1);
  t.match(wrong.stdout, /FAIL\s+push route .*\/tasks: answered 404/);
});
