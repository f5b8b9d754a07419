// AUTH=oidc end to end: the CLI's operator calls carry a Google ID token that
// google-auth-library fetched from the metadata server, which in dev is the
// emulator (GCE_METADATA_HOST). Own file: gcp-metadata caches its detection
// per process.
import t from 'tap';
import { main } from '../../src/cli/main.ts';
import { DEV_SERVICE_ACCOUNT } from '../../src/dev.ts';
import { captureIo, cliEnv, devStack } from './capture-io.ts';

t.test('with AUTH=oidc enqueue --watch and status authenticate with ID tokens from the metadata server', async (t) => {
  const s = await devStack(t, { AUTH: 'oidc' });
  const saved = { host: process.env.GCE_METADATA_HOST, creds: process.env.GOOGLE_APPLICATION_CREDENTIALS };
  process.env.GCE_METADATA_HOST = `127.0.0.1:${s.emulator.port}`;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  t.teardown(() => {
    if (saved.host === undefined) delete process.env.GCE_METADATA_HOST;
    else process.env.GCE_METADATA_HOST = saved.host;
    if (saved.creds !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.creds;
  });
  const env = cliEnv(s, { AUTH: 'oidc', INVOKER_SERVICE_ACCOUNT: DEV_SERVICE_ACCOUNT });

  const anonymous = captureIo(cliEnv(s));
  t.equal(await main(['status', 'whatever'], anonymous), 1, 'without a token the operator API refuses');
  t.match(anonymous.stderr, /40[13]/);

  const io = captureIo(env);
  t.equal(await main(['enqueue', '--type', 'echo', '--name', 'oidc-1', '--watch', '--json'], io), 0, io.stderr);
  t.equal(JSON.parse(io.outLines.at(-1)!).state, 'succeeded');
  const st = captureIo(env);
  t.equal(await main(['status', 'oidc-1'], st), 0, st.stderr);
  t.match(st.stdout, /state\s+succeeded/);
});
