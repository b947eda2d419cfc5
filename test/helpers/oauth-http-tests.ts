/** Shared by the OAuthHttp suites: rejections as FletAuthErrors, and loopback servers for answers the fake provider cannot produce. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { FletAuthError } from "../../lib/index.js";

/** Runs `fn` and returns what it rejected with (fails the test when it resolves or rejects with something else). */
export async function rejection(fn: () => Promise<unknown>): Promise<FletAuthError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a FletAuthError rejection").toBeInstanceOf(FletAuthError);
  return caught as FletAuthError;
}

/** A loopback server answering every request with `handler` once its body has been read. */
export async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
