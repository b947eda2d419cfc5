/**
 * A listener that throws or rejects is logged with the event's name and its error, and the other
 * listeners still run (lib/events.ts `notify`).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { notify, type FletAuthEvents, type Logger } from "../../lib/events.js";
import { deferred } from "../helpers/deferred.js";

const payload = { name: "logout" } as unknown as FletAuthEvents["logout"];

function recordingLogger() {
  return { warn: vi.fn<Logger["warn"]>(), error: vi.fn<Logger["error"]>() } satisfies Logger;
}

describe("listener failures are logged, naming the event", () => {
  it("a listener that throws is logged as such, with its error, and later listeners still run", () => {
    const emitter = new EventEmitter();
    const logger = recordingLogger();
    const failure = new Error("listener bug");
    const later = vi.fn();
    emitter.on("logout", () => {
      throw failure;
    });
    emitter.on("logout", later);

    notify(emitter, logger, "logout", payload);

    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith('flet-auth: a "logout" listener threw', failure);
    expect(later).toHaveBeenCalledWith(payload);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it("a listener whose promise rejects is logged as such, with its reason", async () => {
    const emitter = new EventEmitter();
    const failure = new Error("async listener bug");
    const logged = deferred<unknown[]>();
    const logger: Logger = { warn: vi.fn(), error: (...args: unknown[]) => logged.resolve(args) };
    emitter.on("refresh", () => Promise.reject(failure));

    notify(emitter, logger, "refresh", payload as unknown as FletAuthEvents["refresh"]);

    expect(await logged.promise).toEqual(['flet-auth: a "refresh" listener rejected', failure]);
  });
});
