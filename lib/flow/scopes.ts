import type { OAuthProvider } from "../providers/provider.js";

/**
 * Flet's scope merge (behaviour §3.1) — login scopes, then the provider's, then user scopes when
 * fetching the user, then group scopes when fetching groups — without mutating the caller's
 * array and without duplicates (Flet appends provider scopes blindly).
 */
export function mergeScopes(
  loginScope: readonly string[] | undefined,
  provider: Pick<OAuthProvider, "scopes" | "userScopes" | "groupScopes">,
  fetchUser: boolean,
  fetchGroups: boolean,
): string[] {
  const merged = new Set<string>(loginScope ?? []);
  for (const s of provider.scopes) merged.add(s);
  if (fetchUser) for (const s of provider.userScopes) merged.add(s);
  if (fetchGroups) for (const s of provider.groupScopes) merged.add(s);
  return [...merged];
}
