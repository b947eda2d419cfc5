import { escapeHtml } from "./complete-page.js";

/**
 * The page a `GET <logoutPath>` gets when nothing proves it came from this site (no
 * `Sec-Fetch-Site: same-origin`, no same-origin `Origin` or `Referer`): a cross-site
 * `<img src=/logout>` must not sign anyone out on browsers without Fetch Metadata, so the
 * sign-out waits for the user to press the button (a POST, which the Origin check covers).
 */
export function renderLogoutConfirm(action: string, nonce: string, endSessionOrigins: readonly string[] = []): { readonly html: string; readonly csp: string } {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out?</title>
<style nonce="${escapeHtml(nonce)}">body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2933}button{font:inherit;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #1f2933;background:#1f2933;color:#fff;cursor:pointer}</style>
</head>
<body>
<h1>Sign out?</h1>
<p>Press the button to sign out of this site.</p>
<form method="post" action="${escapeHtml(action)}"><button type="submit">Sign out</button></form>
</body>
</html>
`;
  // form-action covers the redirect the form's answer makes too: with RP-initiated logout that is
  // the provider's end-session endpoint.
  const targets = ["'self'", ...endSessionOrigins].join(" ");
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; form-action ${targets}; frame-ancestors 'none'; base-uri 'none'`;
  return { html, csp };
}
