// A request the route schemas refuse (a bad query parameter, param or body)
// answers 400 in the API's own error shape, `{error: {code: 'InvalidArgument',
// message}}`, like the checks the handlers make themselves, instead of
// Fastify's `{statusCode, code: 'FST_ERR_VALIDATION', ...}` with one line per
// branch of a union ("must be equal to constant" seven times).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: { allowedValue?: unknown };
}

/** The refusal in words: `state must be one of running, ...`, `pageSize must be >= 1`. */
export function validationMessage(errors: SchemaError[], where: string | undefined): string {
  const first = errors[0];
  if (!first) return 'the request is not valid';
  const name = first.instancePath.replace(/^\//, '').replaceAll('/', '.') || where || 'request';
  const choices = errors.filter((e) => e.instancePath === first.instancePath && e.keyword === 'const').map((e) => e.params?.allowedValue);
  if (choices.length > 1) return `${name} must be one of ${choices.join(', ')}`;
  return `${name} ${first.message ?? 'is not valid'}`;
}

/** An error handler for a scope of API routes; anything but a validation error goes to Fastify's own handler. */
export function validationErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (!err.validation) throw err;
  return reply.code(400).send({ error: { code: 'InvalidArgument', message: validationMessage(err.validation as SchemaError[], err.validationContext) } });
}
