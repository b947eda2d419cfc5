/**
 * URL helpers with Python's `urllib.parse` semantics, so authorize URLs match the ones Flet
 * (oauthlib) builds byte for byte (shared/vectors/oauth-requests.json).
 */

/** Python's `quote_plus`: space → `+`; only `A-Za-z0-9_.-~` stay unescaped; UTF-8, uppercase hex. */
export function quotePlus(value: string): string {
  return encodeURIComponent(value)
    .replace(/%20/g, "+")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Python's `urlencode` over ordered pairs. */
export function formEncode(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join("&");
}

/** Python's `parse_qsl(keep_blank_values=True)`: `+` is a space, `%XX` decoded. */
export function parseQuery(query: string): Array<[string, string]> {
  // An empty query splits into [""], which the filter empties: no special case needed.
  return query
    .split(/[&;]/)
    .filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      const [k, v] = eq === -1 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
      return [decodeComponent(k), decodeComponent(v)];
    });
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text.replace(/\+/g, " ");
  }
}

/** Appends `pairs` to `url`'s query, re-encoding any query it already has (oauthlib's `add_params_to_uri`). */
export function addQueryParams(url: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  const hashAt = url.indexOf("#");
  const withoutHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const hash = hashAt === -1 ? "" : url.slice(hashAt);
  const qAt = withoutHash.indexOf("?");
  const base = qAt === -1 ? withoutHash : withoutHash.slice(0, qAt);
  const existing = qAt === -1 ? [] : parseQuery(withoutHash.slice(qAt + 1));
  return `${base}?${formEncode([...existing, ...pairs])}${hash}`;
}
