// The banner's pasteable CLI line works as printed: with AUTH=oidc it carries
// AUTH, GCE_METADATA_HOST and INVOKER_SERVICE_ACCOUNT so operator calls get ID
// tokens from the emulator, and CHAIN so status shows the right maximum; the
// blob folder makes large data work. Own file: gcp-metadata caches its
// detection per process.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { devBanner, startDev } from '../../src/dev.ts';
import { captureIo, FAST_RETRY } from '../cli/capture-io.ts';
import { freePort } from '../helpers/free-port.ts';

/** `export A=1 B='x y'` -> {A: '1', B: 'x y'} (the quoting devBanner writes). */
function parseExport(line: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of line.replace(/^\s*export\s+/, '').matchAll(/([A-Z_]+)=('(?:[^']|'\\'')*'|\S+)/g)) {
    const v = m[2]!;
    env[m[1]!] = v.startsWith("'") ? v.slice(1, -1).replaceAll("'\\''", "'") : v;
  }
  return env;
}

t.test('AUTH=oidc npm start: the banner line lets enqueue --watch and status authenticate, with the right chain and large data', async (t) => {
  const blobs = mkdtempSync(join(tmpdir(), 'banner-blobs-'));
  t.teardown(() => rmSync(blobs, { recursive: true, force: true }));
  const s = await startDev(
    {
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      AUTH: 'oidc',
      CHAIN: 'incoming:3,incoming-2:2',
      BLOB_DIR: blobs,
      LOG_LEVEL: 'silent',
    },
    pino({ level: 'silent' }),
    { retry: FAST_RETRY },
  );
  t.teardown(() => s.stop());
  t.equal(s.config.host, '127.0.0.1', 'dev listens on loopback by default');
  const banner = devBanner(s);
  const line = banner.split('\n').find((l) => l.trim().startsWith('export CLOUD_TASKS_EMULATOR_HOST='));
  t.ok(line, 'the banner has a pasteable export line');
  const env = parseExport(line!);
  t.same(Object.keys(env).sort(), ['AUTH', 'BLOB_DIR', 'CHAIN', 'CLOUD_TASKS_EMULATOR_HOST', 'GCE_METADATA_HOST', 'INVOKER_SERVICE_ACCOUNT', 'SERVICE_URL']);
  t.equal(env.BLOB_DIR, blobs);
  t.match(banner, /--oidc-service-account-email=/, 'the gcloud example signs its pushes too');
  // The dashboard sits behind the same auth: a browser gets 401, and the banner says so.
  t.equal((await fetch(`${s.server.url}/ui`)).status, 401);
  t.match(banner, /dashboard .*\/ui .*a browser cannot send the ID token/);

  // google-auth-library reads GCE_METADATA_HOST from the process environment.
  const saved = { host: process.env.GCE_METADATA_HOST, creds: process.env.GOOGLE_APPLICATION_CREDENTIALS };
  process.env.GCE_METADATA_HOST = env.GCE_METADATA_HOST;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  t.teardown(() => {
    if (saved.host === undefined) delete process.env.GCE_METADATA_HOST;
    else process.env.GCE_METADATA_HOST = saved.host;
    if (saved.creds !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.creds;
  });

  const big = join(blobs, 'big.json');
  writeFileSync(big, JSON.stringify({ blob: 'x'.repeat(1_500_000) }));
  const io = captureIo(env);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'banner-1', '--data', `@${big}`, '--watch', '--json'], io), 0, io.stderr);
  t.equal(JSON.parse(io.outLines.at(-1)!).state, 'succeeded', '1.5 MB of data went through the blob folder');
  const st = captureIo(env);
  t.equal(await main(['status', 'banner-1'], st), 0, st.stderr);
  t.match(st.stdout, /attempts\s+incoming 1\/3/, 'the maximum comes from the CHAIN the banner passed');

  // The notifications hint works under AUTH=oidc: not a bare curl (401), the CLI's tail.
  const hint = banner.split('\n').find((l) => l.startsWith('Notifications: '));
  t.notMatch(hint, /curl/, 'no curl without a token');
  t.match(hint, / tail /);
  const tail = captureIo(env);
  t.equal(await main(['tail', '--once', '--id', 'banner-1'], tail), 0, tail.stderr);
  t.match(tail.stdout, /succeeded banner-1/, 'the notification is there');
});
