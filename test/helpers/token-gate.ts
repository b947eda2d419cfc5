/**
 * A pass-through proxy in front of the fake provider's token endpoint that can hold one token
 * request until the test lets it through. While held, "the provider has not answered yet" is a
 * fact the test can check, not a timing guess; once released, the request reaches the real fake
 * provider, which answers it as usual (a successful, rotated token for a refresh).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deferred } from "./deferred.js";
import { readBody, send } from "./fake-provider-http.js";
import type { FakeProvider } from "./fake-provider.js";

/** What the provider answered a held request, once released. */
export interface ProviderAnswer {
  readonly status: number;
  readonly body: string;
}

/** One held token request. */
export interface HeldTokenRequest {
  /** Resolves with the request's form parameters once it reached the gate (body read). */
  readonly arrived: Promise<Record<string, string>>;
  /** True once the provider's answer was sent (or offered) to the client. */
  answered(): boolean;
  /**
   * Settles when the client's request is over: true when the client closed the connection before
   * the provider answered (it gave up), false when it received the answer.
   */
  readonly closedBeforeAnswer: Promise<boolean>;
  /** Lets the request through to the fake provider; resolves with what it answered. Idempotent. */
  release(): Promise<ProviderAnswer>;
}

export interface TokenGate {
  /** Use as the provider's `tokenEndpoint`. */
  readonly tokenEndpoint: string;
  /** Holds the next request to the token endpoint until its `release()`. */
  holdNext(): HeldTokenRequest;
  close(): Promise<void>;
}

interface Hold {
  readonly handle: HeldTokenRequest;
  serve(req: IncomingMessage, res: ServerResponse, body: string): void;
}

function createHold(forward: (req: IncomingMessage, body: string) => Promise<ProviderAnswer>): Hold {
  const arrived = deferred<Record<string, string>>();
  const gate = deferred<void>();
  const answer = deferred<ProviderAnswer>();
  const closed = deferred<boolean>();
  let answered = false;
  let released: Promise<ProviderAnswer> | undefined;
  return {
    handle: {
      arrived: arrived.promise,
      answered: () => answered,
      closedBeforeAnswer: closed.promise,
      release() {
        gate.resolve();
        released ??= answer.promise;
        return released;
      },
    },
    serve(req, res, body) {
      res.on("close", () => closed.resolve(!answered));
      arrived.resolve(Object.fromEntries(new URLSearchParams(body)));
      void gate.promise
        .then(() => forward(req, body))
        .then(
          (upstream) => {
            answered = true;
            send(res, upstream.status, "application/json", upstream.body);
            answer.resolve(upstream);
          },
          (err: unknown) => {
            answered = true;
            send(res, 502, "text/plain", String(err));
            answer.reject(err);
          },
        );
    },
  };
}

/** Starts a gate on 127.0.0.1 in front of `fake`'s `/token`. */
export async function startTokenGate(fake: FakeProvider): Promise<TokenGate> {
  const holds: Hold[] = [];

  const forward = async (req: IncomingMessage, body: string): Promise<ProviderAnswer> => {
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "accept", "authorization", "user-agent"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const res = await fetch(`${fake.url}${req.url ?? "/token"}`, { method: req.method ?? "POST", headers, body });
    return { status: res.status, body: await res.text() };
  };

  const server = createServer((req, res) => {
    void readBody(req).then(({ body }) => {
      const hold = holds.shift();
      if (hold !== undefined) return hold.serve(req, res, body);
      return forward(req, body).then(
        (upstream) => send(res, upstream.status, "application/json", upstream.body),
        (err: unknown) => send(res, 502, "text/plain", String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    tokenEndpoint: `http://127.0.0.1:${port}/token`,
    holdNext() {
      const hold = createHold(forward);
      holds.push(hold);
      return hold.handle;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
