// The bench's OIDC set-up, shared by run.ts, cpu-cost.ts and profile.ts: our
// emulator as the issuer and metadata server, one identity token from it, and
// the `serve` variables that verify exactly that token.
import { SERVE_ENV } from './common.ts';
import { freePort, type Proc, startProc } from './proc.ts';

export interface OidcBench {
  emulator: Proc;
  /** `executor serve` variables: SERVE_ENV with OIDC verification against the emulator. */
  env: Record<string, string>;
  /** The Authorization header the load sends. */
  headers: Record<string, string>;
}

export async function startOidcBench(executorEntry: string): Promise<OidcBench> {
  const port = await freePort();
  const emulator = await startProc(
    [executorEntry, 'emulator'],
    { HOST: '127.0.0.1', EMULATOR_PORT: String(port) },
    { port, readyPath: '/.well-known/openid-configuration' },
  );
  const audience = 'http://bench.invalid';
  const res = await fetch(`${emulator.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent(audience)}`, {
    headers: { 'Metadata-Flavor': 'Google' },
  });
  if (!res.ok) {
    await emulator.stop();
    throw new Error(`the emulator gave no identity token: ${res.status}`);
  }
  const token = (await res.text()).trim();
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { email: string };
  return {
    emulator,
    env: {
      ...SERVE_ENV,
      AUTH: 'oidc',
      ALLOW_UNAUTHENTICATED: '',
      OIDC_AUDIENCE: audience,
      OIDC_INVOKERS: claims.email,
      OIDC_ISSUER: emulator.url,
      OIDC_CERTS_URL: `${emulator.url}/oauth2/v1/certs`,
    },
    headers: { authorization: `Bearer ${token}` },
  };
}
