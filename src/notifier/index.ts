export * from './cloud-event.ts';
export * from './cloud-tasks-notifier.ts';
export * from './filter.ts';
export * from './log-notifier.ts';
export * from './memory-sink.ts';
export * from './pubsub-notifier.ts';
export * from './routing-notifier.ts';
