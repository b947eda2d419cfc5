/**
 * A minimal browser for the benchmarks that walk redirects (sign-ins, anonymous logins): plain
 * `node:http` over one keep-alive agent (cheaper for the load generator than fetch, which matters
 * with 2 cores shared by the client, the app and the provider), a cookie jar, no redirect
 * following of its own. Loopback only.
 */
import { Agent, request as httpRequest } from "node:http";

export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly setCookie: readonly string[];
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** One HTTP request to a loopback URL; the whole body is read. */
export function send(url: string, options: RequestOptions = {}): Promise<Answer> {
  const target = new URL(url);
  if (target.protocol !== "http:" || target.hostname !== "127.0.0.1") throw new Error(`bench browser: loopback http only, not ${url}`);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = httpRequest(
      { agent, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? "GET", headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            setCookie: res.headers["set-cookie"] ?? [],
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`bench browser: ${url} timed out`)));
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** A cookie jar (one host: the app and the provider share 127.0.0.1, and cookies ignore ports). */
export class Jar {
  readonly cookies = new Map<string, string>();

  absorb(answer: Answer): void {
    for (const line of answer.setCookie) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = /;\s*expires=Thu, 01 Jan 1970/i.test(line) || /;\s*max-age=0/i.test(line);
      if (value === "" || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** GET with the jar's cookies; Set-Cookie is absorbed. */
  async get(url: string): Promise<Answer> {
    const cookie = this.header();
    const answer = await send(url, cookie === "" ? {} : { headers: { cookie } });
    this.absorb(answer);
    return answer;
  }

  /** POST a form with the jar's cookies; Set-Cookie is absorbed. */
  async postForm(url: string, form: Readonly<Record<string, string>>): Promise<Answer> {
    const cookie = this.header();
    const answer = await send(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie === "" ? {} : { cookie }) },
      body: new URLSearchParams(form).toString(),
    });
    this.absorb(answer);
    return answer;
  }
}

const isRedirect = (status: number): boolean => status >= 300 && status < 400;

/**
 * A complete OpenID Connect sign-in as a browser makes it: the app's login route, the provider's
 * authorize endpoint (the mock consents at once), the app's callback, which exchanges the code.
 * Resolves to the jar the browser ends up with; rejects when a step does not answer as it should.
 */
export async function signIn(appUrl: string, loginPath: string, jar = new Jar()): Promise<Jar> {
  const start = await jar.get(`${appUrl}${loginPath}`);
  if (start.status !== 302 || start.location === undefined) throw new Error(`login ${loginPath} answered ${start.status}: ${start.body.slice(0, 200)}`);
  const authorize = await jar.get(start.location);
  if (!isRedirect(authorize.status) || authorize.location === undefined) throw new Error(`authorize answered ${authorize.status}: ${authorize.body.slice(0, 200)}`);
  const callback = await jar.get(new URL(authorize.location, start.location).href);
  if (!isRedirect(callback.status)) throw new Error(`callback answered ${callback.status}: ${callback.body.slice(0, 300)}`);
  return jar;
}
