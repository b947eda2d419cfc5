/** A group (a GitHub team, a directory group) the user belongs to: the provider's JSON plus `name`. */
export interface Group {
  readonly name: string;
  readonly [field: string]: unknown;
}

/**
 * The signed-in user: the provider's profile fields (`user.login`, `user["email"]`, …) plus
 * `id`, always a string, and `groups` (empty unless groups were fetched).
 *
 * @example
 * const user = req.auth?.user;
 * if (user?.groups.some((g) => g.name === "my-org/admins")) showAdminPanel();
 * const email = typeof user?.["email"] === "string" ? user["email"] : undefined;
 */
export interface User {
  readonly id: string;
  readonly groups: readonly Group[];
  readonly [field: string]: unknown;
}

/** Builds a {@link User}: the profile, then `id` and `groups`, which win over profile fields of the same name. */
export function makeUser(profile: Readonly<Record<string, unknown>>, id: string, groups: readonly Group[] = []): User {
  return Object.freeze({ ...profile, id, groups: Object.freeze([...groups]) });
}
