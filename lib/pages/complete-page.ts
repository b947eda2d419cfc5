/**
 * The page the callback answers when it does not redirect (popup and new-tab flows). Flet's page
 * says "signed in" even on error (behaviour §9.12); ours never does.
 */

/** The outcome a complete-page template receives; every string is already HTML-escaped. */
export interface CompletePageOutcome {
  readonly provider: string;
  /** OAuth error or flet-auth error code; empty on success. */
  readonly error: string;
  readonly errorDescription: string;
  readonly returnTo: string;
  readonly ok: boolean;
}

/**
 * The complete page: an HTML string, served on success as Flet does (errors then get the
 * default error page), or a function of the outcome that renders both.
 *
 * @example
 * fletAuth({
 *   providers,
 *   secret,
 *   // The values are already HTML-escaped; a custom page must close a popup itself.
 *   completePageHtml: (o) => (o.ok ? `<h1>Welcome via ${o.provider}</h1><script>window.close()</script>` : `<h1>Sign-in failed</h1><p>${o.errorDescription}</p>`),
 * });
 */
export type CompletePageTemplate = string | ((outcome: CompletePageOutcome) => string);

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** `text` ending with a full stop, unless it already ends with punctuation (no "again.."). */
export function sentence(text: string): string {
  return /[.!?…]$/.test(text.trimEnd()) ? text.trimEnd() : `${text.trimEnd()}.`;
}

/** JSON for an inline `<script>`: `<`, `>`, `&` and line separators escaped so nothing ends the script. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Raw (unescaped) outcome as the handlers know it. */
export interface RawOutcome {
  readonly provider: string;
  readonly error?: string | undefined;
  readonly errorDescription?: string | undefined;
  readonly returnTo: string;
}

/** A rendered page and the Content-Security-Policy that goes with it. */
export interface RenderedPage {
  readonly html: string;
  readonly csp: string;
}

/**
 * Renders the outcome. The default page tells its opener (popup flow) with `postMessage`
 * restricted to its own origin, carrying no token (checklist 18), then closes itself (a failure
 * page only when it has an opener: it also ends same-tab logins); a window that stays shows a
 * link back to the app.
 */
export function renderCompletePage(template: CompletePageTemplate | undefined, raw: RawOutcome, nonce: string): RenderedPage {
  const ok = raw.error === undefined;
  const outcome: CompletePageOutcome = {
    ok,
    provider: escapeHtml(raw.provider),
    error: escapeHtml(raw.error ?? ""),
    errorDescription: escapeHtml(raw.errorDescription ?? ""),
    returnTo: escapeHtml(raw.returnTo),
  };
  const frameDeny = "frame-ancestors 'none'";
  if (typeof template === "function") return { html: template(outcome), csp: frameDeny };
  if (typeof template === "string" && ok) return { html: template, csp: frameDeny };
  return {
    html: defaultPage(outcome, raw, nonce),
    csp: `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'; ${frameDeny}`,
  };
}

/** Neutral styling of the default page: a centred card, readable on any app's background. */
const STYLE =
  "body{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:#111827;background:#f9fafb;margin:0;padding:2rem 1rem}" +
  "main{max-width:32rem;margin:2rem auto;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1.5rem 2rem}" +
  "h1{font-size:1.5rem;margin:0 0 .5rem}.error{color:#b91c1c}" +
  ".button{display:inline-block;padding:.45rem 1rem;border-radius:.25rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;text-decoration:none}" +
  ".button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

function defaultPage(o: CompletePageOutcome, raw: RawOutcome, nonce: string): string {
  const title = o.ok ? "Signed in successfully" : "Sign-in failed";
  const message = o.ok
    ? "You've been successfully signed in! You can close this tab or window now."
    : `Sign-in with ${o.provider || "the provider"} did not complete: ${sentence(o.errorDescription || o.error)}`;
  const signal = { type: "flet-auth:login", ok: o.ok, provider: raw.provider, error: raw.error ?? "" };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p${o.ok ? "" : ' class="error" role="alert"'}>${message}</p>
<p><a class="button" href="${o.returnTo}">Return to the application</a></p>
</main>
<script nonce="${nonce}">
(function () {
  var signal = ${scriptJson(signal)};
  if (window.opener && !window.opener.closed) {
    try { window.opener.postMessage(signal, window.location.origin); } catch (e) {}
  }
  // Cross-Origin-Opener-Policy on the provider's pages severs window.opener; a same-origin
  // BroadcastChannel still reaches the page that opened the popup.
  try { var channel = new BroadcastChannel("flet-auth"); channel.postMessage(signal); channel.close(); } catch (e) {}
  // A success page is only answered to popups and new tabs (same-tab logins are redirected), so
  // it closes even when COOP severed its opener (checklist 19). A failure page also ends
  // same-tab logins, where window.close() would only print a console warning: it closes only a
  // window that has an opener. A tab that stays shows the link above.
  if (signal.ok || window.opener) window.close();
})();
</script>
</body>
</html>
`;
}
