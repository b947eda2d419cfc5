const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws a TypeError naming `name` unless `value` is a string that UTF-8 can encode faithfully. */
export function assertUnicode(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string`);
  // Python's str.encode("utf-8") raises here; Buffer.from would silently write U+FFFD instead.
  if (LONE_SURROGATE.test(value)) throw new TypeError(`${name} must be valid Unicode (it has a lone surrogate)`);
}
