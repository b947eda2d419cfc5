/**
 * The third-party OpenID provider of the benchmarks, run as a child process
 * (bench/common.ts startProvider): oauth2-mock-server (npm, not flet-auth's own test fake) on
 * 127.0.0.1 with an RS256 key, so the load generator, the app under test and the provider each
 * have their own event loop.
 *
 *   node --import tsx bench/provider.ts
 *
 * What the benchmarks add to the mock's defaults, through its documented events only:
 * - the same user profile (bench/profile.ts) in the userinfo answer and in the ID token, so every
 *   library under test gets comparable user data;
 * - optionally a short `expires_in` for tokens from an authorization code (the refresh storm);
 * - counters of what it answered (authorize, token by grant, userinfo) and its own CPU time,
 *   read by the parent over IPC, never over HTTP.
 */
import { OAuth2Server, type MutableResponse, type MutableToken, type TokenRequestIncomingMessage } from "oauth2-mock-server";
import { BENCH_PROFILE } from "./profile.js";

/** Messages the parent sends. */
export type ProviderCommand = { readonly type: "stats"; readonly id: number } | { readonly type: "set"; readonly id: number; readonly codeTokenTtl: number | null };

/** What the provider answers to `stats`. */
export interface ProviderStats {
  readonly authorize: number;
  readonly authorizationCode: number;
  readonly refreshToken: number;
  readonly userinfo: number;
  /** CPU µs (user + system) the provider process has used so far. */
  readonly cpuUs: number;
}

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
await server.start(0, "127.0.0.1");
const issuer = `http://127.0.0.1:${server.address().port}`;
// The mock names itself "localhost"; 127.0.0.1 is the address it listens on (no IPv6 lookup).
server.issuer.url = issuer;

let codeTokenTtl: number | null = null;
const counts = { authorize: 0, authorizationCode: 0, refreshToken: 0, userinfo: 0 };

server.service.on("beforeAuthorizeRedirect", () => {
  counts.authorize += 1;
});
server.service.on("beforeTokenSigning", (token: MutableToken) => {
  // The ID token is the one with an audience and no scope: give it the profile claims.
  if (token.payload["aud"] !== undefined && token.payload["scope"] === undefined) Object.assign(token.payload, BENCH_PROFILE);
});
server.service.on("beforeResponse", (response: MutableResponse, req: TokenRequestIncomingMessage) => {
  if (req.body.grant_type === "authorization_code") {
    counts.authorizationCode += 1;
    if (codeTokenTtl !== null && typeof response.body === "object") response.body["expires_in"] = codeTokenTtl;
  } else if (req.body.grant_type === "refresh_token") {
    counts.refreshToken += 1;
  }
});
server.service.on("beforeUserinfo", (response: MutableResponse) => {
  counts.userinfo += 1;
  response.body = { ...BENCH_PROFILE };
});

process.on("message", (message: ProviderCommand) => {
  if (message.type === "set") codeTokenTtl = message.codeTokenTtl;
  const cpu = process.cpuUsage();
  const stats: ProviderStats = { ...counts, cpuUs: cpu.user + cpu.system };
  process.send?.({ id: message.id, stats });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
process.send?.({ issuer });
