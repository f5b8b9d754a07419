// Fastify's own schema compilers (@fastify/ajv-compiler, fast-json-stringify),
// loaded and run when a route first validates or serialises, not when the
// route is registered. `serve` registers ~30 operator routes whose compiled
// validators and serialisers, with ajv and fast-json-stringify themselves,
// were ~6 MiB of its idle RSS (README "Benchmarks"); a push uses one
// serialiser, compiled on the first push. The compilers and their options are
// Fastify's defaults, so validation and serialisation are unchanged; a schema
// error now surfaces on the route's first request instead of at start-up
// (every route's schemas are exercised by its tests).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface RouteSchema {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
}
/** An ajv validate function as Fastify calls it: `errors` after a failed call, `schemaEnv` to pass the parent. */
type Validate = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Serialize = (data: unknown) => string;
type Builder<F> = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => F;

/** Fastify's `schemaController.compilersFactory.buildValidator`, compiling each schema on its first use. */
export function lazyValidatorBuilder(): Builder<Validate> {
  let pooled: Builder<Validate> | undefined;
  return (externalSchemas, options) => {
    let compiler: ((route: RouteSchema) => Validate) | undefined;
    return (route) => {
      let real: Validate | undefined;
      const compiled = (): Validate => {
        if (real === undefined) {
          pooled ??= (require('@fastify/ajv-compiler') as () => Builder<Validate>)();
          compiler ??= pooled(externalSchemas, options);
          real = compiler(route);
        }
        return real;
      };
      const validate = ((data: unknown, ctx?: unknown) => (ctx === undefined ? compiled()(data) : compiled()(data, ctx))) as Validate;
      Object.defineProperties(validate, {
        errors: { get: () => real?.errors },
        schemaEnv: { get: () => compiled().schemaEnv },
      });
      return validate;
    };
  };
}

/** Fastify's `schemaController.compilersFactory.buildSerializer`, compiling each response schema on its first reply. */
export function lazySerializerBuilder(): Builder<Serialize> {
  let pooled: Builder<Serialize> | undefined;
  return (externalSchemas, options) => {
    let compiler: ((route: RouteSchema) => Serialize) | undefined;
    return (route) => {
      let real: Serialize | undefined;
      return (data) => {
        if (real === undefined) {
          pooled ??= (require('@fastify/fast-json-stringify-compiler') as () => Builder<Serialize>)();
          compiler ??= pooled(externalSchemas, options);
          real = compiler(route);
        }
        return real(data);
      };
    };
  };
}
