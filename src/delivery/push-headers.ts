// The X-CloudTasks-* headers of one push, parsed defensively: an absent, empty
// or garbled value becomes undefined and a note in `problems`, never a throw.
// They describe the delivery; they are not identity (OIDC is).
import { TASK_ID } from '../schemas/task-id.ts';

export interface PushHeaders {
  queueName?: string;
  taskName?: string;
  retryCount?: number;
  executionCount?: number;
  /** Epoch milliseconds. */
  eta?: number;
  previousResponse?: number;
  retryReason?: string;
  problems: string[];
}

type Headers = Record<string, string | string[] | undefined>;

export function parsePushHeaders(headers: Headers): PushHeaders {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s.trim() === '' ? undefined : s.trim();
  };
  const count = (name: string): number | undefined => {
    const s = get(name);
    if (s === undefined) return undefined;
    if (/^\d{1,9}$/.test(s)) return Number(s);
    problems.push(`${name} is not a count`);
    return undefined;
  };
  const name = (header: string): string | undefined => {
    const s = get(header);
    if (s === undefined) return undefined;
    if (TASK_ID.test(s)) return s;
    problems.push(`${header} is not a valid id`);
    return undefined;
  };
  const out: PushHeaders = { problems };
  const queueName = name('x-cloudtasks-queuename');
  const taskName = name('x-cloudtasks-taskname');
  const retryCount = count('x-cloudtasks-taskretrycount');
  const executionCount = count('x-cloudtasks-taskexecutioncount');
  if (queueName !== undefined) out.queueName = queueName;
  if (taskName !== undefined) out.taskName = taskName;
  if (retryCount !== undefined) out.retryCount = retryCount;
  if (executionCount !== undefined) out.executionCount = executionCount;
  const eta = get('x-cloudtasks-tasketa');
  if (eta !== undefined) {
    const n = Number(eta);
    if (Number.isFinite(n) && n > 0) out.eta = Math.round(n * 1000);
    else problems.push('x-cloudtasks-tasketa is not a timestamp');
  }
  const prev = get('x-cloudtasks-taskpreviousresponse');
  if (prev !== undefined && prev !== '0') {
    if (/^\d{3}$/.test(prev)) out.previousResponse = Number(prev);
    else problems.push('x-cloudtasks-taskpreviousresponse is not a status');
  }
  const reason = get('x-cloudtasks-taskretryreason');
  if (reason !== undefined) out.retryReason = reason.slice(0, 200);
  return out;
}

/**
 * The attempt number the headers imply: max(RetryCount+1, ExecutionCount+1).
 * ExecutionCount alone stays 0 while the handler answers 5xx, so RetryCount
 * usually decides; with both absent the ledger alone counts (returns 1).
 */
export function headerAttempt(h: PushHeaders): number {
  return Math.max(1, (h.retryCount ?? -1) + 1, (h.executionCount ?? -1) + 1);
}
