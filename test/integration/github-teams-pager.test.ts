/**
 * GitHub's teams pager (lib/providers/github.ts) follows `Link: rel="next"` only on the API's own
 * origin: every page request carries the user's Bearer token, so a next link to another origin
 * (a compromised proxy, a hostile GitHub Enterprise answer) must not be followed — no request
 * reaches that origin, and the user is signed in with the teams read so far.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS, buildApp, signIn, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { githubPreset } from "../helpers/providers-presets.js";

describe.each(EXPRESS)("GitHub teams pager ($name)", ({ create }) => {
  let github: FakeProvider;
  /** Another origin (same host, another port) that records whatever reaches it. */
  let foreign: FakeProvider;

  beforeAll(async () => {
    github = await startFakeProvider();
    foreign = await startFakeProvider();
  });
  afterAll(async () => {
    await github.close();
    await foreign.close();
  });

  /** Signs in with groups while the first teams page carries `link`; the user's group names. */
  async function groupsWithLink(link: string): Promise<string[]> {
    const { app } = buildApp(create, { providers: { github: githubPreset(github) }, fetchGroups: true });
    const agent = request.agent(app);
    github.nextResponse("/api/user/teams", { headers: { link } });
    const done = await signIn(agent, github, "/login/github");
    expect(done.status, done.text).toBe(303);
    const me = (await agent.get("/me")).body as MeBody;
    expect(me.signedIn).toBe(true);
    return (me.user?.groups ?? []).map((g) => g.name);
  }

  const FIRST_PAGE = ["acme/Developers", "globex/Developers", "acme/Admins"];

  it.each([
    ["an absolute URL on another origin", (origin: string) => `<${origin}/api/user/teams?per_page=100&page=2>; rel="next"`],
    ["a protocol-relative URL to another origin", (origin: string) => `<//${new URL(origin).host}/api/user/teams?page=2>; rel="next"`],
    ["another origin among other links", (origin: string) => `<${origin}/api/user/teams?page=2>; rel="next", <${origin}/api/user/teams?page=9>; rel="last"`],
  ])("a next link to %s is not followed: nothing reaches it, the first page's teams are kept", async (_what, link) => {
    const before = foreign.requests.length;
    const teamPages = github.count("/api/user/teams");
    expect(await groupsWithLink(link(foreign.url))).toEqual(FIRST_PAGE);
    expect(foreign.requests.slice(before)).toEqual([]);
    expect(github.count("/api/user/teams") - teamPages).toBe(1);
  });

  it("a next link on the API's origin is followed, with the token (control)", async () => {
    const teamPages = github.count("/api/user/teams");
    // The fake answers page 2 of 3 teams with no teams and no further link.
    const names = await groupsWithLink(`<${github.url}/api/user/teams?per_page=100&page=2>; rel="next"`);
    expect(names).toEqual(FIRST_PAGE);
    const pages = github.requests.filter((r) => r.path === "/api/user/teams").slice(teamPages);
    expect(pages.map((r) => r.query["page"])).toEqual([undefined, "2"]);
    expect(pages[1]?.headers["authorization"]).toMatch(/^Bearer \S+$/);
  });
});
