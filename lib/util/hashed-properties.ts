/**
 * Why request and response objects should keep their properties in a hash table, and how they
 * get there.
 *
 * Express points every request and response at its app's prototype with
 * `Object.setPrototypeOf`. In V8 (Node 20) that leaves the object on a "detached" hidden class:
 * from then on every property added to it (`req.session`, `req.sessionID`, `req.auth`,
 * express-session's `res.writeHead`, …) makes a brand-new hidden class that no other request
 * shares (measured here: 2.0–2.5 µs per added property, against 20 ns for the same properties
 * added before the prototype changes), and every later read of the object misses the engine's
 * shared lookup caches, because no two requests have the same class. An object whose properties
 * live in a hash table ("dictionary mode") shares one class with every other such object: an
 * added property is a hash insert, and reads hit the caches again.
 *
 * Adding a property and deleting it again moves a detached object there (V8 cannot undo the
 * addition by going back to a parent class, as it does for an object on a shared one), and
 * leaves no trace: same keys, same values, same order. On an object that is not detached, or
 * already in a hash table, the pair costs a few tens of nanoseconds and changes nothing.
 * Properties added before the step (by an express-session the app mounted ahead of flet-auth,
 * say) have paid already; the step still helps those added after it, and every read.
 * Nothing depends on the effect for correctness; bench/README.md has the measurements.
 */
const PROBE = Symbol("flet-auth.hashedProperties");

/**
 * Moves `target`'s properties into a hash table (above). A frozen, sealed or non-extensible
 * object, or a proxy whose trap answers false, only declines: `Reflect` answers false where an
 * assignment would throw. (A proxy's trap sees both operations, and may throw on its own.)
 */
export function useHashedProperties(target: object): void {
  if (Reflect.defineProperty(target, PROBE, { configurable: true })) Reflect.deleteProperty(target, PROBE);
}
