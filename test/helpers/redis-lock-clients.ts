/**
 * Clients for the Redis refresh lock's tests: a recorder around any client (real node-redis or
 * the in-memory fake) that logs every command with its arguments and lets a test wait for an
 * observable point ("this instance was refused the lock N times"), and an in-memory fake with
 * Redis's SET NX / GET / DEL / compare-and-delete semantics, so no server is needed.
 */
import type { RedisRefreshLockClient, RedisSetOptions } from "../../lib/index.js";

/** One command a lock sent, with what it answered. */
export type RecordedCommand =
  | { readonly command: "SET"; readonly key: string; readonly value: string; readonly options: RedisSetOptions; readonly result: unknown }
  | { readonly command: "GET"; readonly key: string; readonly result: string | null }
  | { readonly command: "DEL"; readonly key: string; readonly result: number }
  | { readonly command: "EVAL"; readonly script: string; readonly keys: readonly string[]; readonly arguments: readonly string[]; readonly result: unknown };

export interface RecordingClient extends RedisRefreshLockClient {
  /** Every completed command, in order. */
  readonly log: RecordedCommand[];
  /** Short names ("GET", "SET NX", "SET", "DEL", "EVAL") of the completed commands, in order. */
  readonly commands: string[];
  /** How many `SET … NX` this client was refused (another instance held the lock). */
  refusals(): number;
  /**
   * Resolves once this client has been refused the lock `n` times: from the second refusal on,
   * the instance has provably been waiting and polling while another held the lock.
   */
  whenRefused(n: number): Promise<void>;
}

type EvalOptions = { keys: string[]; arguments: string[] };

/** The calls the recorder forwards to; `eval` is optional as in {@link RedisRefreshLockClient}. */
type Inner = RedisRefreshLockClient;

/** Wraps `inner`; with `withoutEval` the wrapper hides EVAL to exercise the GET + DEL release. */
export function recordingClient(inner: Inner, { withoutEval = false } = {}): RecordingClient {
  const log: RecordedCommand[] = [];
  const commands: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let refused = 0;

  const record = (entry: RecordedCommand): void => {
    log.push(entry);
    commands.push(entry.command === "SET" && entry.options.condition === "NX" ? "SET NX" : entry.command);
    if (entry.command === "SET" && entry.options.condition === "NX" && entry.result === null) {
      refused += 1;
      for (const waiter of waiters.filter((w) => w.n <= refused)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const client: RecordingClient = {
    log,
    commands,
    refusals: () => refused,
    whenRefused(n) {
      if (refused >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    async set(key, value, options) {
      const result = await inner.set(key, value, options);
      record({ command: "SET", key, value, options, result });
      return result;
    },
    async get(key) {
      const result = await inner.get(key);
      record({ command: "GET", key, result });
      return result;
    },
    async del(key) {
      const result = await inner.del(key);
      record({ command: "DEL", key, result });
      return result;
    },
  };
  const evaluate = inner.eval?.bind(inner);
  if (!withoutEval && evaluate !== undefined) {
    client.eval = async (script: string, options: EvalOptions) => {
      const result = await evaluate(script, options);
      record({ command: "EVAL", script, keys: [...options.keys], arguments: [...options.arguments], result });
      return result;
    };
  }
  return client;
}

/** The lock's release script, recognised by what it does: delete KEYS[1] only if it holds ARGV[1]. */
const COMPARE_AND_DELETE =
  /^if redis\.call\('get', KEYS\[1\]\) == ARGV\[1\] then return redis\.call\('del', KEYS\[1\]\) else return 0 end$/;

export interface MemoryRedis extends Required<RedisRefreshLockClient> {
  /** What the fake holds; tests may read and write it directly. */
  readonly data: Map<string, string>;
}

/**
 * An in-memory Redis for the lock's commands. Expiry is not simulated (the tests assert the PX
 * values sent); SET NX refuses an existing key; EVAL runs only the compare-and-delete script.
 */
export function memoryRedis(): MemoryRedis {
  const data = new Map<string, string>();
  return {
    data,
    async set(key, value, options) {
      if (options.condition === "NX" && data.has(key)) return null;
      data.set(key, value);
      return "OK";
    },
    async get(key) {
      return data.get(key) ?? null;
    },
    async del(key) {
      return data.delete(key) ? 1 : 0;
    },
    async eval(script, options) {
      if (!COMPARE_AND_DELETE.test(script)) throw new Error(`memoryRedis: unexpected script ${script}`);
      const [key] = options.keys;
      const [owner] = options.arguments;
      if (key === undefined || owner === undefined) throw new Error("memoryRedis: the script needs one key and one argument");
      return data.get(key) === owner && data.delete(key) ? 1 : 0;
    },
  };
}
