import type { Metadata } from "@grpc/grpc-js";
import { UnauthenticatedError } from "../../shared/errors.js";

export interface Authenticator {
  userFor(token: string): Promise<string | undefined>;
}

/** Resolves the caller from `authorization: Bearer <token>` metadata, or throws UNAUTHENTICATED. */
export async function authenticate(metadata: Metadata, authenticator: Authenticator): Promise<string> {
  const header = metadata.get("authorization")[0];
  if (header === undefined) throw new UnauthenticatedError("missing token: send 'authorization: Bearer <token>' metadata");
  const match = /^Bearer\s+(\S+)$/i.exec(String(header));
  if (!match) throw new UnauthenticatedError("malformed authorization metadata: expected 'Bearer <token>'");
  const user = await authenticator.userFor(match[1]!);
  if (user === undefined) throw new UnauthenticatedError("invalid token: the agent does not know this token");
  return user;
}
