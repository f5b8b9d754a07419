export * from './cloud-event.ts';
export * from './envelope.ts';
export * from './job.ts';
