import { createHash, randomBytes } from "node:crypto";
import { readFile, stat, writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { TokenEntry } from "../config/schema.js";

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** 32 random bytes; high entropy is what makes a plain SHA-256 a safe way to store it. */
export function newToken(): string {
  return `berth_${randomBytes(32).toString("base64url")}`;
}

export function tokensFilePath(dataDir: string): string {
  return join(dataDir, "tokens.yaml");
}

export function localTokenPath(dataDir: string): string {
  return join(dataDir, "local.token");
}

interface StoredToken extends TokenEntry {
  created: string;
}

/** Reads `<data>/tokens.yaml`: hashes only, never a token. */
export async function readTokenFile(dataDir: string): Promise<StoredToken[]> {
  let text: string;
  try {
    text = await readFile(tokensFilePath(dataDir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const doc = parse(text) as { tokens?: StoredToken[] } | null;
  return Array.isArray(doc?.tokens) ? doc.tokens.filter((t) => typeof t?.sha256 === "string" && typeof t.user === "string") : [];
}

/** Creates a token for `user`, stores its hash, and returns the token itself (shown once). */
export async function createToken(dataDir: string, user: string): Promise<string> {
  const token = newToken();
  const tokens = await readTokenFile(dataDir);
  tokens.push({ user, sha256: hashToken(token), created: new Date().toISOString() });
  const path = tokensFilePath(dataDir);
  // Written aside and renamed so that a running agent never reads half a file.
  const aside = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, stringify({ tokens }), { mode: 0o600 });
  await rename(aside, path);
  return token;
}

/**
 * The credential same-machine clients use when they have no fleet file, kept
 * like docker.sock: readable by root only. The agent itself still stores only
 * its hash in tokens.yaml.
 */
export async function ensureLocalToken(dataDir: string): Promise<void> {
  try {
    await stat(localTokenPath(dataDir));
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = await createToken(dataDir, "local");
  await writeFile(localTokenPath(dataDir), `${token}\n`, { mode: 0o600, flag: "wx" });
}

/**
 * Answers "whose token is this?". Tokens from the config are fixed; tokens.yaml
 * is checked again (one stat, shared by concurrent callers) when an unknown
 * token arrives, so a token made by `berth-agent token create` works at once,
 * without restarting the agent.
 */
export class TokenAuthority {
  private byHash = new Map<string, string>();
  private fileMtimeMs = -1;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly configured: TokenEntry[],
  ) {}

  async load(): Promise<void> {
    await this.reload();
  }

  async userFor(token: string): Promise<string | undefined> {
    const hash = hashToken(token);
    const user = this.byHash.get(hash);
    if (user !== undefined) return user;
    // A check already running may have read the file just before this token was added: look once more.
    const joined = this.checking !== undefined;
    this.checking ??= this.reload().finally(() => {
      this.checking = undefined;
    });
    await this.checking;
    if (!this.byHash.has(hash) && joined) await this.reload();
    return this.byHash.get(hash);
  }

  private async reload(): Promise<void> {
    let mtimeMs = 0;
    try {
      mtimeMs = (await stat(tokensFilePath(this.dataDir))).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (mtimeMs === this.fileMtimeMs) return;
    const next = new Map<string, string>();
    for (const entry of [...this.configured, ...(await readTokenFile(this.dataDir))]) next.set(entry.sha256, entry.user);
    this.byHash = next;
    this.fileMtimeMs = mtimeMs;
  }
}
