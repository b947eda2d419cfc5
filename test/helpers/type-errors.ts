import { expect } from "vitest";

/** The message of the TypeError `fn` throws (fails the test when it throws nothing or something else). */
export function typeErrorMessage(fn: () => unknown): string {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a TypeError").toBeInstanceOf(TypeError);
  return (thrown as TypeError).message;
}
