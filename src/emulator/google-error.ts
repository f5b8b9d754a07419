// Google API errors in the JSON shape REST clients parse:
// {"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}.
// gcloud and google-gax read `status` first, so it must be exact.

const HTTP_BY_STATUS = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
} as const;

export type GoogleStatus = keyof typeof HTTP_BY_STATUS;

/** A field violation as google.rpc.BadRequest carries it (`field` absent at the top level). */
export interface FieldViolation {
  field?: string;
  description: string;
}

export class GoogleApiError extends Error {
  readonly status: GoogleStatus;
  readonly httpCode: number;
  readonly violations?: FieldViolation[];

  constructor(status: GoogleStatus, message: string, violations?: FieldViolation[]) {
    super(message);
    this.name = 'GoogleApiError';
    this.status = status;
    this.httpCode = HTTP_BY_STATUS[status];
    if (violations) this.violations = violations;
  }

  toJSON(): { error: { code: number; message: string; status: GoogleStatus; details?: unknown[] } } {
    const error: { code: number; message: string; status: GoogleStatus; details?: unknown[] } = {
      code: this.httpCode,
      message: this.message,
      status: this.status,
    };
    if (this.violations) error.details = [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: this.violations }];
    return { error };
  }
}

export const invalidArgument = (message: string): GoogleApiError => new GoogleApiError('INVALID_ARGUMENT', message);
export const notFound = (message: string): GoogleApiError => new GoogleApiError('NOT_FOUND', message);
export const alreadyExists = (message: string): GoogleApiError => new GoogleApiError('ALREADY_EXISTS', message);
export const failedPrecondition = (message: string): GoogleApiError => new GoogleApiError('FAILED_PRECONDITION', message);
export const aborted = (message: string): GoogleApiError => new GoogleApiError('ABORTED', message);
export const unimplemented = (message: string): GoogleApiError => new GoogleApiError('UNIMPLEMENTED', message);
