/**
 * `npm start`: the flet-auth demo with zero configuration. A local identity provider starts with
 * it; set GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET, AZURE_CLIENT_ID/AZURE_CLIENT_SECRET(/AZURE_TENANT),
 * AUTH0_DOMAIN/AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET or GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET to add
 * their buttons (register http://localhost:<PORT>/oauth_callback with them). SESSION_SECRET and
 * REMEMBER_ME_KEY keep sign-ins across restarts; both are random per start otherwise.
 */
import { createDemo } from "./app.js";
import { DEFAULT_DEMO_USER } from "./idp.js";

const port = Number(process.env["PORT"] ?? 8550);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a TCP port number, got ${JSON.stringify(process.env["PORT"])}`);
  process.exit(1);
}

const demo = await createDemo({ port, host: "localhost", env: process.env });
console.log(`flet-auth demo on ${demo.url} — sign in as ${DEFAULT_DEMO_USER.email} / ${DEFAULT_DEMO_USER.password}`);

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
