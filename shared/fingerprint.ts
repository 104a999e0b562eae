import { ValidationError } from "./errors.js";

/**
 * Certificate fingerprints: SHA-256 of the DER certificate, written as 32
 * colon-separated upper-case hex bytes (the form Node's X509Certificate and
 * `openssl x509 -fingerprint -sha256` print). Input may drop the colons, use
 * lower case, or carry an `SHA256:` prefix.
 */
export const FINGERPRINT_EXPECTED = "a SHA-256 fingerprint (64 hex digits, colons optional)";

export function parseFingerprint(value: unknown, field: string): string {
  if (typeof value !== "string") throw new ValidationError(field, FINGERPRINT_EXPECTED, value);
  const hex = value.replace(/^sha256:/i, "").replace(/:/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ValidationError(field, FINGERPRINT_EXPECTED, value);
  return hex.match(/../g)!.join(":");
}
