// `executor enqueue --type T [--args JSON] [--data JSON|@file|-] [--name ID]
// [--queue Q] [--schedule-time RFC3339] [--watch] [--json]`
// Prints the lineage id (alone on stdout, so `ID=$(executor enqueue ...)`
// works). With --watch it waits for the lineage to end: exit 0 succeeded,
// 1 failed or cancelled. A job the SDK refuses is a usage error (2).
import { parseArgs } from 'node:util';
import { dispatchDeadlineFor } from '../app.ts';
import { InvalidJobError, TaskFailedError } from '../client/errors.ts';
import { Executor } from '../client/executor.ts';
import type { Config } from '../config.ts';
import type { BlobStore } from '../interfaces.ts';
import { cliConfig, formatRecord, parseJsonOption, readDataOption, requireQueueLocation, requireServiceUrl } from './cli-context.ts';
import { type CliIo, type Command, UsageError } from './command.ts';

/** gRPC NOT_FOUND: the queue does not exist. */
const NOT_FOUND = 5;

export const enqueueCommand: Command = async (argv, io) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      type: { type: 'string' },
      args: { type: 'string' },
      data: { type: 'string' },
      name: { type: 'string' },
      queue: { type: 'string' },
      'schedule-time': { type: 'string' },
      watch: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (!values.type) throw new UsageError('--type is required (a job type, e.g. echo)');
  let args: Record<string, unknown> | undefined;
  if (values.args !== undefined) {
    const parsed = parseJsonOption('--args', values.args);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--args must be a JSON object');
    args = parsed as Record<string, unknown>;
  }
  let scheduleTime: Date | undefined;
  if (values['schedule-time'] !== undefined) {
    scheduleTime = new Date(values['schedule-time']);
    if (Number.isNaN(scheduleTime.getTime())) throw new UsageError(`--schedule-time "${values['schedule-time']}" is not an RFC 3339 time`);
  }
  const data = values.data === undefined ? undefined : await readDataOption(values.data, (io as CliIo & { stdin?: NodeJS.ReadableStream }).stdin);

  const config = cliConfig(io.env);
  const serviceUrl = requireServiceUrl(config);
  const { project, location } = requireQueueLocation(config);
  const queue = values.queue ?? config.chain[0]!.queue;
  const tier = config.chain.find((t) => t.queue === queue);
  const blobs = await blobStore(config);
  const exe = new Executor({
    project,
    location,
    queue,
    serviceUrl,
    ...(tier?.url ? { pushUrl: tier.url } : {}),
    ...(config.cloudTasksEmulatorHost ? { emulatorHost: config.cloudTasksEmulatorHost } : {}),
    ...(blobs ? { blobs } : {}),
    offloadThresholdBytes: config.blobs.offloadThresholdBytes,
    ...(config.invokerServiceAccount ? { oidc: { serviceAccountEmail: config.invokerServiceAccount } } : {}),
    dispatchDeadlineSeconds: dispatchDeadlineFor(config.jobTimeoutMs),
    auth: config.auth.mode,
  });
  try {
    const result = await exe.enqueue({
      type: values.type,
      ...(args ? { args } : {}),
      ...(data !== undefined ? { data } : {}),
      ...(values.name ? { id: values.name } : {}),
      ...(scheduleTime ? { scheduleTime } : {}),
    });
    if (result.error) {
      if (result.error instanceof InvalidJobError) throw new UsageError(result.error.message);
      if ((result.error as { code?: unknown }).code === NOT_FOUND) {
        io.err(`executor: queue "${queue}" not found in projects/${project}/locations/${location} (check CHAIN, --queue, LOCATION)`);
        return 2;
      }
      throw result.error;
    }
    if (!tier)
      io.err(
        `executor: warning: queue "${queue}" is not in CHAIN (${config.chain.map((t) => t.queue).join(',')}), so its attempts are not limited by a tier (add it to CHAIN)`,
      );
    if (result.alreadyExisted) io.err(`executor: task "${result.id}" already exists (or ran recently); not created again (use another --name)`);
    if (!values.watch) {
      io.out(
        values.json
          ? JSON.stringify({
              id: result.id,
              queue,
              task: result.taskName,
              alreadyExisted: result.alreadyExisted,
              ...(result.dataRef ? { dataRef: result.dataRef } : {}),
            })
          : result.id,
      );
      return 0;
    }
    if (!values.json) io.out(result.id);
    const abort = new AbortController();
    const onSigint = () => abort.abort(new Error(`interrupted; the task keeps running (executor status ${result.id})`));
    process.once('SIGINT', onSigint);
    try {
      const record = await result.watch({
        signal: abort.signal,
        onProgress: (r) => {
          if (!values.json) io.err(`${r.state} (tier ${r.tier}, attempt ${r.attempts[String(r.tier)] ?? 0})${r.statusText ? `: ${r.statusText}` : ''}`);
        },
      });
      if (values.json) io.out(JSON.stringify(record));
      else for (const line of formatRecord(record, config.chain)) io.out(line);
      return 0;
    } catch (err) {
      if (!(err instanceof TaskFailedError)) throw err;
      if (values.json) io.out(JSON.stringify(err.record));
      else for (const line of formatRecord(err.record, config.chain)) io.out(line);
      return 1;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  } finally {
    await exe.close();
    await blobs?.close();
  }
};

async function blobStore(config: Config): Promise<BlobStore | undefined> {
  if (config.blobs.bucket) {
    const { createGcsBlobStore } = await import('../blobs/gcs-blob-store.ts');
    return createGcsBlobStore({ bucket: config.blobs.bucket });
  }
  if (config.blobs.dir) {
    const { createLocalBlobStore } = await import('../blobs/local-blob-store.ts');
    return createLocalBlobStore({ dir: config.blobs.dir });
  }
  return undefined;
}
