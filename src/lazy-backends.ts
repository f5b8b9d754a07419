// Backends made on first use. `serve` configures a Cloud Tasks queue (for
// forwards, cancels and replays) and a Pub/Sub notifier (for an envelope's own
// notify.topic) whether or not a delivery ever needs them; importing their
// Google clients (gax, gRPC, protobufjs) costs ~45 MiB of RSS and a second
// of start-up. These wrappers import and create the real backend when it is
// first used, so a worker whose tasks never forward or publish never loads them.
import type { Notifier, TaskQueue } from './interfaces.ts';

/** `load()` once, on first call; a failed load is tried again by the next call. */
function once<T>(load: () => Promise<T>): { get(): Promise<T>; made(): Promise<T> | undefined } {
  let made: Promise<T> | undefined;
  return {
    get: () =>
      (made ??= load().catch((err) => {
        made = undefined;
        throw err;
      })),
    made: () => made,
  };
}

export function lazyTaskQueue(load: () => Promise<TaskQueue>): TaskQueue {
  const queue = once(load);
  return {
    createTask: async (input) => (await queue.get()).createTask(input),
    getTask: async (name, taskName) => {
      const q = await queue.get();
      return q.getTask ? q.getTask(name, taskName) : undefined;
    },
    deleteTask: async (name, taskName) => (await queue.get()).deleteTask(name, taskName),
    getQueue: async (name) => (await queue.get()).getQueue(name),
    close: async () => {
      const made = queue.made();
      if (made) await (await made).close();
    },
  };
}

export function lazyNotifier(load: () => Promise<Notifier>): Notifier {
  const notifier = once(load);
  return {
    send: async (event, target) => (await notifier.get()).send(event, target),
    close: async () => {
      const made = notifier.made();
      if (made) await (await made).close();
    },
  };
}
