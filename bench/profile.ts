/**
 * The one user every benchmark signs in: OpenID Connect standard claims, a few hundred bytes of
 * JSON, as an identity provider typically returns them. The provider (bench/provider.ts) puts them
 * in the ID token and answers them at userinfo; the express-session and passport apps of
 * bench/server.ts keep the same object in their sessions, so each library holds comparable data.
 */
export const BENCH_PROFILE = Object.freeze({
  sub: "johndoe",
  name: "John Doe",
  given_name: "John",
  family_name: "Doe",
  nickname: "johnd",
  preferred_username: "john.doe",
  email: "john.doe@example.com",
  email_verified: true,
  picture: "https://images.example.com/avatars/johndoe-5f2c9a7e.png",
  locale: "en-GB",
  zoneinfo: "Europe/London",
  updated_at: 1767225600,
  groups: ["engineering", "engineering/platform", "admins"],
});

/** Bytes of the profile as JSON. */
export const BENCH_PROFILE_BYTES = Buffer.byteLength(JSON.stringify(BENCH_PROFILE));
