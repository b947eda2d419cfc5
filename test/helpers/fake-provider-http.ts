/** Small HTTP helpers of the fake provider: parameter parsing, body reading, responses. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

/** Parses URL-encoded parameters; RFC 6749 §3.1: parameters MUST NOT be sent more than once. */
export function parseParams(params: URLSearchParams): { values: Record<string, string>; duplicate?: string } {
  const seen = new Set<string>();
  const entries: [string, string][] = [];
  let duplicate: string | undefined;
  for (const [key, value] of params) {
    if (seen.has(key)) duplicate ??= key;
    else {
      seen.add(key);
      entries.push([key, value]);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key is harmless.
  const values = Object.fromEntries(entries) as Record<string, string>;
  return duplicate === undefined ? { values } : { values, duplicate };
}

export const isFormContentType = (headers: IncomingHttpHeaders): boolean =>
  /^application\/x-www-form-urlencoded\s*(;|$)/i.test(headers["content-type"] ?? "");

const BODY_LIMIT = 1 << 20;

/** Reads the whole body as UTF-8 (up to 1 MiB); resolves even when the client aborts. */
export function readBody(req: IncomingMessage): Promise<{ body: string; tooLarge: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => resolve({ body: Buffer.concat(chunks).toString("utf8"), tooLarge: size > BODY_LIMIT });
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on("end", done);
    req.on("error", done);
    req.on("close", done);
  });
}

/** Writes a response unless the client went away or something was already written. */
export function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value), headers);
}

/** RFC 6749 §5.1: token responses are never cached. */
export const NO_STORE = Object.freeze({ "cache-control": "no-store", pragma: "no-cache" });
