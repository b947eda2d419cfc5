/**
 * The session's current provider (`req.auth`): the one last signed in while it still is, else
 * the last of those left — Flet's `page.auth` is the latest sign-in.
 */
export function currentProvider(named: string | undefined, signedIn: readonly string[]): string | undefined {
  if (named !== undefined && signedIn.includes(named)) return named;
  return signedIn[signedIn.length - 1];
}
