/**
 * What a person does on the demo identity provider's pages (examples/demo/idp.ts): type the
 * credentials, press "Sign in", then "Allow" or "Deny" on the consent page.
 */
import type { Page } from "playwright-core";
import { DEFAULT_DEMO_USER, type DemoIdp } from "../../examples/demo/idp.js";

export interface IdpSignInOptions {
  readonly login?: string;
  readonly password?: string;
  /** The consent decision. @default "allow" */
  readonly decision?: "allow" | "deny";
}

/** Waits for the IdP's login page in `page`, signs in and answers the consent page. */
export async function signInAtDemoIdp(page: Page, idp: DemoIdp, options: IdpSignInOptions = {}): Promise<void> {
  const idpOrigin = new URL(idp.issuer).origin;
  await page.waitForURL((url) => url.origin === idpOrigin && url.pathname.startsWith("/interaction/"));
  await page.locator("#login").fill(options.login ?? DEFAULT_DEMO_USER.email);
  await page.locator("#password").fill(options.password ?? DEFAULT_DEMO_USER.password);
  await page.locator("button#sign-in").click();
  const button = page.locator(options.decision === "deny" ? "button#deny" : "button#allow");
  await button.waitFor({ state: "visible" });
  await button.click();
}
