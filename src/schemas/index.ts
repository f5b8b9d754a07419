export * from './envelope.ts';
export * from './cloud-event.ts';
