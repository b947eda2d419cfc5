/**
 * Interop with Python: data encrypted here must decrypt with Flet's algorithm on top of the real
 * `cryptography` package, and the reverse. The Python side mirrors flet.security (behaviour doc §8).
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decrypt, encrypt } from "../../lib/crypto/security.js";

const FLET_PY = String.raw`
import base64, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

def fernet(secret_key, salt):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=600000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret_key.encode("utf-8"))))

def encrypt(plain_text, secret_key):
    salt = os.urandom(16)
    token = fernet(secret_key, salt).encrypt(plain_text.encode("utf-8"))
    return base64.urlsafe_b64encode(salt + token).decode()

def decrypt(encrypted_data, secret_key):
    raw = base64.urlsafe_b64decode(encrypted_data)
    return fernet(secret_key, raw[:16]).decrypt(raw[16:]).decode("utf-8")

request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
op = encrypt if request["op"] == "encrypt" else decrypt
print(json.dumps([op(case["input"], case["secret"]) for case in request["cases"]]))
`;

function pythonCryptography(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync("python3", ["-c", "import cryptography"], { encoding: "utf8" });
  if (probe.error) return { ok: false, reason: `python3 not runnable (${probe.error.message})` };
  if (probe.status !== 0) return { ok: false, reason: `python3 cannot import cryptography: ${probe.stderr.trim()}` };
  return { ok: true };
}

function runPython(op: "encrypt" | "decrypt", cases: readonly { input: string; secret: string }[]): string[] {
  const result = spawnSync("python3", ["-c", FLET_PY], { input: JSON.stringify({ op, cases }), encoding: "utf8" });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

const ALPHABET = [..."abcXYZ019 {}\":,-_=+/", "é", "ß", "Ж", "я", "你", "好", "🌍", "🔐", "\u{1F600}", "\u00a0"];
function randomText(): string {
  return Array.from({ length: randomInt(0, 120) }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
}
function randomCases(): { input: string; secret: string }[] {
  return [
    { input: randomText(), secret: randomBytes(24).toString("base64url") },
    { input: `Привет, мир! 你好 🌍 ${randomText()}`, secret: `ключ-🔑-${randomBytes(8).toString("hex")}` },
    { input: JSON.stringify({ access_token: randomBytes(48).toString("base64url"), note: randomText() }), secret: randomText() },
  ];
}

const python = pythonCryptography();
if (!python.ok) {
  console.warn(`[interop] SKIPPED flet-python interop tests: ${python.reason}. Install python3 and 'pip install cryptography' to run them.`);
}

describe("interop with Flet's Python flet.security", () => {
  it.skipIf(!python.ok)("Node encrypt -> Python (Flet algorithm) decrypt, 3 random cases incl. unicode", async () => {
    const cases = randomCases();
    const encrypted = await Promise.all(cases.map((c) => encrypt(c.input, c.secret)));
    const decrypted = runPython("decrypt", encrypted.map((data, i) => ({ input: data, secret: (cases[i] as { secret: string }).secret })));
    expect(decrypted).toEqual(cases.map((c) => c.input));
  });

  it.skipIf(!python.ok)("Python (Flet algorithm) encrypt -> Node decrypt, 3 random cases incl. unicode", async () => {
    const cases = randomCases();
    const encrypted = runPython("encrypt", cases);
    const decrypted = await Promise.all(encrypted.map((data, i) => decrypt(data, (cases[i] as { secret: string }).secret)));
    expect(decrypted).toEqual(cases.map((c) => c.input));
  });
});
