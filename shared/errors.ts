/**
 * Typed errors shared by agent and client. Each carries the gRPC status code it
 * travels as, so the RPC layer maps errors without a lookup table and the
 * client can turn a status back into the same class. The numbers are gRPC's
 * (grpc/status.h); shared/ stays free of the grpc runtime.
 */
export const StatusCode = {
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

export class BerthError extends Error {
  constructor(
    readonly code: StatusCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value that does not have the shape asked for; names the field, the expectation and what was found. */
export class ValidationError extends BerthError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: unknown,
    readonly source?: string,
  ) {
    super(StatusCode.InvalidArgument, formatValidation(source, field, expected, got));
  }

  /** The same error, attributed to a file (or other source) the value came from. */
  from(source: string): ValidationError {
    return new ValidationError(this.field, this.expected, this.got, source);
  }
}

export class NotFoundError extends BerthError {
  constructor(message: string) {
    super(StatusCode.NotFound, message);
  }
}

export class AlreadyExistsError extends BerthError {
  constructor(message: string) {
    super(StatusCode.AlreadyExists, message);
  }
}

export class UnauthenticatedError extends BerthError {
  constructor(message: string) {
    super(StatusCode.Unauthenticated, message);
  }
}

export class ResourceExhaustedError extends BerthError {
  constructor(message: string) {
    super(StatusCode.ResourceExhausted, message);
  }
}

export class FailedPreconditionError extends BerthError {
  constructor(message: string) {
    super(StatusCode.FailedPrecondition, message);
  }
}

export class UnavailableError extends BerthError {
  constructor(message: string) {
    super(StatusCode.Unavailable, message);
  }
}

export class InternalError extends BerthError {
  constructor(message: string) {
    super(StatusCode.Internal, message);
  }
}

function formatValidation(source: string | undefined, field: string, expected: string, got: unknown): string {
  const prefix = source ? `${source}: ` : "";
  const where = field ? `${field}: ` : "";
  return `${prefix}${where}expected ${expected}, got ${describeValue(got)}`;
}

/** A short, quoted rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return "a mapping";
}
