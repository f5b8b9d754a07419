// Map TypeBox validation errors onto the job error taxonomy (ArgNotSet,
// WrongArgType, DataNotSet, WrongDataType), so a bad task ends permanently
// with a message that names the offending field instead of a TypeBox dump.
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { ArgNotSet, DataNotSet, type JobError, WrongArgType, WrongDataType } from './errors.ts';

export type Validator = (value: unknown) => unknown;

/**
 * Compile `schema` once; the returned function applies schema defaults to a
 * copy of the value, checks it, and returns the copy or throws the first error
 * mapped to `kind` ('arg' or 'data').
 */
export function compileValidator(schema: TSchema, kind: 'arg' | 'data'): Validator {
  const check: TypeCheck<TSchema> = TypeCompiler.Compile(schema);
  return (value) => {
    const withDefaults = value === undefined ? value : Value.Default(schema, Value.Clone(value));
    if (check.Check(withDefaults)) return withDefaults;
    const first = check.Errors(withDefaults).First();
    throw toJobError(first, kind, withDefaults);
  };
}

function toJobError(error: ValueError | undefined, kind: 'arg' | 'data', root: unknown): JobError {
  const name = fieldName(error?.path ?? '', kind);
  const missing =
    error?.type === ValueErrorType.ObjectRequiredProperty || (error !== undefined && error.value === undefined) || (error === undefined && root === undefined);
  if (missing) return kind === 'arg' ? new ArgNotSet(name) : new DataNotSet(name);
  const expected = error ? expectation(error) : 'valid';
  const got = error ? error.value : root;
  return kind === 'arg' ? new WrongArgType(name, expected, got) : new WrongDataType(name, expected, got);
}

/** '/headers/accept' -> 'headers.accept'; the root is called 'args' or 'data'. */
function fieldName(path: string, kind: 'arg' | 'data'): string {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.length ? parts.join('.') : kind === 'arg' ? 'args' : 'data';
}

const TYPE_ERRORS = new Set<ValueErrorType>([
  ValueErrorType.Array,
  ValueErrorType.Boolean,
  ValueErrorType.Integer,
  ValueErrorType.Literal,
  ValueErrorType.Null,
  ValueErrorType.Number,
  ValueErrorType.Object,
  ValueErrorType.String,
  ValueErrorType.Union,
]);

function expectation(error: ValueError): string {
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'absent (unknown property)';
  if (TYPE_ERRORS.has(error.type)) return describeSchema(error.schema);
  // A constraint (minimum, pattern, ...) rather than a type: TypeBox's words.
  return `valid (${error.message.replace(/^Expected /, 'expected ')})`;
}

function describeSchema(schema: TSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).map(describeSchema).join(' or ');
  if (schema.type === 'array' && schema.items) return `array of ${describeSchema(schema.items as TSchema)}`;
  if (typeof schema.type === 'string') return schema.type;
  return 'valid';
}
