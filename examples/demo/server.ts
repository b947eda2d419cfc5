/**
 * `npm start`: the flet-auth demo with zero configuration. A local identity provider starts with
 * it; set GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET, AZURE_CLIENT_ID/AZURE_CLIENT_SECRET(/AZURE_TENANT),
 * AUTH0_DOMAIN/AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET or GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET to add
 * their buttons (register http://localhost:<PORT>/oauth_callback with them). SESSION_SECRET and
 * REMEMBER_ME_KEY keep sign-ins across restarts; both are random per start otherwise. PORT is the
 * app's port (8550); DEMO_IDP_PORT the demo identity provider's (a free port when unset).
 */
import { createDemo } from "./app.js";
import { DEFAULT_DEMO_USER } from "./idp.js";

const port = portFromEnv("PORT", 8550);
const idpPort = portFromEnv("DEMO_IDP_PORT", 0);

const demo = await createDemo({ port, idpPort, host: "localhost", env: process.env });
console.log(`flet-auth demo on ${demo.url} — sign in as ${DEFAULT_DEMO_USER.email} / ${DEFAULT_DEMO_USER.password}`);
console.log(`demo identity provider on ${demo.idp.issuer}${idpPort === 0 ? " (a free port: set DEMO_IDP_PORT to choose it)" : ""}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    demo.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("shutdown failed", err);
        process.exit(1);
      },
    );
  });
}

/** A TCP port from the environment (0: any free port), or `fallback` when the variable is unset or empty. */
function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    console.error(`${name} must be a TCP port number (0 to 65535), got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}
