import { X509Certificate, randomBytes, webcrypto } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as X509 from "@peculiar/x509";

export interface AgentCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex. */
  fingerprint: string;
}

export function certificatePaths(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, "tls", "agent.crt"), key: join(dataDir, "tls", "agent.key") };
}

/**
 * Loads the agent's self-signed certificate, creating it on first start.
 * Clients pin its fingerprint instead of trusting a CA, so the certificate
 * never needs to name the addresses it is reached by.
 */
export async function ensureCertificate(dataDir: string, commonName: string): Promise<AgentCertificate & { created: boolean }> {
  const paths = certificatePaths(dataDir);
  try {
    const [certPem, keyPem] = await Promise.all([readFile(paths.cert, "utf8"), readFile(paths.key, "utf8")]);
    return { certPem, keyPem, fingerprint: fingerprintOf(certPem), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const generated = await generateCertificate(commonName);
  await mkdir(join(dataDir, "tls"), { recursive: true, mode: 0o700 });
  // The key first, so a crash between the writes never leaves a certificate without its key.
  await writeFile(paths.key, generated.keyPem, { mode: 0o600, flag: "wx" });
  await writeFile(paths.cert, generated.certPem, { mode: 0o644, flag: "wx" });
  return { ...generated, created: true };
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function generateCertificate(commonName: string): Promise<AgentCertificate> {
  // Loaded only on first start: @peculiar/x509 needs the global Reflect polyfill and is heavy.
  await import("reflect-metadata");
  const x509: typeof X509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, "_")}, O=berth-agent`,
    notBefore,
    notAfter,
    keys: keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "berth-agent" }]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString("pem") + "\n";
  return { certPem, keyPem, fingerprint: fingerprintOf(certPem) };
}
