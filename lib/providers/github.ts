import { FletAuthError } from "../errors.js";
import { isRecord } from "../util/records.js";
import { makeUser, type Group, type User } from "../signin/user.js";
import { OAuthProvider, type ProviderContext, type UserProfile } from "./provider.js";

/** Options of {@link GitHubOAuthProvider}. The endpoint overrides serve GitHub Enterprise and tests. */
export interface GitHubOAuthProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUrl: string;
  /** @default "https://github.com/login/oauth/authorize" */
  readonly authorizationEndpoint?: string;
  /** @default "https://github.com/login/oauth/access_token" */
  readonly tokenEndpoint?: string;
  /** REST API base. @default "https://api.github.com" */
  readonly apiUrl?: string;
  readonly scopes?: readonly string[];
  readonly authorizationParams?: Readonly<Record<string, string | undefined>>;
}

/** At most this many pages of teams are read (100 teams a page). */
const MAX_TEAM_PAGES = 50;
const API_HEADERS = Object.freeze({ Accept: "application/vnd.github+json" });

/**
 * GitHub (OAuth App or GitHub App user tokens). The user is `GET /user` with the primary address
 * of `GET /user/emails` as `email`; `id` is the numeric id as a string. Groups are the user's
 * teams, all pages, each named `org/team` so equal team names in two orgs stay apart.
 *
 * @example
 * const github = new GitHubOAuthProvider({
 *   clientId: process.env.GITHUB_CLIENT_ID!,
 *   clientSecret: process.env.GITHUB_CLIENT_SECRET!,
 *   redirectUrl: "http://localhost:8550/oauth_callback", // registered as the app's callback URL
 * });
 */
export class GitHubOAuthProvider extends OAuthProvider {
  readonly apiUrl: string;

  constructor(options: GitHubOAuthProviderOptions) {
    const apiUrl = (options?.apiUrl ?? "https://api.github.com").replace(/\/+$/, "");
    super(
      {
        clientId: options?.clientId,
        clientSecret: options?.clientSecret,
        redirectUrl: options?.redirectUrl,
        authorizationEndpoint: options?.authorizationEndpoint ?? "https://github.com/login/oauth/authorize",
        tokenEndpoint: options?.tokenEndpoint ?? "https://github.com/login/oauth/access_token",
        userEndpoint: `${apiUrl}/user`,
        userScopes: ["read:user", "user:email"],
        groupScopes: ["read:org"],
        ...(options?.scopes ? { scopes: options.scopes } : {}),
        ...(options?.authorizationParams ? { authorizationParams: options.authorizationParams } : {}),
        userId: (u) => String(u["id"]),
      },
      "GitHubOAuthProvider options",
    );
    this.apiUrl = apiUrl;
  }

  override async fetchUser(ctx: ProviderContext): Promise<User> {
    const profile = await this.#loadUser(ctx);
    return makeUser(profile, String(profile.id));
  }

  override async fetchGroups(ctx: ProviderContext): Promise<readonly Group[]> {
    return this.#loadTeams(ctx);
  }

  async #loadUser(ctx: ProviderContext): Promise<UserProfile> {
    const { data } = await ctx.getJson(`${this.apiUrl}/user`, { headers: API_HEADERS });
    if (!isRecord(data) || (typeof data["id"] !== "number" && typeof data["id"] !== "string")) {
      throw new FletAuthError("user_fetch_failed", "GitHub's /user answer has no id.");
    }
    const profile: Record<string, unknown> = { ...data };
    try {
      const emails = await ctx.getJson(`${this.apiUrl}/user/emails`, { headers: API_HEADERS });
      const primary = Array.isArray(emails.data) ? emails.data.find((e) => isRecord(e) && e["primary"]) : undefined;
      if (isRecord(primary) && typeof primary["email"] === "string") profile["email"] = primary["email"];
    } catch (err) {
      // Without the user:email scope (or for a GitHub App lacking the permission) GitHub answers
      // 403/404: keep the public email from /user rather than failing the whole sign-in.
      if (!(err instanceof FletAuthError && (err.status === 403 || err.status === 404))) throw err;
    }
    return { ...profile, id: String(data["id"]) };
  }

  async #loadTeams(ctx: ProviderContext): Promise<Group[]> {
    const groups: Group[] = [];
    const apiOrigin = new URL(this.apiUrl).origin;
    let url: string | undefined = `${this.apiUrl}/user/teams?per_page=100`;
    for (let page = 0; url !== undefined && page < MAX_TEAM_PAGES; page += 1) {
      const res = await ctx.getJson(url, { headers: API_HEADERS });
      if (!Array.isArray(res.data)) throw new FletAuthError("user_fetch_failed", "GitHub's /user/teams answer is not a list.");
      for (const team of res.data) {
        if (!isRecord(team) || typeof team["name"] !== "string") continue;
        const org = isRecord(team["organization"]) ? team["organization"]["login"] : undefined;
        groups.push({ ...team, name: typeof org === "string" ? `${org}/${team["name"]}` : team["name"] });
      }
      url = nextPage(res.headers["link"], apiOrigin);
    }
    return groups;
  }
}

/** The `rel="next"` target of a Link header (RFC 8288), only if it stays on the API's origin. */
export function nextPage(link: string | undefined, origin: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match?.[2]?.split(/\s+/).includes("next") && match[1]) {
      try {
        const target = new URL(match[1], origin);
        return target.origin === origin ? target.toString() : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
