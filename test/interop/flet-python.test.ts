/**
 * Interop with Python: data encrypted here must decrypt with Flet's algorithm on top of the real
 * `cryptography` package, and the reverse. The Python side mirrors flet.security (behaviour doc §8).
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decrypt, encrypt } from "../../lib/crypto/security.js";
import { decryptAesGcm256, encryptAesGcm256 } from "../../lib/crypto/aes-gcm.js";
import { decodeBase64UrlLenient } from "../../lib/crypto/fernet.js";

const FLET_PY = String.raw`
import base64, hashlib, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

def fernet_key(secret_key, salt):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=600000)
    return base64.urlsafe_b64encode(kdf.derive(secret_key.encode("utf-8")))

def fernet(secret_key, salt):
    return Fernet(fernet_key(secret_key, salt))

def aes_gcm(secret_key, salt):
    return AESGCM(hashlib.sha256(fernet_key(secret_key, salt)).hexdigest()[:32].encode())

def encrypt_aes_gcm_256(plain_text, secret_key):
    nonce = os.urandom(32)
    salt = os.urandom(16)
    return base64.urlsafe_b64encode(salt + nonce + aes_gcm(secret_key, salt).encrypt(nonce, plain_text.encode("utf-8"), None)).decode("utf-8")

def decrypt_aes_gcm_256(encrypted_data, secret_key):
    raw = base64.urlsafe_b64decode(encrypted_data)
    return aes_gcm(secret_key, raw[:16]).decrypt(raw[16:48], raw[48:], None).decode("utf-8")

def b64decode(data, _secret):
    try:
        return base64.urlsafe_b64decode(data).hex()
    except ValueError:  # binascii.Error and non-ASCII input
        return None

def encrypt(plain_text, secret_key):
    salt = os.urandom(16)
    token = fernet(secret_key, salt).encrypt(plain_text.encode("utf-8"))
    return base64.urlsafe_b64encode(salt + token).decode()

def decrypt(encrypted_data, secret_key):
    raw = base64.urlsafe_b64decode(encrypted_data)
    return fernet(secret_key, raw[:16]).decrypt(raw[16:]).decode("utf-8")

OPS = {"encrypt": encrypt, "decrypt": decrypt, "encrypt_aes_gcm_256": encrypt_aes_gcm_256,
       "decrypt_aes_gcm_256": decrypt_aes_gcm_256, "b64decode": b64decode}
request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
op = OPS[request["op"]]
print(json.dumps([op(case["input"], case["secret"]) for case in request["cases"]]))
`;

type PythonOp = "encrypt" | "decrypt" | "encrypt_aes_gcm_256" | "decrypt_aes_gcm_256" | "b64decode";

function pythonCryptography(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync("python3", ["-c", "import cryptography"], { encoding: "utf8" });
  if (probe.error) return { ok: false, reason: `python3 not runnable (${probe.error.message})` };
  if (probe.status !== 0) return { ok: false, reason: `python3 cannot import cryptography: ${probe.stderr.trim()}` };
  return { ok: true };
}

function runPython(op: PythonOp, cases: readonly { input: string; secret: string }[]): string[] {
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

  it.skipIf(!python.ok)("Node encryptAesGcm256 -> Python decrypt_aes_gcm_256 and the reverse, 3 random cases each", async () => {
    const cases = randomCases();
    const secretOf = (i: number): string => (cases[i] as { secret: string }).secret;
    const fromNode = await Promise.all(cases.map((c) => encryptAesGcm256(c.input, c.secret)));
    expect(runPython("decrypt_aes_gcm_256", fromNode.map((data, i) => ({ input: data, secret: secretOf(i) })))).toEqual(cases.map((c) => c.input));
    const fromPython = runPython("encrypt_aes_gcm_256", cases);
    expect(await Promise.all(fromPython.map((data, i) => decryptAesGcm256(data, secretOf(i))))).toEqual(cases.map((c) => c.input));
  });

  it.skipIf(!python.ok)("the lenient base64 decoding matches Python's urlsafe_b64decode on 2 000 mangled strings", () => {
    const noise = ["=", "==", "\n", "\r\n", " ", "\t", "%", ".", "+", "/", "-", "_", "é"];
    const inputs = Array.from({ length: 2000 }, () => {
      const chars = [...randomBytes(randomInt(0, 24)).toString("base64url")];
      for (let k = randomInt(0, 6); k > 0; k--) chars.splice(randomInt(chars.length + 1), 0, noise[randomInt(noise.length)] as string);
      return chars.join("");
    });
    const python = runPython("b64decode", inputs.map((input) => ({ input, secret: "" })));
    const node = inputs.map((input) => decodeBase64UrlLenient(input, { strictPadding: true })?.toString("hex") ?? null);
    expect(node).toEqual(python);
  });
});
