// node --test web/src/sha256.test.mjs — the pure-JS SHA-256 against Node's crypto.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { sha256HexSync, sha256Hex } from "./sha256.js";

test("known vectors", () => {
  assert.equal(sha256HexSync(new Uint8Array(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(sha256HexSync(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("matches node:crypto at every padding boundary and for a segment-sized buffer", () => {
  for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 1000, 188 * 1000 + 7]) {
    const b = randomBytes(n);
    assert.equal(sha256HexSync(b), createHash("sha256").update(b).digest("hex"), `length ${n}`);
  }
});

test("async form agrees", async () => {
  const b = randomBytes(4096);
  assert.equal(await sha256Hex(b), createHash("sha256").update(b).digest("hex"));
});
