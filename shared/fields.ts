import { ValidationError } from "./errors.js";

/**
 * Readers for untyped input (parsed YAML, JSON, flags). Each takes the field
 * path it reads so that a failure names it; none of them coerce silently.
 */
export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

export function readMapping(value: unknown, field: string): Mapping {
  if (!isMapping(value)) throw new ValidationError(field, "a mapping", value);
  return value;
}

/** Rejects keys outside `allowed`, so a typo is an error rather than a silently ignored setting. */
export function rejectUnknownKeys(map: Mapping, allowed: readonly string[], parent: string): void {
  for (const key of Object.keys(map)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(fieldPath(parent, key), `one of ${allowed.join(", ")}`, key);
    }
  }
}

export function readString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new ValidationError(field, "a string", value);
  return value;
}

export function readNonEmptyString(value: unknown, field: string): string {
  const text = readString(value, field);
  if (text.trim() === "") throw new ValidationError(field, "a non-empty string", value);
  return text;
}

export function readBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new ValidationError(field, "true or false", value);
  return value;
}

export function readNumber(value: unknown, field: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const num = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  const kind = opts.integer ? "an integer" : "a number";
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` from ${opts.min} to ${opts.max}`
      : opts.min !== undefined
        ? ` ≥ ${opts.min}`
        : opts.max !== undefined
          ? ` ≤ ${opts.max}`
          : "";
  if (typeof num !== "number" || !Number.isFinite(num)) throw new ValidationError(field, `${kind}${range}`, value);
  if (opts.integer && !Number.isInteger(num)) throw new ValidationError(field, `${kind}${range}`, value);
  if (opts.min !== undefined && num < opts.min) throw new ValidationError(field, `${kind}${range}`, value);
  if (opts.max !== undefined && num > opts.max) throw new ValidationError(field, `${kind}${range}`, value);
  return num;
}

export function readList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(field, "a list", value);
  return value;
}

export function readStringMap(value: unknown, field: string): Record<string, string> {
  const map = readMapping(value, field);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(map)) {
    if (typeof item === "string") out[key] = item;
    else if (typeof item === "number" || typeof item === "boolean") out[key] = String(item);
    else throw new ValidationError(fieldPath(field, key), "a string", item);
  }
  return out;
}
