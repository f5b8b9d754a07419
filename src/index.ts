// The package entry (`import ... from 'executor'`): what a JOBS_MODULE or an
// embedding program needs. The submitter SDK is `executor/client`.
export * from './jobs/index.ts';
export type * from './interfaces.ts';
export { buildApp, type Deps, type App } from './app.ts';
export { loadConfig, ConfigError, type Config } from './config.ts';
export { createDeps, startServer } from './server.ts';
