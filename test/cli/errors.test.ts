// The CLI's failures as a user sees them: real subprocesses of bin/executor.js,
// each ending in one line `executor: <what went wrong> (<what to do>)` without
// a stack trace, and the documented exit code (1 = the operation failed,
// 2 = usage or configuration). Help and --version of every command exit 0 and
// start nothing.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import t, { type Test } from 'tap';
import { explainError } from '../../src/cli/errors.ts';
import { COMMANDS, main, version } from '../../src/cli/main.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { freePort } from '../helpers/free-port.ts';

const BIN = fileURLToPath(new URL('../../bin/executor.js', import.meta.url));

// Some thirty processes of the CLI; a busy machine makes each slow.
t.setTimeout(600_000);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    // A clean environment: only what the case gives (and PATH, HOME for the clients).
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code) || -1 : 0, stdout, stderr });
    });
  });
}

/** One line, the documented shape, no stack frames. */
function oneLine(t: Test, r: Ran, what: string): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
  t.notMatch(r.stderr, /^\s+at /m, `${what}: no stack frames`);
  t.match(lines[0] ?? '', /^executor: .+ \(.+\)$/, `${what}: "executor: <what went wrong> (<what to do>)"`);
  return lines[0] ?? '';
}

const work = mkdtempSync(join(tmpdir(), 'cli-errors-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const notJson = join(work, 'not-json-state.json');
writeFileSync(notJson, 'not json\nat all\n');
// A project made with `npm init -y` ("type": "commonjs") and an ES-module jobs.ts.
mkdirSync(join(work, 'cjs-app'));
writeFileSync(join(work, 'cjs-app', 'package.json'), JSON.stringify({ name: 'app', type: 'commonjs' }));
writeFileSync(join(work, 'cjs-app', 'jobs.ts'), "import { readFile } from 'node:fs/promises';\nexport default [readFile];\n");

t.test('usage and configuration failures exit 2 with one line', async (t) => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['no command', [], {}, /no command given/],
    ['unknown command', ['frobnicate'], {}, /unknown command "frobnicate"/],
    ['help of an unknown command', ['help', 'frobnicate'], {}, /unknown command "frobnicate"/],
    ['unknown option', ['enqueue', '--type', 'echo', '--bogus'], { SERVICE_URL: 'http://127.0.0.1:1' }, /unknown option --bogus.*executor help enqueue/],
    ['option without its value', ['enqueue', '--type'], {}, /--type/],
    ['missing id', ['status'], { SERVICE_URL: 'http://127.0.0.1:1' }, /usage: executor status ID/],
    ['unexpected argument', ['tail', 'extra'], { SERVICE_URL: 'http://127.0.0.1:1' }, /unexpected argument extra/],
    [
      'bad JSON',
      ['enqueue', '--type', 'echo', '--data', '{nope'],
      { SERVICE_URL: 'http://127.0.0.1:1', CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1' },
      /--data is not valid JSON/,
    ],
    ['bad CHAIN', ['status', 'abc'], { SERVICE_URL: 'http://127.0.0.1:1', CHAIN: 'incoming:x' }, /CHAIN: .*"x".*fix CHAIN/],
    ['bad LOG_LEVEL for dev', ['dev'], { LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    ['bad PORT for dev', ['dev'], { PORT: 'eighty' }, /PORT/],
    ['serve without a project', ['serve'], {}, /GOOGLE_CLOUD_PROJECT: required/],
    // The server commands refuse what they do not know instead of starting without it.
    ['dev with an unknown option', ['dev', '--frseh'], { PORT: '0', EMULATOR_PORT: '0' }, /dev: unknown option --frseh.*executor help dev/],
    ['emulator with an unknown option', ['emulator', '--bogus'], { EMULATOR_PORT: '0' }, /emulator: unknown option --bogus/],
    ['serve with an argument', ['serve', 'now'], {}, /serve: unexpected argument now/],
    ['pull with an unknown option', ['pull', '--bogus'], {}, /pull: unknown option --bogus/],
    // A state file that is not JSON: Node's parse error quotes the text, newline included; still one line.
    [
      'emulator with a state file that is not JSON',
      ['emulator'],
      { EMULATOR_PORT: '0', EMULATOR_STATE: notJson },
      /EMULATOR_STATE: cannot read .*not valid JSON.*--fresh/,
    ],
    [
      'dev with a JOBS_MODULE that is not there',
      ['dev', '--fresh'],
      { PORT: '0', EMULATOR_PORT: '0', JOBS_MODULE: join(work, 'no-such-jobs.mjs'), LOG_LEVEL: 'silent' },
      /configuration error: JOBS_MODULE: ".*no-such-jobs\.mjs" cannot be loaded: .*\(fix JOBS_MODULE/,
    ],
    [
      'dev with an ES-module JOBS_MODULE in a "type": "commonjs" project',
      ['dev', '--fresh'],
      { PORT: '0', EMULATOR_PORT: '0', JOBS_MODULE: join(work, 'cjs-app', 'jobs.ts'), LOG_LEVEL: 'silent', NODE_NO_WARNINGS: '1' },
      /configuration error: JOBS_MODULE: ".*jobs\.ts" cannot be loaded: .*; Node loads it as CommonJS: .*\.mts.*npm pkg set type=module.*\(fix JOBS_MODULE/,
    ],
    ['serve with AUTH=none', ['serve'], { GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', AUTH: 'none' }, /ALLOW_UNAUTHENTICATED/],
    ['SERVICE_URL not a URL', ['status', 'abc'], { SERVICE_URL: 'nope' }, /SERVICE_URL: "nope" is not a URL/],
    ['enqueue without SERVICE_URL', ['enqueue', '--type', 'echo'], { CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1' }, /SERVICE_URL/],
  ];
  for (const [what, args, env, message] of cases) {
    const r = await cli(args, env);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(oneLine(t, r, what), message, what);
  }
});

t.test('--help of every command, and help COMMAND, print its usage, exit 0 and start nothing', async (t) => {
  const names = Object.keys(COMMANDS);
  for (const name of ['serve', 'dev', 'emulator', 'enqueue', 'status', 'cancel', 'tail', 'redrive', 'doctor'])
    t.ok(names.includes(name), `${name} is in the command table`);
  // Every command of the table, including ones added later: `COMMAND --help`
  // as a real process (a server started by mistake would keep it alive until
  // the timeout, code -1), the other spellings in-process (main returns).
  for (const name of names) {
    const r = await cli([name, '--help'], { PORT: '1', EMULATOR_PORT: '1' });
    t.equal(r.code, 0, `${name} --help: exit 0 ${r.stderr}`);
    t.match(r.stdout, new RegExp(`^usage: executor ${name}`), `${name} --help: usage of ${name}`);
    t.equal(r.stderr, '', `${name} --help: nothing on stderr`);
    for (const args of [
      [name, '-h'],
      ['help', name],
      [name, '--type', 'x', '--help'],
    ]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { env: { PORT: '1', EMULATOR_PORT: '1' }, out: (l) => out.push(l), err: (l) => err.push(l) });
      t.equal(code, 0, `${args.join(' ')}: exit 0`);
      t.match(out.join('\n'), new RegExp(`^usage: executor ${name}`), `${args.join(' ')}: usage of ${name}`);
      t.same(err, [], `${args.join(' ')}: nothing on stderr`);
    }
  }
  const all = await cli(['--help']);
  t.equal(all.code, 0);
  for (const name of Object.keys(COMMANDS)) t.match(all.stdout, `  ${name}`);
});

t.test('--version prints the package version', async (t) => {
  const r = await cli(['--version']);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim(), version());
  t.match(version(), /^\d+\.\d+\.\d+/);
});

t.test('operations that fail exit 1 with one line naming what to check', async (t) => {
  const closed = await freePort();
  const status = await cli(['status', 'abc'], { SERVICE_URL: `http://127.0.0.1:${closed}` });
  t.equal(status.code, 1, 'status of an unreachable SERVICE_URL');
  t.match(oneLine(t, status, 'status unreachable'), new RegExp(`cannot reach the service.*ECONNREFUSED.*SERVICE_URL=http://127\\.0\\.0\\.1:${closed}`));

  const enq = await cli(['enqueue', '--type', 'echo'], { SERVICE_URL: 'http://127.0.0.1:1', CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${closed}` });
  t.equal(enq.code, 1, 'enqueue to an unreachable emulator');
  t.match(oneLine(t, enq, 'enqueue unreachable'), new RegExp(`cannot reach CLOUD_TASKS_EMULATOR_HOST=127\\.0\\.0\\.1:${closed}: ECONNREFUSED`));

  const emulator = await startEmulator({ logger: pino({ level: 'silent' }) });
  t.teardown(() => emulator.close());
  await emulator.ensureQueue('local-project', 'us-central1', 'incoming', { maxAttempts: -1 });
  const big = join(work, 'big.json');
  writeFileSync(big, JSON.stringify({ blob: 'x'.repeat(1_500_000) }));
  // BLOB_DIR empty: no blob store, so the 1.5 MB body goes to Cloud Tasks as it is.
  const env = { SERVICE_URL: 'http://127.0.0.1:1', CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${emulator.port}`, BLOB_DIR: '' };
  const tooLarge = await cli(['enqueue', '--type', 'echo', '--data', `@${big}`], env);
  t.equal(tooLarge.code, 1, 'a too-large task');
  t.match(oneLine(t, tooLarge, 'too large'), /Task size too large.*\(set BLOB_DIR or BUCKET/);

  // No Google credentials (off the emulator): one line saying so, for Cloud Tasks and for ID tokens.
  const noCreds = { GOOGLE_APPLICATION_CREDENTIALS: join(work, 'no-such-key.json'), GCE_METADATA_HOST: `127.0.0.1:${closed}` };
  const enqNoCreds = await cli(['enqueue', '--type', 'echo'], {
    ...noCreds,
    GOOGLE_CLOUD_PROJECT: 'p',
    LOCATION: 'us-central1',
    SERVICE_URL: 'http://127.0.0.1:1',
  });
  t.equal(enqNoCreds.code, 1, 'enqueue without credentials');
  t.match(oneLine(t, enqNoCreds, 'enqueue without credentials'), /^executor: Cloud Tasks: no Google credentials \(.*CLOUD_TASKS_EMULATOR_HOST\)$/);
  const doctorNoCreds = await cli(['doctor'], { ...noCreds, GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'us-central1' });
  t.equal(doctorNoCreds.code, 1, 'doctor without credentials');
  t.match(doctorNoCreds.stdout, /FAIL\s+queue incoming \(tier 0\): cannot read it: Cloud Tasks: no Google credentials/, 'doctor reports it as a check');
  t.equal(doctorNoCreds.stderr, '', 'doctor without credentials: no stack trace');
  const statusNoCreds = await cli(['status', 'abc'], { ...noCreds, AUTH: 'oidc', SERVICE_URL: 'http://127.0.0.1:1' });
  t.equal(statusNoCreds.code, 1, 'status with AUTH=oidc without credentials');
  t.match(oneLine(t, statusNoCreds, 'status without credentials'), /ID token for http:\/\/127\.0\.0\.1:1: no Google credentials/);

  const missing = await cli(['enqueue', '--type', 'echo', '--queue', 'no-such-queue'], env);
  t.equal(missing.code, 2, 'a queue that does not exist is a configuration error');
  t.match(oneLine(t, missing, 'missing queue'), /no-such-queue/);
});

t.test('a busy port stops dev and emulator with one line naming PORT or EMULATOR_PORT', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const busy = String((blocker.address() as { port: number }).port);
  const dev = await cli(['dev'], { PORT: busy, EMULATOR_PORT: String(await freePort()), LOG_LEVEL: 'silent' });
  t.equal(dev.code, 2);
  t.match(oneLine(t, dev, 'dev PORT busy'), new RegExp(`PORT: port ${busy} .*already in use.*fix PORT`));
  const emu = await cli(['dev'], { PORT: String(await freePort()), EMULATOR_PORT: busy, LOG_LEVEL: 'silent' });
  t.equal(emu.code, 2);
  t.match(oneLine(t, emu, 'dev EMULATOR_PORT busy'), /EMULATOR_PORT: port \d+ .*already in use.*fix EMULATOR_PORT/);
  const alone = await cli(['emulator'], { EMULATOR_PORT: busy, LOG_LEVEL: 'silent' });
  t.equal(alone.code, 2);
  t.match(oneLine(t, alone, 'emulator busy'), /EMULATOR_PORT/);
});

t.test('Google API errors, numeric or named, become plain words', async (t) => {
  const ctx = { command: 'enqueue', env: { CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:8123' } };
  const rows: Array<[unknown, RegExp, 1 | 2]> = [
    [
      { code: 3, message: '3 INVALID_ARGUMENT: Task size too large: 2000000 bytes' },
      /^executor: Cloud Tasks refused the task: Task size too large: 2000000 bytes \(set BLOB_DIR or BUCKET/,
      1,
    ],
    [{ code: 'INVALID_ARGUMENT', message: 'Task size too large' }, /set BLOB_DIR or BUCKET/, 1],
    [
      { code: 14, message: 'request to http://127.0.0.1:8123/v2/... failed, reason: connect ECONNREFUSED 127.0.0.1:8123' },
      /cannot reach CLOUD_TASKS_EMULATOR_HOST=127\.0\.0\.1:8123: ECONNREFUSED/,
      1,
    ],
    [{ code: 'UNAVAILABLE', message: 'No connection established' }, /cannot reach CLOUD_TASKS_EMULATOR_HOST/, 1],
    [
      { code: 7, message: '7 PERMISSION_DENIED: The principal lacks IAM permission "cloudtasks.tasks.create"' },
      /permission denied .*roles\/cloudtasks\.enqueuer/,
      1,
    ],
    [{ code: 'PERMISSION_DENIED', message: 'denied' }, /roles\/cloudtasks\.enqueuer/, 1],
    [{ code: 16, message: 'Could not load the default credentials' }, /not authenticated.*gcloud auth application-default login/, 1],
    [{ code: 5, message: 'Queue does not exist' }, /not found.*GOOGLE_CLOUD_PROJECT, LOCATION and CHAIN/, 1],
    [{ code: 8, message: 'Quota exceeded' }, /quota/, 1],
    [Object.assign(new Error('bad\n    at foo (x.js:1:1)'), { code: 'ERR_SOMETHING' }), /^executor: enqueue failed: bad at foo/, 1],
    ['a string', /a string/, 1],
  ];
  for (const [err, line, exitCode] of rows) {
    const got = explainError(err, ctx);
    t.match(got.line, line, JSON.stringify(err));
    t.equal(got.exitCode, exitCode);
    t.notMatch(got.line, /\n/, 'one line');
  }
  const noEmulator = explainError({ code: 14, message: 'unavailable' }, { command: 'enqueue', env: {} });
  t.match(noEmulator.line, /the Cloud Tasks API/, 'without the emulator the line names the API, not the variable');
  const operator403 = explainError(
    Object.assign(new Error('GET /v1/tasks/x: 403 forbidden'), { name: 'OperatorError', status: 403, code: 'PermissionDenied' }),
    { command: 'status', env: {} },
  );
  t.match(operator403.line, /roles\/run\.invoker.*OIDC_INVOKERS/);
});
