import { FletAuthError } from "../errors.js";
import { isRecord } from "../util/records.js";

/** The fields of an {@link OAuthToken}, camelCase of Flet's. */
export interface OAuthTokenFields {
  readonly accessToken: string;
  readonly scope?: readonly string[] | undefined;
  readonly tokenType?: string | undefined;
  /** Seconds the access token was valid for when it was issued. */
  readonly expiresIn?: number | undefined;
  /** When the access token expires, in Unix epoch seconds (int or float, as Flet writes it). */
  readonly expiresAt?: number | undefined;
  readonly refreshToken?: string | undefined;
}

const REDACTED = "[redacted]";

/**
 * An OAuth 2.0 token, immutable. `toJson()` writes Flet's exact JSON and `OAuthToken.fromJson()`
 * reads any token Flet or flet-auth wrote, so saved tokens move between a Flet app and this one.
 * `JSON.stringify(token)` and `console.log(token)` show no secrets (`toJSON()` redacts them).
 *
 * @example
 * const { accessToken, expiresAt } = await req.auth!.getToken(); // refreshed first when about to expire
 * const saved = req.auth!.token.toJson();                          // Flet's JSON, for "Remember me" by hand
 * const again = OAuthToken.fromJson(saved);
 */
export class OAuthToken implements OAuthTokenFields {
  readonly accessToken: string;
  readonly scope: readonly string[] | undefined;
  readonly tokenType: string | undefined;
  readonly expiresIn: number | undefined;
  readonly expiresAt: number | undefined;
  readonly refreshToken: string | undefined;

  constructor(fields: OAuthTokenFields) {
    if (typeof fields.accessToken !== "string") throw new TypeError("OAuthToken: accessToken must be a string");
    this.accessToken = fields.accessToken;
    this.scope = fields.scope === undefined ? undefined : Object.freeze([...fields.scope]);
    this.tokenType = fields.tokenType;
    this.expiresIn = fields.expiresIn;
    this.expiresAt = fields.expiresAt;
    this.refreshToken = fields.refreshToken;
    Object.freeze(this);
  }

  /**
   * Builds a token from a token-endpoint response body (RFC 6749 §5.1) received at `nowMs`.
   * `expires_at = round(now) + expires_in`, an integer, as oauthlib ≥ 3.3 computes it; unlike
   * oauthlib, `expires_in: 0` is kept (the token is due for refresh at once), not dropped.
   */
  static fromResponse(body: Readonly<Record<string, unknown>>, nowMs: number): OAuthToken {
    const accessToken = body["access_token"];
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new FletAuthError("invalid_token_response", "The token response has no access_token.");
    }
    const expiresIn = toInteger(body["expires_in"]);
    const explicitExpiresAt = toNumber(body["expires_at"]);
    return new OAuthToken({
      accessToken,
      scope: parseScope(body["scope"]),
      tokenType: typeof body["token_type"] === "string" ? body["token_type"] : undefined,
      expiresIn,
      expiresAt: explicitExpiresAt ?? (expiresIn === undefined ? undefined : Math.round(nowMs / 1000) + expiresIn),
      refreshToken: nonEmptyString(body["refresh_token"]),
    });
  }

  /**
   * Reads a token JSON written by Flet's `OAuthToken.to_json()` or by {@link OAuthToken.toJson}.
   * Unknown keys (such as `id_token`) are ignored; `expires_at` may be an int or a float.
   * @throws FletAuthError `invalid_saved_token` when the text is not such a token.
   */
  static fromJson(json: string): OAuthToken {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (cause) {
      throw new FletAuthError("invalid_saved_token", "The saved token is not valid JSON.", { cause });
    }
    if (!isRecord(parsed) || typeof parsed["access_token"] !== "string") {
      throw new FletAuthError("invalid_saved_token", "The saved token has no access_token.");
    }
    return new OAuthToken({
      accessToken: parsed["access_token"],
      scope: Array.isArray(parsed["scope"]) ? parsed["scope"].filter(isString) : parseScope(parsed["scope"]),
      tokenType: typeof parsed["token_type"] === "string" ? parsed["token_type"] : undefined,
      expiresIn: toInteger(parsed["expires_in"]),
      expiresAt: toNumber(parsed["expires_at"]),
      refreshToken: typeof parsed["refresh_token"] === "string" ? parsed["refresh_token"] : undefined,
    });
  }

  /**
   * The token after a refresh response: every field comes from the response, except that the
   * refresh token is kept when the response carries none (RFC 6749 §6: the server "MAY issue a
   * new refresh token"; when it does not, the old one stays valid).
   */
  refreshedWith(body: Readonly<Record<string, unknown>>, nowMs: number): OAuthToken {
    const next = OAuthToken.fromResponse(body, nowMs);
    return next.refreshToken !== undefined ? next : new OAuthToken({ ...fieldsOf(next), refreshToken: this.refreshToken });
  }

  /** True when the token has an expiry and it falls within `marginMs` of `nowMs` (both milliseconds). */
  isExpiring(nowMs: number, marginMs: number): boolean {
    return this.expiresAt !== undefined && (nowMs + marginMs) / 1000 >= this.expiresAt;
  }

  /**
   * Flet's exact JSON: compact, keys in Flet's order, absent fields omitted, and every character
   * outside 0x20–0x7E written as a lowercase `\uXXXX` escape (Python's `ensure_ascii=True`).
   */
  toJson(): string {
    const ordered: Record<string, unknown> = {};
    const put = (key: string, value: unknown): void => {
      if (value !== undefined && value !== null) ordered[key] = value;
    };
    put("access_token", this.accessToken);
    put("scope", this.scope);
    put("token_type", this.tokenType);
    put("expires_in", this.expiresIn);
    put("expires_at", this.expiresAt);
    put("refresh_token", this.refreshToken);
    return asciiOnly(JSON.stringify(ordered));
  }

  /**
   * What `JSON.stringify(token)`, `res.json()` and structured loggers write: the token's shape with
   * both secrets redacted, so a logged or echoed token leaks nothing. To save a token, use
   * {@link OAuthToken.toJson} (Flet's exact format, secrets included) and encrypt it.
   */
  toJSON(): Record<string, unknown> {
    const view = JSON.parse(this.toJson()) as Record<string, unknown>;
    delete view["access_token"];
    delete view["refresh_token"];
    return { ...view, accessToken: REDACTED, ...(this.refreshToken !== undefined ? { refreshToken: REDACTED } : {}) };
  }
}

function fieldsOf(token: OAuthToken): OAuthTokenFields {
  return {
    accessToken: token.accessToken,
    scope: token.scope,
    tokenType: token.tokenType,
    expiresIn: token.expiresIn,
    expiresAt: token.expiresAt,
    refreshToken: token.refreshToken,
  };
}

/** Python's `json.dumps(ensure_ascii=True)`: escape each UTF-16 unit outside printable ASCII. */
function asciiOnly(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * RFC 6749 §3.3: scope is a space-delimited string (a JSON list is kept as is). A string with no
 * scope in it is no scope: Flet drops a form-encoded `scope=` (parse_qsl skips blank values), so
 * toJson() writes no `scope` key, rather than the `[]` nobody sent or the `[""]` oauthlib makes of
 * a JSON `""` (`"".strip().split(" ")`).
 */
function parseScope(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter(isString);
  if (typeof value !== "string") return undefined;
  const scopes = value.split(" ").filter((s) => s !== "");
  return scopes.length > 0 ? scopes : undefined;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** Form-encoded responses carry `expires_in` as text; oauthlib casts it with int(). */
function toInteger(value: unknown): number | undefined {
  const n = toNumber(value);
  return n === undefined ? undefined : Math.trunc(n);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}
