// Pushes due tasks to their targets within each queue's limits and applies the
// outcome: 2xx deletes the task, anything else schedules a retry by the queue's
// RetryConfig until both maxAttempts and maxRetryDuration are used up.
import type { Logger } from 'pino';
import { appEngineHeaders, appEngineUrl } from './app-engine.ts';
import type { EmulatorClock } from './clock.ts';
import { applyHttpTarget, type EffectiveHttpRequest } from './http-target.ts';
import { PushAgents, type PushRequest, type PushResult, push } from './push.ts';
import type { QueueRuntime } from './queue-runtime.ts';
import { backoffMs, retriesExhausted, retryAfterMs } from './retry-policy.ts';
import { type Attempt, rpcStatusForHttp, type TaskRecord } from './task-model.ts';
import { formatEtaSeconds } from './wire.ts';

/** The part of the OIDC issuer the dispatcher needs (oidc-issuer.ts provides it). */
export interface IdTokenSigner {
  signIdToken(input: { audience: string; email: string; expiresInSeconds?: number }): string;
}

export interface DispatcherOptions {
  clock: EmulatorClock;
  logger: Logger;
  signer?: IdTokenSigner;
  /** Base URL App Engine tasks are pushed to. */
  appEngineUrl?: string;
  /** Called after every change a push makes to a task (persistence). */
  onChange?: () => void;
}

/** Headers a task may not set: Cloud Tasks owns them. */
const RESERVED = /^(host|content-length|user-agent|x-cloudtasks-.*|x-google-.*|x-appengine-.*)$/i;

const RPC_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export class Dispatcher {
  readonly #clock: EmulatorClock;
  readonly #log: Logger;
  readonly #signer?: IdTokenSigner;
  readonly #appEngineUrl?: string;
  readonly #onChange: () => void;
  readonly #agents = new PushAgents();
  readonly #inflight = new Set<Promise<void>>();
  readonly #controllers = new Set<AbortController>();
  readonly #armed = new Set<QueueRuntime>();
  readonly #kicked = new Set<QueueRuntime>();
  #closed = false;

  constructor(opts: DispatcherOptions) {
    this.#clock = opts.clock;
    this.#log = opts.logger;
    this.#signer = opts.signer;
    this.#appEngineUrl = opts.appEngineUrl;
    this.#onChange = opts.onChange ?? (() => {});
  }

  /** Ask for a pump of q soon; many kicks in one tick (a burst of creates) cost one pump. */
  kick(q: QueueRuntime): void {
    if (this.#closed || this.#kicked.has(q)) return;
    this.#kicked.add(q);
    queueMicrotask(() => {
      this.#kicked.delete(q);
      this.pump(q);
    });
  }

  /** Dispatch every due task the queue's limits allow now, and arm a timer for the next one. */
  pump(q: QueueRuntime): void {
    // A task past the queue's taskTtl is deleted, never dispatched (also while the queue is paused).
    if (!this.#closed && !q.deleted && q.expireTasks(this.#clock.now()) > 0) this.#onChange();
    if (this.#closed || q.deleted || q.config.state !== 'RUNNING') {
      this.#arm(q, undefined);
      return;
    }
    const now = this.#clock.now();
    // At the concurrency limit the next completion pumps again.
    const slots = Math.max(0, q.config.rateLimits.maxConcurrentDispatches - q.inFlight);
    const tokens = q.bucket.available(now);
    const n = Math.min(slots, tokens);
    // Oldest due first, straight from the heap: a backlog costs nothing until it is due.
    let sent = 0;
    while (sent < n) {
      const t = q.due.popDue(now);
      if (t === undefined) break;
      // A task RunTask pushed meanwhile is queued again when that push settles.
      if (t.inFlight > 0) continue;
      q.bucket.tryTake(now);
      this.#dispatch(q, t);
      sent++;
    }
    const nextAt = q.due.peekAt();
    let wakeAt: number | undefined;
    if (nextAt !== undefined && nextAt > now) wakeAt = nextAt;
    else if (nextAt !== undefined && n === tokens && tokens < slots) {
      // Due tasks left over for want of tokens: wake when the next token is earned.
      wakeAt = now + q.bucket.msUntilToken(now);
    }
    this.#arm(q, wakeAt);
  }

  /** RunTask: dispatch now, ignoring pause and rate limits. */
  runNow(q: QueueRuntime, t: TaskRecord): void {
    t.scheduleTime = this.#clock.now();
    this.#dispatch(q, t);
  }

  /** Stop q's timer (queue deleted). */
  forget(q: QueueRuntime): void {
    this.#arm(q, undefined);
  }

  /** Resolves once no push is in flight and no pump is pending (tests use it after clock.advance). */
  async idle(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.#inflight.size === 0 && this.#kicked.size === 0) return;
      await Promise.allSettled([...this.#inflight]);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const q of [...this.#armed]) this.#arm(q, undefined);
    for (const ac of this.#controllers) ac.abort(new Error('emulator closing'));
    await Promise.allSettled([...this.#inflight]);
    await this.#agents.destroy();
  }

  #arm(q: QueueRuntime, at: number | undefined): void {
    if (q.wakeTimer !== undefined && q.wakeAt === at) return;
    if (q.wakeTimer !== undefined) this.#clock.clearTimeout(q.wakeTimer);
    q.wakeTimer = undefined;
    q.wakeAt = undefined;
    this.#armed.delete(q);
    if (at === undefined || this.#closed) return;
    q.wakeAt = at;
    this.#armed.add(q);
    q.wakeTimer = this.#clock.setTimeout(() => {
      q.wakeTimer = undefined;
      q.wakeAt = undefined;
      this.#armed.delete(q);
      this.pump(q);
    }, at - this.#clock.now());
  }

  /** The request a push sends: the task's target after its queue's overrides, with Cloud Tasks' headers. */
  #request(q: QueueRuntime, t: TaskRecord): { url: string; method: string; headers: Record<string, string>; body?: Buffer } {
    const counters = {
      queueId: q.id,
      taskId: t.id,
      retryCount: t.dispatchCount,
      executionCount: t.executionCount,
      etaMs: t.scheduleTime,
      previousResponse: t.previousResponse,
      retryReason: t.retryReason,
    };
    if (t.appEngineHttpRequest) {
      const r = t.appEngineHttpRequest;
      return { url: appEngineUrl(this.#appEngineUrl ?? 'http://127.0.0.1:0', r), method: r.httpMethod, headers: appEngineHeaders(r, counters), body: r.body };
    }
    const task = t.httpRequest!;
    const r: EffectiveHttpRequest = applyHttpTarget(
      { url: task.url, method: task.httpMethod, headers: task.headers, body: task.body, oidcToken: task.oidcToken, oauthToken: task.oauthToken },
      q.config.httpTarget,
    );
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) {
      if (RESERVED.test(k) || ((r.oidcToken || r.oauthToken) && k.toLowerCase() === 'authorization')) continue;
      h[k] = v;
    }
    h['User-Agent'] = 'Google-Cloud-Tasks';
    h['X-CloudTasks-QueueName'] = q.id;
    h['X-CloudTasks-TaskName'] = t.id;
    h['X-CloudTasks-TaskRetryCount'] = String(t.dispatchCount);
    h['X-CloudTasks-TaskExecutionCount'] = String(t.executionCount);
    h['X-CloudTasks-TaskETA'] = formatEtaSeconds(t.scheduleTime);
    if (t.previousResponse !== undefined) h['X-CloudTasks-TaskPreviousResponse'] = String(t.previousResponse);
    if (t.retryReason !== undefined) h['X-CloudTasks-TaskRetryReason'] = t.retryReason;
    if (r.oidcToken && this.#signer) {
      const audience = r.oidcToken.audience ?? r.url;
      h.Authorization = `Bearer ${this.#signer.signIdToken({ audience, email: r.oidcToken.serviceAccountEmail })}`;
    } else if (r.oauthToken) {
      // No local OAuth server can mint a Google access token: a placeholder that names who and what.
      const claims = Buffer.from(
        JSON.stringify({ email: r.oauthToken.serviceAccountEmail, scope: r.oauthToken.scope ?? 'https://www.googleapis.com/auth/cloud-platform' }),
      ).toString('base64url');
      h.Authorization = `Bearer emulator-oauth.${claims}`;
    }
    return { url: r.url, method: r.method, headers: h, body: r.body };
  }

  #dispatch(q: QueueRuntime, t: TaskRecord): void {
    const now = this.#clock.now();
    let req: Omit<PushRequest, 'signal'> | undefined;
    let refused: string | undefined;
    try {
      req = this.#request(q, t);
    } catch (err) {
      // A request that cannot be built (a queue override that makes the URL invalid):
      // the attempt fails like a network error and is retried, never left undispatched.
      refused = (err as Error).message;
    }
    q.due.remove(t);
    t.dispatchCount += 1;
    t.inFlight += 1;
    q.inFlight += 1;
    const attempt: Attempt = { scheduleTime: t.scheduleTime, dispatchTime: now };
    t.lastAttempt = attempt;
    t.firstAttempt ??= { dispatchTime: now };
    const ac = new AbortController();
    this.#controllers.add(ac);
    const deadline = this.#clock.setTimeout(() => ac.abort(new Error('dispatch deadline exceeded')), t.dispatchDeadlineMs);
    this.#onChange();
    const sent: Promise<PushResult> = req ? push({ ...req, signal: ac.signal }, this.#agents) : Promise.resolve({ error: refused });
    const p = sent
      .then((res) => {
        this.#clock.clearTimeout(deadline);
        this.#controllers.delete(ac);
        t.inFlight -= 1;
        q.inFlight -= 1;
        if (!this.#closed) this.#settle(q, t, attempt, res);
      })
      .catch((err: unknown) => {
        this.#log.error({ err, queue: q.id, task: t.id }, 'dispatch bookkeeping failed');
        // Whatever failed, a task still held waits again and the queue is pumped: no task is left undispatched.
        if (q.tasks.get(t.id) === t && t.inFlight === 0 && !q.due.has(t)) q.due.schedule(t);
        this.kick(q);
      })
      .finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  #settle(q: QueueRuntime, t: TaskRecord, attempt: Attempt, res: PushResult): void {
    const now = this.#clock.now();
    const status = rpcStatusForHttp(res.status, res.error);
    attempt.responseTime = now;
    attempt.responseStatus = status;
    if (res.status !== undefined) {
      t.responseCount += 1;
      // Cloud Tasks does not count 5xx replies as executions (CLOUD-TASKS.md); for
      // App Engine only a 503 (no instance reached) is not an execution.
      if (t.appEngineHttpRequest ? res.status !== 503 : res.status < 500) t.executionCount += 1;
    }
    this.#onChange();
    // A child logger only for the lines that are written: settling is on the dispatch hot path.
    const log = {
      debug: (o: object, msg: string) => {
        if (this.#log.isLevelEnabled('debug')) this.#log.debug({ queue: q.id, task: t.id, attempt: t.dispatchCount, ...o }, msg);
      },
      info: (o: object, msg: string) => this.#log.info({ queue: q.id, task: t.id, attempt: t.dispatchCount, ...o }, msg),
    };
    // Deleted, purged or its queue removed while the push was out: nothing to update.
    if (q.deleted || q.tasks.get(t.id) !== t) {
      this.kick(q);
      return;
    }
    if (res.status !== undefined && res.status >= 200 && res.status < 300) {
      log.debug({ status: res.status }, 'task done');
      q.removeTask(t.id, now);
      this.kick(q);
      return;
    }
    t.previousResponse = res.status ?? 0;
    t.retryReason = RPC_NAMES[status.code] ?? 'UNKNOWN';
    const policy = q.config.retryConfig;
    if (retriesExhausted(policy, t.dispatchCount, now - (t.firstAttempt?.dispatchTime ?? now))) {
      log.info({ status: res.status, error: res.error }, 'retries exhausted; task deleted');
      q.removeTask(t.id, now);
      this.kick(q);
      return;
    }
    let delay = backoffMs(policy, t.dispatchCount);
    if (res.status === 429 || res.status === 503) {
      const asked = retryAfterMs(res.retryAfter, now);
      if (asked !== undefined) delay = Math.max(delay, asked);
    }
    t.scheduleTime = now + delay;
    // With another push of it still out (RunTask), that push's settling queues it.
    if (t.inFlight === 0) q.due.schedule(t);
    log.debug({ status: res.status, error: res.error, delayMs: delay }, 'attempt failed; retry scheduled');
    this.kick(q);
  }
}
