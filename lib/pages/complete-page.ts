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
 * restricted to its own origin, carrying no token (checklist 18), then closes itself; without an
 * opener (COOP, new tab) it shows a link back to the app.
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
<style nonce="${nonce}">body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}.error{color:#b00020}</style>
</head>
<body>
<h1>${title}</h1>
<p${o.ok ? "" : ' class="error" role="alert"'}>${message}</p>
<p><a href="${o.returnTo}">Return to the application</a></p>
<script nonce="${nonce}">
(function () {
  var signal = ${scriptJson(signal)};
  if (window.opener && !window.opener.closed) {
    try { window.opener.postMessage(signal, window.location.origin); } catch (e) {}
  }
  // Cross-Origin-Opener-Policy on the provider's pages severs window.opener; a same-origin
  // BroadcastChannel still reaches the page that opened the popup.
  try { var channel = new BroadcastChannel("flet-auth"); channel.postMessage(signal); channel.close(); } catch (e) {}
  // Closes a popup even when COOP severed its opener (checklist 19); browsers ignore this for
  // a tab the user opened, which then shows the link above.
  window.close();
})();
</script>
</body>
</html>
`;
}
