// Every public contract of the service in one place (graphile-worker style).
// Implementations live next to their interface's folder: ledger/, queues/,
// notifier/, blobs/, jobs/. Nothing here has runtime code except constants.
import type { Logger } from 'pino';
import type { CloudEvent, ErrorInfo, JobRecord, JobRef, JobTaskEndState, TaskEnvelope } from './schemas/index.ts';

export type { CloudEvent, ErrorInfo, JobRecord, JobRef, JobTaskEndState, TaskEnvelope };

/** Milliseconds since the epoch; injectable so tests need no sleeps. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One tier of the retry chain (CHAIN entry). */
export interface Tier {
  /** 0-based position in the chain. */
  index: number;
  /** Cloud Tasks queue id (short name). */
  queue: string;
  /** Attempts in this tier before forwarding; null = unlimited (never forwards). */
  maxAttempts: number | null;
  /** Push URL of the worker that serves this tier; default SERVICE_URL + /tasks. */
  url?: string;
  /** Pub/Sub subscription that feeds this tier (POST /pubsub), if any. */
  subscription?: string;
}

// ---------------------------------------------------------------- ledger

export type LineageState =
  | 'running' // an attempt is in progress
  | 'retrying' // last attempt failed retryably; Cloud Tasks will retry
  | 'throttled' // last push refused at the concurrency limit
  | 'succeeded'
  | 'failed'
  | 'forwarded' // handed to the next tier; the lineage continues there
  | 'cancelled';

/** States after which no delivery of the lineage runs the job again. */
export const ENDED_STATES: readonly LineageState[] = ['succeeded', 'failed', 'cancelled'];

export type AttemptOutcome =
  | 'running'
  | 'succeeded'
  | 'failed' // permanent failure or last tier exhausted
  | 'retry' // retryable failure, Cloud Tasks retries
  | 'throttled'
  | 'forwarded'
  | 'aborted' // shutdown
  | 'crashed' // began and never finished: its lease expired (SIGKILL, OOM)
  | 'cancelled' // the job was aborted by a cancel
  | 'duplicate';

/** The running attempt's hold on its lineage (one run per delivery). */
export interface RunLease {
  /** Random per delivery. */
  holder: string;
  tier: number;
  attempt: number;
  /** ISO time: job timeout + LEASE_MARGIN after the begin. */
  until: string;
}

export interface AttemptEntry {
  tier: number;
  attempt: number;
  queue: string;
  taskName: string;
  outcome: AttemptOutcome;
  startedAt: string;
  finishedAt?: string;
  error?: ErrorInfo;
}

export interface LineageRecord {
  id: string;
  type?: string;
  state: LineageState;
  /** Highest tier seen. */
  tier: number;
  queue?: string;
  /** Attempts counted per tier, keyed by tier index as a string. */
  attempts: Record<string, number>;
  maxAttempts?: number | null;
  /** Bounded; newest last. */
  history: AttemptEntry[];
  error?: ErrorInfo;
  result?: unknown;
  /** Blob reference when the job's output was too large to keep inline. */
  outputRef?: string;
  /** Blob reference of the offloaded payload (deleted when the lineage ends). */
  dataRef?: string;
  notify?: { url?: string; topic?: string };
  /** Held while an attempt runs; an expired one counts as a crash. */
  lease?: RunLease;
  /** Attempts that began and never finished (leases that expired). */
  crashes?: number;
  /** Pushes refused without running (throttled, busy) per tier: discounted from the header attempt. */
  skipped?: Record<string, number>;
  /** What POST /v1/tasks/:id:replay enqueues again (kept from the first delivery; bounded). */
  source?: ReplaySource;
  /** The lineage this one replays. */
  replayOf?: string;
  /** The running job's latest status text (setStatus / status()), refreshed at most once a second. */
  statusText?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Finished records are dropped after this time (Firestore TTL field). */
  expiresAt?: string;
  /** The job this lineage is a task of (SDK execute). */
  job?: JobRef;
  /** Submitter's labels (namespace, business), carried into notifications. */
  labels?: Record<string, string>;
  /** Fields cut to keep the record under its size limit (src/limits.ts). */
  truncated?: string[];
}

/** The parts of a first envelope needed to start it again. */
export interface ReplaySource {
  type: string;
  args?: Record<string, unknown>;
  data?: unknown;
  /** true when args + data were too large to keep: the lineage cannot be replayed. */
  omitted?: boolean;
}

export interface BeginInput {
  id: string;
  tier: number;
  queue: string;
  taskName: string;
  type?: string;
  /** The attempt number the Cloud Tasks headers imply: max(RetryCount+1, ExecutionCount+1). */
  headerAttempt: number;
  maxAttempts: number | null;
  notify?: { url?: string; topic?: string };
  dataRef?: string;
  /** Kept on the record when the lineage is created (first delivery). */
  source?: ReplaySource;
  replayOf?: string;
  job?: JobRef;
  labels?: Record<string, string>;
  /** Take the run lease: refused (busy) while another delivery holds one. */
  lease?: { holder: string; ms: number };
  now: number;
}

export type BeginResult =
  | { duplicate: false; busy?: false; attempt: number; record: LineageRecord }
  | { duplicate: true; busy?: false; record: LineageRecord }
  /** Another delivery holds the lease: nothing runs, no attempt counted; refuse (429), never acknowledge. */
  | { duplicate: true; busy: true; record: LineageRecord; leaseRemainingMs: number };

export interface FinishInput {
  id: string;
  tier: number;
  attempt: number;
  outcome: Exclude<AttemptOutcome, 'running' | 'duplicate'>;
  error?: ErrorInfo;
  result?: unknown;
  outputRef?: string;
  /** The lease holder finishing (clears the lease). */
  holder?: string;
  /**
   * Keep the lease until it expires: the attempt is recorded as ended, but its
   * job (timed out, ignoring its signal) may still be running. Its expiry is
   * then no crash, since the attempt did finish.
   */
  keepLease?: boolean;
  /**
   * Owed effects (the outbox), written in the same atomic write as the state,
   * and only when this finish changes the state (else someone else ended the
   * lineage and owes its effects).
   */
  owed?: DeadLetter[];
  now: number;
}

/**
 * An owed effect (outbox entry) or a dead letter: one store. Written with the
 * state that owes it, removed once sent. No `error`: not tried yet; a
 * retryable `error`: replayed by the next delivery, the sweep and redrive; a
 * permanent `error`: a dead letter, replayed only by an explicit redrive.
 */
export interface DeadLetter {
  /** Unique key: `${lineageId}/${kind}/${tier}` (or `/${eventType}` for notify). */
  key: string;
  lineageId: string;
  kind: 'forward' | 'notify';
  /** For 'forward': the envelope to create in `tier`. */
  envelope?: TaskEnvelope;
  tier?: number;
  taskName?: string;
  /** For 'notify': the event and where it was going. */
  event?: CloudEvent;
  target?: NotifyTarget;
  error?: ErrorInfo;
  createdAt: string;
}

/** Filters of AttemptLedger.list(); every field narrows the result. */
export interface ListQuery {
  state?: LineageState;
  type?: string;
  /** The queue of the lineage's latest tier. */
  queue?: string;
  /** createdAt >= since (ISO 8601, as toISOString writes it). */
  since?: string;
  /** createdAt < until. */
  until?: string;
  /** Records per page (the ledger returns at most this many). */
  pageSize: number;
  /** Continue after this record (the `next` of the previous page). */
  after?: ListCursor;
}

/** Position in the newest-first order: createdAt descending, then id descending. */
export interface ListCursor {
  createdAt: string;
  id: string;
}

export interface ListPage {
  records: LineageRecord[];
  /** Set when more records may follow. */
  next?: ListCursor;
}

/** A task of a job ended (or was cancelled before it began). */
export interface JobTaskEndInput {
  job: string;
  size: number;
  lineage: string;
  state: JobTaskEndState;
  error?: ErrorInfo;
  labels?: Record<string, string>;
  now: number;
}

/**
 * The attempt ledger. Every method is atomic per lineage id; implementations
 * must pass test/ledger/contract.ts. What it returns is read-only: the memory
 * ledger hands out its stored records frozen, not copies.
 */
export interface AttemptLedger {
  /**
   * Start an attempt: if the lineage ended (succeeded, failed, cancelled) or
   * already moved past `tier` (forwarded from it, or a higher tier seen), it is
   * a duplicate and nothing changes. Otherwise attempts[tier] becomes
   * max(headerAttempt, attempts[tier] + 1), state 'running', and that number is
   * returned.
   */
  begin(input: BeginInput): Promise<BeginResult>;
  /** Record how the attempt ended and the resulting lineage state. */
  finish(input: FinishInput): Promise<LineageRecord>;
  get(id: string): Promise<LineageRecord | undefined>;
  /** Lineages newest first (createdAt, then id, descending), filtered; expired ones left out. */
  list(query: ListQuery): Promise<ListPage>;
  /** Set statusText of a known lineage (no-op when unknown); advisory, last write wins. */
  setStatusText(id: string, text: string, now: number): Promise<void>;
  /**
   * Mark cancelled unless already ended; returns the record, undefined if
   * unknown. With `neverRun`, an unknown lineage (its task deleted before any
   * delivery) is recorded as cancelled with no attempts.
   */
  cancel(id: string, now: number, neverRun?: { queue: string; type?: string }): Promise<LineageRecord | undefined>;
  /**
   * Count the end of one task of a job, atomically: the first end of a lineage
   * counts, later ones change nothing. `completed` is true for exactly one
   * caller: the one whose write ended the job's last task.
   */
  jobTaskEnded(input: JobTaskEndInput): Promise<{ record: JobRecord; completed: boolean }>;
  /** The job record; undefined until a task of the job ended. */
  getJob(id: string): Promise<JobRecord | undefined>;
  putDeadLetter(letter: DeadLetter): Promise<void>;
  listDeadLetters(lineageId?: string): Promise<DeadLetter[]>;
  removeDeadLetter(key: string): Promise<void>;
  /**
   * A named lease outside lineages (the outbox sweep: one instance at a time).
   * True when `holder` now holds `name` until now + ms (taken, or renewed).
   */
  tryLease(name: string, holder: string, ms: number, now: number): Promise<boolean>;
  /** Throws when the backend is unreachable (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- queues

export interface CreateTaskInput {
  /** Queue short id. */
  queue: string;
  /** Task short id; omitted = the queue picks one. */
  taskName?: string;
  /** Push target. */
  url: string;
  body: Buffer;
  headers?: Record<string, string>;
  /** Put an OIDC token on the push (service account email, audience). */
  oidc?: { serviceAccountEmail: string; audience?: string };
  scheduleTime?: Date;
  /** Seconds. */
  dispatchDeadlineSeconds?: number;
}

export interface CreatedTask {
  /** Short task id. */
  taskName: string;
  /** Full resource name. */
  name: string;
  /** true when the name already existed (ALREADY_EXISTS): counted as done. */
  alreadyExisted: boolean;
}

export interface QueueInfo {
  name: string;
  maxAttempts: number;
  maxRetryDurationSeconds: number;
  state: string;
}

/** A task still in its queue (GetTask, FULL view). */
export interface QueuedTask {
  taskName: string;
  /** RFC 3339. */
  scheduleTime?: string;
  createTime?: string;
  /** The HTTP body: the envelope. */
  body?: Buffer;
}

/** Cloud Tasks, as this service uses it. */
export interface TaskQueue {
  createTask(input: CreateTaskInput): Promise<CreatedTask>;
  /** undefined when the task is not (or no longer) in the queue. Optional: status then cannot show `scheduled`. */
  getTask?(queue: string, taskName: string): Promise<QueuedTask | undefined>;
  /** false when the task did not exist. */
  deleteTask(queue: string, taskName: string): Promise<boolean>;
  /** undefined when the queue does not exist. */
  getQueue(queue: string): Promise<QueueInfo | undefined>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- notifier

export interface NotifyTarget {
  url?: string;
  topic?: string;
}

export interface Notifier {
  /**
   * Deliver one CloudEvent. `target` comes from the envelope's `notify`; the
   * notifier falls back to its configured NOTIFY_URL / NOTIFY_TOPIC. Throws
   * when the event could not be handed over (the caller dead-letters it).
   */
  send(event: CloudEvent, target: NotifyTarget): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- blobs

export interface BlobStore {
  /** Store bytes under a key; returns a reference (`gs://b/k` or `file:///...`). */
  put(key: string, bytes: Buffer, contentType?: string): Promise<string>;
  /** Read a reference this store (or a compatible one) produced. */
  get(ref: string): Promise<Buffer>;
  /** Idempotent. */
  delete(ref: string): Promise<void>;
  /** The key `ref` was put under in this store; BlobRefRefused when it is not this store's. */
  keyOf?(ref: string): string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- jobs

export type JobState = 'succeeded' | 'failed';

export interface JobContext {
  /** Lineage id. */
  id: string;
  attempt: number;
  maxAttempts: number | null;
  /** This is the last attempt of the tier. */
  final: boolean;
  tier: number;
  /** Aborted on timeout, cancel or shutdown. */
  signal: AbortSignal;
  /** Its lines also go to the task's live output (GET /v1/tasks/:id/output). */
  log: Logger;
  /** Show a short progress text in status, list and the dashboard (statusText). */
  setStatus?(text: string): void;
}

/** What `run` returns (Spin Cycle's Return). */
export interface JobResult {
  state: JobState;
  exit?: number;
  error?: ErrorInfo;
  stdout?: string;
  stderr?: string;
  result?: unknown;
  /** Ask Cloud Tasks to wait this long before the next attempt (503 + Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * The job contract (after Spin Cycle's job.Job). The submitter calls
 * create(args) then serialize(); the worker calls deserialize(bytes), then
 * run(data, ctx), and may call stop() and status() while it runs.
 */
export interface Job {
  readonly type: string;
  create(args: Record<string, unknown>): void;
  serialize(): Buffer;
  deserialize(bytes: Buffer): void;
  run(data: unknown, ctx: JobContext): Promise<JobResult>;
  stop(): Promise<void>;
  status(): string;
}

export interface JobRegistry {
  /** Throws UnknownJobType (permanent). */
  make(type: string): Job;
  has(type: string): boolean;
  types(): string[];
}
