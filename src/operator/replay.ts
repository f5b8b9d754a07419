// Replay (POST /v1/tasks/:id:replay): a finished lineage's first envelope,
// enqueued again in the first tier as a new lineage that links back through
// `replayOf`. The ledger keeps what that needs (`source`) from the first
// delivery, bounded so a record stays far below Firestore's 1 MiB document.
import { randomBytes } from 'node:crypto';
import type { AttemptLedger, ReplaySource, TaskEnvelope, TaskQueue, Tier } from '../interfaces.ts';
import { isEnded } from '../ledger/lineage-rules.ts';

/** args + data kept for a replay up to this size (JSON bytes); larger lineages cannot be replayed. */
export const REPLAY_SOURCE_LIMIT = 64 * 1024;

/** The begin() fields of a delivery's envelope: what a replay needs, and the link of a replay. */
export function replayFieldsOf(envelope: TaskEnvelope | undefined): { source?: ReplaySource; replayOf?: string } {
  if (!envelope) return {};
  const replayOf = typeof envelope.replayOf === 'string' ? { replayOf: envelope.replayOf } : {};
  // An offloaded payload is deleted when its lineage ends: nothing to replay from.
  if (envelope.dataRef !== undefined) return { source: { type: envelope.type, omitted: true }, ...replayOf };
  const kept: ReplaySource = {
    type: envelope.type,
    ...(envelope.args !== undefined ? { args: envelope.args } : {}),
    ...(envelope.data !== undefined ? { data: envelope.data } : {}),
  };
  const size = Buffer.byteLength(JSON.stringify(kept));
  return { source: size <= REPLAY_SOURCE_LIMIT ? kept : { type: envelope.type, omitted: true }, ...replayOf };
}

export class ReplayRefused extends Error {
  readonly code: 'NotFound' | 'NotEnded' | 'NotReplayable';
  readonly permanent = true;
  readonly status: 404 | 409;
  readonly state?: string;
  constructor(code: ReplayRefused['code'], message: string, state?: string) {
    super(message);
    this.name = 'ReplayRefused';
    this.code = code;
    this.status = code === 'NotFound' ? 404 : 409;
    if (state !== undefined) this.state = state;
  }
}

export interface ReplayDeps {
  ledger: AttemptLedger;
  queue?: TaskQueue;
  chain: Tier[];
  invokerServiceAccount?: string;
  dispatchDeadlineSeconds: number;
}

/** A fresh lineage id that still says which lineage it replays (at most 500 characters). */
export function replayId(id: string): string {
  return `${id.slice(0, 480)}-replay-${randomBytes(5).toString('hex')}`;
}

export async function replayLineage(deps: ReplayDeps, id: string): Promise<{ id: string; replayOf: string; queue: string; taskName: string }> {
  const record = await deps.ledger.get(id);
  if (!record) throw new ReplayRefused('NotFound', `no task lineage "${id}"`);
  if (!isEnded(record.state)) throw new ReplayRefused('NotEnded', `"${id}" is ${record.state}; only a finished lineage can be replayed`, record.state);
  const source = record.source;
  if (!source)
    throw new ReplayRefused(
      'NotReplayable',
      `"${id}" kept no payload to replay (no job of it ever ran: cancelled while queued, or not a usable task); enqueue it again`,
      record.state,
    );
  if (source.omitted) {
    throw new ReplayRefused(
      'NotReplayable',
      `"${id}" kept no replayable payload (offloaded, or args and data above ${REPLAY_SOURCE_LIMIT} bytes); enqueue it again`,
      record.state,
    );
  }
  const tier = deps.chain[0]!;
  if (!deps.queue) throw new Error('no Cloud Tasks backend configured');
  if (!tier.url) throw new Error(`tier "${tier.queue}" has no URL: set SERVICE_URL or queue@url in CHAIN`);
  const newId = replayId(id);
  const envelope: TaskEnvelope = {
    id: newId,
    type: source.type,
    ...(source.args !== undefined ? { args: source.args } : {}),
    ...(source.data !== undefined ? { data: source.data } : {}),
    ...(record.notify ? { notify: record.notify } : {}),
    replayOf: id,
  };
  const created = await deps.queue.createTask({
    queue: tier.queue,
    taskName: newId,
    url: tier.url,
    body: Buffer.from(JSON.stringify(envelope)),
    headers: { 'Content-Type': 'application/json' },
    ...(deps.invokerServiceAccount ? { oidc: { serviceAccountEmail: deps.invokerServiceAccount, audience: tier.url } } : {}),
    dispatchDeadlineSeconds: deps.dispatchDeadlineSeconds,
  });
  return { id: newId, replayOf: id, queue: tier.queue, taskName: created.taskName };
}
