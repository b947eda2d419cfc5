import { describe, expect, it } from "vitest";
import { renderLogoutConfirm } from "../../../lib/pages/logout-confirm.js";

describe("the GET /logout confirmation page", () => {
  it("escapes the action and allows the form (and its answer's redirect) only to this site and the providers' end-session origins", () => {
    const page = renderLogoutConfirm('/logout?returnTo="><script>', "n0nce", ["https://idp.example"]);
    expect(page.html).toContain('action="/logout?returnTo=&quot;&gt;&lt;script&gt;"');
    expect(page.html).not.toContain("<script>");
    // Browsers apply form-action to the redirect a form's answer makes: RP-initiated logout sends
    // the browser on to the provider's end-session endpoint.
    expect(page.csp).toContain("form-action 'self' https://idp.example;");
    expect(page.csp).toContain("style-src 'nonce-n0nce'");
    expect(page.csp).toContain("frame-ancestors 'none'");
  });

  it("without end-session endpoints the form may only post to this site", () => {
    expect(renderLogoutConfirm("/logout", "n").csp).toContain("form-action 'self';");
  });
});
