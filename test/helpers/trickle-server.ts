/**
 * An HTTP endpoint that answers 200 with JSON headers at once, then trickles its body one byte
 * every `intervalMs`: a socket idle timeout (restarted by every byte) never fires on it, only an
 * overall deadline does. What it sent, and whether the client went away first, are observable.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TrickleServer {
  /** `http://127.0.0.1:<port>`; every path trickles. */
  readonly url: string;
  /** Requests received so far. */
  requests(): number;
  /** Body bytes written so far, over all requests. */
  bytesSent(): number;
  /** True once a whole body was sent (the client waited for all of it). */
  finished(): boolean;
  /** True once a client closed its connection before the body was complete. */
  abandoned(): boolean;
  close(): Promise<void>;
}

/** Starts the endpoint on 127.0.0.1 with an ephemeral port. */
export async function startTrickleServer(body: string, intervalMs = 100): Promise<TrickleServer> {
  let requests = 0;
  let sent = 0;
  let finished = false;
  let abandoned = false;
  const timers = new Set<ReturnType<typeof setInterval>>();
  const responses = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    requests += 1;
    responses.add(res);
    const bytes = Buffer.from(body, "utf8");
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length });
    res.flushHeaders();
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return;
      res.write(bytes.subarray(at, at + 1));
      at += 1;
      sent += 1;
      if (at >= bytes.length) {
        clearInterval(timer);
        timers.delete(timer);
        finished = true;
        res.end();
      }
    }, intervalMs);
    timers.add(timer);
    res.on("close", () => {
      if (at < bytes.length) abandoned = true;
      clearInterval(timer);
      timers.delete(timer);
      responses.delete(res);
    });
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    bytesSent: () => sent,
    finished: () => finished,
    abandoned: () => abandoned,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        timers.clear();
        for (const res of responses) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
