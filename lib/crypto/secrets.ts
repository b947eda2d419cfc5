import { assertUnicode } from "../util/unicode.js";

/**
 * The one rule for secret lists (the session secret, the remember-me key, a sealer's keys): a
 * string or a non-empty array of strings, newest first, each valid Unicode and at least
 * `minLength` characters long. `path` names the option in the error.
 */
export function secretList(path: string, value: unknown, minLength: number): readonly string[] {
  const list: unknown = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${path} must be a string or a non-empty array of strings (newest first)`);
  }
  list.forEach((secret: unknown, i) => {
    const name = typeof value === "string" ? path : `${path}[${i}]`;
    if (typeof secret !== "string") throw new TypeError(`${name} must be a string`);
    if (secret.length < minLength) {
      throw new TypeError(
        minLength > 1
          ? `${name} must be at least ${minLength} characters; generate one with: openssl rand -base64 32`
          : `${name} must be a non-empty string`,
      );
    }
    assertUnicode(secret, name);
  });
  return Object.freeze([...(list as string[])]);
}
