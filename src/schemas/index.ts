export * from './envelope.ts';
export * from './cloud-event.ts';
export * from './job.ts';
