// Test doubles that record calls. Test code, not product code: the real
// backends are tested against real local servers in their own suites.
import type { CreatedTask, CreateTaskInput, JobContext, JobResult, Notifier, NotifyTarget, QueueInfo, TaskQueue } from '../../src/interfaces.ts';
import type { CloudEvent } from '../../src/schemas/index.ts';
import { plainJob } from '../fixtures/plain-job.ts';

export class RecordingQueue implements TaskQueue {
  created: CreateTaskInput[] = [];
  deleted: Array<{ queue: string; taskName: string }> = [];
  names = new Set<string>();
  failNext = 0;
  async createTask(input: CreateTaskInput): Promise<CreatedTask> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected createTask failure');
    }
    const key = `${input.queue}/${input.taskName}`;
    const alreadyExisted = this.names.has(key);
    this.names.add(key);
    if (!alreadyExisted) this.created.push(input);
    return { taskName: input.taskName ?? 'auto', name: `projects/p/locations/l/queues/${key}`, alreadyExisted };
  }
  async deleteTask(queue: string, taskName: string) {
    this.deleted.push({ queue, taskName });
    return this.names.delete(`${queue}/${taskName}`);
  }
  async getQueue(queue: string): Promise<QueueInfo | undefined> {
    return { name: queue, maxAttempts: 100, maxRetryDurationSeconds: 0, state: 'RUNNING' };
  }
  async close() {}
}

export class RecordingNotifier implements Notifier {
  events: Array<{ event: CloudEvent; target: NotifyTarget }> = [];
  failNext = 0;
  async send(event: CloudEvent, target: NotifyTarget) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected notify failure');
    }
    this.events.push({ event, target });
  }
  types(): string[] {
    return this.events.map((e) => e.event.type);
  }
  async close() {}
}

/** A job whose behaviour the test decides per call. */
export function scriptedJob(type: string, behaviour: (args: Record<string, unknown>, data: unknown, ctx: JobContext) => Promise<JobResult>) {
  const calls: JobContext[] = [];
  const factory = plainJob(type, (args, ctx, data) => {
    calls.push(ctx);
    return behaviour(args, data, ctx);
  });
  return { ...factory, calls };
}

export function manualClock(start = Date.parse('2026-11-23T00:00:00Z')) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
