/**
 * `returnTo` accepts only same-origin relative paths (RFC 9700 §4.11, OWASP unvalidated
 * redirects): one leading `/` followed by anything but `/` or `\`, no control characters, no
 * scheme, and nothing that decodes into those. Anything else yields `undefined` (the caller falls
 * back to its default) — never an error, never a 500.
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return undefined;
  if (!isSafePath(value)) return undefined;
  // Reject encoded variants too (`/%2F%2Fevil`, `/%5Cevil`): some servers and browsers decode them.
  let decoded = value;
  for (let i = 0; i < 3; i += 1) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return undefined;
    }
    if (next === decoded) break;
    if (!isSafePath(next)) return undefined;
    decoded = next;
  }
  // Final guard: resolved against a dummy origin, the path must stay on that origin.
  try {
    const resolved = new URL(value, "http://flet-auth.invalid");
    if (resolved.origin !== "http://flet-auth.invalid") return undefined;
  } catch {
    return undefined;
  }
  return value;
}

function isSafePath(path: string): boolean {
  if (!path.startsWith("/")) return false;
  const second = path.charAt(1);
  if (second === "/" || second === "\\") return false;
  // Control characters, whitespace tricks (`/\t/evil`) and backslashes anywhere are refused.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return !/[\u0000-\u001f\u007f\\]/.test(path);
}
