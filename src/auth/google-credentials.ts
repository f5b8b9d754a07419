// Google clients look for credentials lazily and, when there are none, reject
// inside their own promise chains (unhandled: the process would exit). The
// backends that talk to Google ask this probe first, so a missing credential
// becomes one clear error (and one log line) instead.
import { MissingCredentials } from '../jobs/errors.ts';

export interface CredentialsProbe {
  /** Resolves when credentials are available; rejects with MissingCredentials. */
  check(): Promise<void>;
}

export function createCredentialsProbe(opts: {
  backend: string;
  /** The emulator variable that would make credentials unnecessary (named in the error). */
  emulatorVariable: string;
  /** Called once each time the probe starts failing (the one log line). */
  onMissing?: (message: string) => void;
  /** A failure is remembered this long before asking again (default 30 s). */
  retryMs?: number;
  /** For tests: how credentials are looked up. */
  lookup?: () => Promise<unknown>;
}): CredentialsProbe {
  const retryMs = opts.retryMs ?? 30_000;
  // google-auth-library is imported on the first check, not when a backend is configured.
  const lookup =
    opts.lookup ??
    (async () => {
      const { GoogleAuth } = await import('google-auth-library');
      return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getClient();
    });
  let ok = false;
  let failure: { at: number; error: MissingCredentials } | undefined;
  let pending: Promise<void> | undefined;

  return {
    check() {
      if (ok) return Promise.resolve();
      if (failure && Date.now() - failure.at < retryMs) return Promise.reject(failure.error);
      return (pending ??= lookup()
        .then(
          () => {
            ok = true;
            failure = undefined;
          },
          (err) => {
            const wasFailing = failure !== undefined;
            failure = { at: Date.now(), error: new MissingCredentials(opts.backend, opts.emulatorVariable, err) };
            if (!wasFailing) opts.onMissing?.(failure.error.message);
            throw failure.error;
          },
        )
        .finally(() => {
          pending = undefined;
        }));
    },
  };
}

/**
 * Client options for a Google client that talks to its local emulator
 * (`variable` set, e.g. FIRESTORE_EMULATOR_HOST): with the universe domain
 * given, the client does not ask google-auth-library for one, which probed the
 * GCE metadata server and printed a `MetadataLookupWarning` on every machine
 * off Google Cloud. Pub/Sub treats a client with a universe domain as a real
 * endpoint unless told it is an emulator. Empty when the variable is unset, so
 * production clients resolve everything as before.
 */
export function emulatorClientOptions(
  variable: 'FIRESTORE_EMULATOR_HOST' | 'PUBSUB_EMULATOR_HOST',
  env: NodeJS.ProcessEnv = process.env,
): { universeDomain?: string; emulatorMode?: boolean } {
  if (!env[variable]) return {};
  return variable === 'PUBSUB_EMULATOR_HOST' ? { universeDomain: 'googleapis.com', emulatorMode: true } : { universeDomain: 'googleapis.com' };
}
