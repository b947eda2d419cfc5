/**
 * The one error class of flet-auth. Match on {@link FletAuthError.code}, never on the message.
 */

/**
 * Every error code flet-auth produces, with the HTTP status it maps to. Stable: codes are never
 * renamed. docs/errors.md says when each occurs.
 *
 * @example
 * ErrorCodes.invalid_state; // 400
 */
export const ErrorCodes = Object.freeze({
  /** `GET /login/:provider` or `req.login()` named a provider that is not configured. */
  unknown_provider: 404,
  /** The callback carried no state, or one this session never issued, or one already used. */
  invalid_state: 400,
  /** The callback's state was issued more than the transaction lifetime (10 min) ago. */
  state_expired: 400,
  /** The callback's `iss` is not the provider's configured issuer, or is missing when required (RFC 9207). */
  issuer_mismatch: 400,
  /** The callback carried neither `code` nor `error`. */
  missing_code: 400,
  /** The provider redirected back with `error` (RFC 6749 §4.1.2.1), e.g. `access_denied`. */
  provider_error: 403,
  /** The code exchange failed: the provider answered an error, a non-2xx status or garbage. */
  token_exchange_failed: 502,
  /** A token response lacked `access_token` or carried an unusable body. */
  invalid_token_response: 502,
  /** Fetching the user profile or groups failed. */
  user_fetch_failed: 502,
  /** A provider call exceeded its timeout. */
  provider_timeout: 504,
  /** Refreshing the access token failed; the stored authorization is unchanged (or cleared on invalid_grant). */
  refresh_failed: 401,
  /** A saved token (`savedToken`) is not a token JSON Flet or flet-auth wrote. */
  invalid_saved_token: 400,
  /** Encrypted data did not decrypt: wrong key, tampered, truncated or not Flet's format. */
  decrypt_failed: 400,
  /** The request has no session: express-session is missing or its store failed. */
  session_unavailable: 500,
  /** A sign-out request came from another site (CSRF defence, checklist 25). */
  cross_site_request: 403,
  /** `OAuthProvider.discover()` could not read or did not trust the provider's metadata. */
  discovery_failed: 502,
  /** An ID token failed verification (signature, iss, aud, azp, exp/iat/nbf, nonce or algorithm): nothing is stored. */
  id_token_invalid: 401,
} as const);

/** A stable error code; see {@link ErrorCodes}. */
export type FletAuthErrorCode = keyof typeof ErrorCodes;

/** Options of {@link FletAuthError}. */
export interface FletAuthErrorOptions {
  /** The HTTP status to answer with; defaults to the code's status in {@link ErrorCodes}. */
  readonly status?: number;
  /** The underlying error. */
  readonly cause?: unknown;
  /** The provider's OAuth `error` value, when there was one (RFC 6749 §5.2). */
  readonly oauthError?: string;
  /** The provider's `error_description`, when there was one. */
  readonly description?: string;
}

/**
 * An error raised by flet-auth, with a stable {@link FletAuthError.code} and an HTTP {@link FletAuthError.status}.
 *
 * @example
 * app.use((err, req, res, next) => {
 *   if (err instanceof FletAuthError && err.code === "invalid_state") return res.redirect("/");
 *   next(err);
 * });
 */
export class FletAuthError extends Error {
  override readonly name = "FletAuthError";
  /** Stable machine-readable code. */
  readonly code: FletAuthErrorCode;
  /** HTTP status for a response about this error. */
  readonly status: number;
  /** Express error handlers read `statusCode` too. */
  readonly statusCode: number;
  /** Errors of flet-auth carry no secrets, so their message may be shown. */
  readonly expose = true;
  /** The provider's OAuth `error` value, if any. */
  readonly oauthError: string | undefined;
  /** The provider's `error_description`, if any. */
  readonly description: string | undefined;

  constructor(code: FletAuthErrorCode, message: string, options: FletAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ErrorCodes[code];
    this.statusCode = this.status;
    this.oauthError = options.oauthError;
    this.description = options.description;
  }
}

/**
 * True when `err` is a {@link FletAuthError}, optionally with the given code.
 *
 * @example
 * app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
 *   if (isFletAuthError(err, "session_unavailable")) return res.status(503).send("Please try again in a moment.");
 *   next(err);
 * });
 */
export function isFletAuthError(err: unknown, code?: FletAuthErrorCode): err is FletAuthError {
  return err instanceof FletAuthError && (code === undefined || err.code === code);
}
