/**
 * The two public entries load and export what they promise. The imports happen inside the tests,
 * so a module that throws while loading (a bad constant, an unsupported TextDecoder label) fails
 * a test here rather than only breaking every suite that imports it.
 */
import { describe, expect, it } from "vitest";

describe("public entries", () => {
  it("flet-auth loads: fletAuth, the providers and the errors", async () => {
    const entry = await import("../../lib/index.js");
    expect(typeof entry.fletAuth).toBe("function");
    expect(typeof entry.OAuthProvider).toBe("function");
    expect(typeof entry.GitHubOAuthProvider).toBe("function");
    expect(typeof entry.FletAuthError).toBe("function");
  });

  it("flet-auth/security loads and round-trips both of Flet's formats", async () => {
    const security = await import("../../lib/security.js");
    const options = { iterations: 1000 };
    expect(security.decryptSync(security.encryptSync("héllo", "key", options), "key", options)).toBe("héllo");
    expect(security.decryptAesGcm256Sync(security.encryptAesGcm256Sync("héllo", "key", options), "key", options)).toBe("héllo");
  });
});
