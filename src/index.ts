// The package entry (`import ... from 'cloud-tasks-executor'`): what a
// JOBS_MODULE or an embedding program needs. The submitter SDK is
// `cloud-tasks-executor/client`.
export * from './jobs/index.ts';
// TypeBox's schema builder, re-exported so a job module needs no TypeBox of
// its own (a second copy of another version would build schemas this one
// may not read).
export { Type, type Static, type TSchema } from '@sinclair/typebox';
export type * from './interfaces.ts';
export { buildApp, type Deps, type App } from './app.ts';
export { loadConfig, ConfigError, type Config } from './config.ts';
export { createDeps, startServer } from './server.ts';
