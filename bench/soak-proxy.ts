/**
 * The soak's two network pieces (bench/soak.ts), both node:http in the parent process:
 *
 * - a fault-injecting front of the fake provider's token endpoint, which records every refresh
 *   token the provider processes (so "presented twice" is counted at the provider, the way its
 *   reuse detection sees it), which instance presented it (User-Agent) and whether the answer
 *   reached that instance; modes: normal, HTTP 500 (nothing processed), hang (held, then the
 *   connection dropped unprocessed), delay (processed late, answered late: slow but rotating),
 *   reset (processed, then the connection reset before the answer: an outcome the client cannot know);
 * - a round-robin balancer over the app instances that, like a real one, moves to the next
 *   instance when a connection cannot be opened (a killed instance), never after a request was sent.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeProvider } from "../test/helpers/fake-provider.js";

export type TokenMode =
  | { readonly kind: "normal" }
  | { readonly kind: "error500" }
  | { readonly kind: "hang" }
  | { readonly kind: "delay"; readonly ms: number }
  /** Processed (the token rotates), then the connection is reset instead of answered. */
  | { readonly kind: "reset" };

/** One refresh token the provider processed. */
export interface Presentation {
  readonly token: string;
  /** The User-Agent of the instance that sent it. */
  readonly instance: string;
  /** When the request arrived, ms since the epoch. */
  readonly receivedAt: number;
  /** When the provider processed it (after any injected delay). */
  readonly at: number;
  /** The refresh token the provider answered with (rotation), when it answered one. */
  next: string | undefined;
  /** The HTTP status the provider answered. */
  status: number | undefined;
  /** True once the answer was written to a connection that was still open. */
  delivered: boolean;
  /** When the provider's answer was written (or found no connection), ms since the epoch. */
  answeredAt: number | undefined;
}

export interface TokenProxy {
  readonly tokenEndpoint: string;
  setMode(mode: TokenMode): void;
  /** Refresh requests received and not answered yet, per instance (User-Agent). */
  inflight(instance: string): number;
  /** Drops every held (hang) request without forwarding it. */
  dropHeld(): number;
  /** Every processed refresh, in order. */
  readonly presentations: Presentation[];
  /** The refresh token of each code exchange, labelled by {@link TokenProxy.label}. */
  readonly exchanges: Map<string, string>;
  /** Labels the next code exchanges (the sign-in of one simulated user). */
  label(name: string | undefined): void;
  /** Refresh requests answered 500, held requests dropped, and processed requests reset, by this proxy. */
  readonly counts: { error500: number; dropped: number; reset: number };
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the token endpoint front on 127.0.0.1. */
export async function startTokenProxy(fake: FakeProvider): Promise<TokenProxy> {
  let mode: TokenMode = { kind: "normal" };
  let currentLabel: string | undefined;
  const presentations: Presentation[] = [];
  const exchanges = new Map<string, string>();
  const inflight = new Map<string, number>();
  const held = new Set<ServerResponse>();
  const counts = { error500: 0, dropped: 0, reset: 0 };

  const forward = async (req: IncomingMessage, body: string): Promise<{ status: number; text: string }> => {
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "accept", "authorization", "user-agent"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const res = await fetch(`${fake.url}/token`, { method: "POST", headers, body });
    return { status: res.status, text: await res.text() };
  };

  const answer = (res: ServerResponse, status: number, text: string): boolean => {
    if (res.destroyed || res.writableEnded) return false;
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
    res.end(text);
    return true;
  };

  const refreshTokenOf = (text: string): string | undefined => {
    try {
      const parsed = JSON.parse(text) as { refresh_token?: unknown };
      return typeof parsed.refresh_token === "string" ? parsed.refresh_token : undefined;
    } catch {
      return undefined;
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const form = new URLSearchParams(body);
      const instance = String(req.headers["user-agent"] ?? "unknown");
      if (form.get("grant_type") !== "refresh_token") {
        const label = currentLabel;
        const upstream = await forward(req, body);
        const issued = refreshTokenOf(upstream.text);
        if (label !== undefined && issued !== undefined) exchanges.set(label, issued);
        answer(res, upstream.status, upstream.text);
        return;
      }
      inflight.set(instance, (inflight.get(instance) ?? 0) + 1);
      res.on("close", () => inflight.set(instance, (inflight.get(instance) ?? 1) - 1));
      const receivedAt = Date.now();
      const now = mode;
      if (now.kind === "error500") {
        counts.error500 += 1;
        answer(res, 500, JSON.stringify({ error: "server_error", error_description: "soak: provider failing" }));
        return;
      }
      if (now.kind === "hang") {
        held.add(res);
        return;
      }
      if (now.kind === "delay") await sleep(now.ms);
      // The provider processes the request whether or not the client is still there.
      const presentation: Presentation = {
        token: form.get("refresh_token") ?? "",
        instance,
        receivedAt,
        at: Date.now(),
        next: undefined,
        status: undefined,
        delivered: false,
        answeredAt: undefined,
      };
      presentations.push(presentation);
      const upstream = await forward(req, body);
      presentation.status = upstream.status;
      presentation.next = refreshTokenOf(upstream.text);
      if (now.kind === "reset") {
        counts.reset += 1;
        res.socket?.resetAndDestroy();
        presentation.answeredAt = Date.now();
        return;
      }
      presentation.delivered = answer(res, upstream.status, upstream.text);
      presentation.answeredAt = Date.now();
    })().catch((err: unknown) => {
      answer(res, 502, JSON.stringify({ error: "server_error", error_description: `soak proxy: ${String(err)}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    tokenEndpoint: `http://127.0.0.1:${port}/token`,
    setMode(next) {
      mode = next;
    },
    inflight: (instance) => inflight.get(instance) ?? 0,
    dropHeld() {
      const n = held.size;
      for (const res of held) res.destroy();
      held.clear();
      counts.dropped += n;
      return n;
    },
    presentations,
    exchanges,
    label(name) {
      currentLabel = name;
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Balancer {
  readonly url: string;
  /** Requests that found no instance to connect to, and requests cut by an instance dying. */
  readonly counts: { noUpstream: number; reset: number };
  close(): Promise<void>;
}

/** Round robin over `ports` on 127.0.0.1; a refused connection moves on to the next instance. */
export async function startBalancer(ports: readonly number[]): Promise<Balancer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let next = 0;
  const counts = { noUpstream: 0, reset: 0 };

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const first = next++;
      const tryUpstream = (attempt: number): void => {
        if (attempt >= ports.length) {
          counts.noUpstream += 1;
          res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ code: "balancer_no_upstream" }));
          return;
        }
        // This request's turn, then the instances after it: each tried once.
        const port = ports[(first + attempt) % ports.length]!;
        let connected = false;
        const upstream = httpRequest(
          { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on("error", () => res.destroy());
          },
        );
        upstream.on("socket", (socket) => {
          if (!socket.connecting) connected = true;
          else socket.once("connect", () => (connected = true));
        });
        upstream.on("error", (err: NodeJS.ErrnoException) => {
          if (res.headersSent) return void res.destroy();
          if (!connected && (err.code === "ECONNREFUSED" || err.code === "ECONNRESET")) return tryUpstream(attempt + 1);
          counts.reset += 1;
          res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ code: "balancer_upstream_reset" }));
        });
        upstream.end(body);
      };
      tryUpstream(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
