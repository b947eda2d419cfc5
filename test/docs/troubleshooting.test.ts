/**
 * docs/troubleshooting.md quotes flet-auth's messages word for word. These checks keep the
 * quotes true: messages built at run time are produced here and looked up in the page; fixed
 * ones must be in both the page and lib/.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fletAuth, GitHubOAuthProvider, type FletAuthOptions } from "../../lib/index.js";
import { checkOrigin, originWarning } from "../../lib/flow/origin.js";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The page's text with line breaks, blockquote markers and repeated spaces folded. */
const page = readFileSync(join(ROOT, "docs", "troubleshooting.md"), "utf8")
  .replace(/^> ?/gm, "")
  .replace(/\s+/g, " ");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [readFileSync(path, "utf8")] : [];
  });
}
const lib = sources(join(ROOT, "lib")).join("\n");

function thrown(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  throw new Error("expected a throw");
}

const github = (redirectUrl = "http://localhost:8550/oauth_callback"): GitHubOAuthProvider =>
  new GitHubOAuthProvider({ clientId: "id", clientSecret: "secret", redirectUrl });

describe("docs/troubleshooting.md quotes the real messages", () => {
  it.each([
    "No sign-in is pending in this browser for this host name: start the sign-in again on this same address (the session cookie belongs to the host name where the sign-in started).",
    "The sign-in took too long; please start again.",
    "This sign-in link is invalid or was already used; please start again.",
    "flet-auth needs a session, and none was created.",
    "The session store is not available; try again shortly.",
    "the session store did not load the session within",
    "flet-auth's Redis store did not answer (",
    "The sign-in popup was blocked",
    "popup_closed",
    "The ID token was refused: ",
    "it has expired",
    "check failed",
    "Sign-in with ",
    "did not complete: ",
  ])("%s", (message) => {
    expect(page).toContain(message);
    expect(lib).toContain(message);
  });

  it("the start-up errors", () => {
    const options = { providers: { github: github() } } as unknown as FletAuthOptions;
    expect(page).toContain(thrown(() => fletAuth(options)));
    expect(page).toContain(thrown(() => fletAuth({ ...options, secret: "" })));
    expect(page).toContain(thrown(() => fletAuth({ ...options, secret: "x".repeat(32), session: { secret: "x" } as FletAuthOptions["session"] })).replace(/^TypeError: /, ""));
    expect(page).toContain(thrown(() => github("http://192.168.1.10:8550/oauth_callback")));
  });

  it("the origin warnings", () => {
    for (const [origin, redirectUrl] of [
      ["http://app.example.com", "https://app.example.com/oauth_callback"],
      ["http://127.0.0.1:8550", "http://localhost:8550/oauth_callback"],
    ] as const) {
      const check = checkOrigin(origin, redirectUrl);
      if (check.kind === "same") throw new Error("expected a mismatch");
      expect(page).toContain(originWarning("github", redirectUrl, check));
    }
  });
});
