// The package entry (`import ... from 'cloud-tasks-executor'`): what a
// JOBS_MODULE or an embedding program needs. The submitter SDK is
// `cloud-tasks-executor/client`.

// TypeBox's schema builder, re-exported so a job module needs no TypeBox of
// its own (a second copy of another version would build schemas this one
// may not read).
export { type Static, type TSchema, Type } from '@sinclair/typebox';
export { type App, buildApp, type Deps } from './app.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export type * from './interfaces.ts';
export * from './jobs/index.ts';
export { createDeps, startServer } from './server.ts';
