/**
 * The one log sanitiser: a plain Error with the name and a bounded message only. HTTP and Redis
 * client errors carry request objects (an `Authorization: Bearer` header, a form body with the
 * client secret), command arguments or a connection URL with a password, and a `cause` ends up
 * in logs.
 */
export function safeError(err: unknown): Error {
  const name = err instanceof Error ? err.name : "Error";
  const message = (err instanceof Error ? err.message : String(err))
    // scheme://user:password@host → scheme://***@host
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, "$1***@")
    .slice(0, 300);
  const clean = new Error(message);
  clean.name = name;
  return clean;
}
