// Browser-side checks of the web app's sharing modules (src/PeerNet.Hub/wwwroot/js/sharing/),
// run by SharingModuleTests.cs in a page of the test hub: each export returns a summary object
// {checks, failures: [...]} (or throws), so a failure names what broke.

const M = '/js/sharing/';
const link = await import(`${M}link.js`);
const keys = await import(`${M}keys.js`);
const manifest = await import(`${M}manifest.js`);
const layout = await import(`${M}layout.js`);
const merkle = await import(`${M}merkle.js`);
const info = await import(`${M}info.js`);
const wire = await import(`${M}wire.js`);
const errors = await import(`${M}errors.js`);
const bytes = await import(`${M}bytes.js`);
const sealer = await import(`${M}sealer.js`);
const item = await import(`${M}item.js`);
const swarmMod = await import(`${M}swarm.js`);
const sessionMod = await import(`${M}session.js`);
const store = await import(`${M}store.js`);
const streamMod = await import(`${M}stream.js`);
const peerMod = await import(`${M}../peer.js`);

const { toHex, fromHex, b64uEncode, b64uDecode, utf8 } = bytes;

class Checker {
  constructor() {
    this.checks = 0;
    this.failures = [];
  }

  ok(cond, what) {
    this.checks++;
    if (!cond && this.failures.length < 50) this.failures.push(what);
  }

  eq(actual, expected, what) {
    this.ok(actual === expected, `${what}: got ${actual}, expected ${expected}`);
  }

  async throwsCode(fn, code, what, type) {
    try {
      await fn();
      this.ok(false, `${what}: did not throw (expected ${code})`);
    } catch (e) {
      this.ok(e?.code === code && (!type || e instanceof type), `${what}: threw ${e?.name} ${e?.code} ${e?.message} (expected ${code})`);
    }
  }

  result() {
    return { checks: this.checks, failures: this.failures };
  }
}

/** A seeded PRNG (mulberry32), so failures reproduce. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function patternBytes(n, seed = 0) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3 + seed) & 255;
  return out;
}

async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

// --- known answers from an independent reference (Python `cryptography`, docs/sharing.md) -----

const KNOWN = {
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  manifestKey: '061dda394c6e937836145409a607aff77749fa34ed53ed75f0dce0c98a4929fc',
  pieceKey: 'dcddc25937a8704f77b4585a74a3ba72df422876ad31033d3929730502fc8e49',
  json: '{"v":1,"name":"holiday","files":[{"path":"holiday/a.bin","size":40000},{"path":"holiday/b.txt","size":87,"type":"text/plain","mtime":1763950000000}]}',
  sealedManifest: '7b5910961b735fc2a2f1100687254ec1d653cc3c2b7106ae3a97790a881db268e7a0e550fbac5713833f8aaed5f18f766db9f0fa6926ec786362f6900ebced63f77e0be7c9e12ff38aba755db7a65ced1ef1b3a9b8f5b784df2087fc20e16e9370ad26f5d373bcd923499560767d81d07caa5c5c9673d16531fc2b672bed94ed000607784a3555b1bd3a7e4e440b7f09d15400ce89fff42328f01a8beaddbb06b692d769de',
  leaves: ['7b7b5eba9392d6e2f9958d4288d4236f4d39d68382c4cedc2b6810f7d2f083db', '427bd6d84b5b5b1412e284d292c03756aaf5fd0701d0ef463c16bb547f962d00', 'ed69da431aafb37a701f1418b462a2ff4cd940b4496da2aa0224c032c1c5ec89'],
  root: 'ad0ec2863c144c441d9932026d38acd48e89d3da1e459ac923596e5e82084369',
  cid: '570fa701d4217aa8b3a9b22fdd68e9486510ba75ef253a0305f12f461a9a12f9',
  link: 'https://hub.example/#/get/Vw-nAdQheqizqbIv3WjpSGUQunXvJToDBfEvRhqaEvk#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  proof2: ['7e4a963233af9e80129fb6c3a4ae654016175604a381fdf7cb28b14be78c5ef8'],
};

/** Seals the KNOWN item (payload byte i = 7i + 3, 2^14-byte pieces) and compares every value. */
export async function knownAnswers() {
  const c = new Checker();
  const K = fromHex(KNOWN.key);
  const raw = await keys.deriveKeyBytes(K);
  c.eq(toHex(raw.manifestKey), KNOWN.manifestKey, 'manifestKey');
  c.eq(toHex(raw.pieceKey), KNOWN.pieceKey, 'pieceKey');
  const k = await keys.deriveKeys(K);
  const { json } = manifest.buildManifest({ name: 'holiday', files: [{ path: 'holiday/a.bin', size: 40000 }, { path: 'holiday/b.txt', size: 87, type: 'text/plain', mtime: 1763950000000 }] });
  c.eq(new TextDecoder().decode(json), KNOWN.json, 'manifest json');
  const sm = await keys.sealManifest(k, json);
  c.eq(toHex(sm), KNOWN.sealedManifest, 'sealed manifest');
  const L = new layout.Layout([40000, 87], 14);
  const payload = patternBytes(L.payloadLength);
  const leaves = [];
  for (let i = 0; i < L.pieceCount; i++) {
    const r = L.pieceRange(i);
    leaves.push(await merkle.leafHash(await keys.sealPiece(k, i, payload.subarray(r.start, r.end))));
  }
  c.eq(JSON.stringify(leaves.map(toHex)), JSON.stringify(KNOWN.leaves), 'leaves');
  const tree = new merkle.MerkleTree(leaves);
  c.eq(toHex(tree.root), KNOWN.root, 'piecesRoot');
  c.eq(JSON.stringify(tree.proof(2).map(toHex)), JSON.stringify(KNOWN.proof2), 'proof of piece 2');
  const ib = info.encodeInfo({ pieceSizeLog2: 14, payloadLength: L.payloadLength, piecesRoot: tree.root, sealedManifest: sm });
  const cid = await info.contentId(ib);
  c.eq(toHex(cid), KNOWN.cid, 'CID');
  c.eq(link.formatLink('https://hub.example', cid, K), KNOWN.link, 'link');
  // The same through the sealer, reading File objects.
  const files = [new File([payload.subarray(0, 40000)], 'a.bin', { lastModified: 0 }), new File([payload.subarray(40000)], 'b.txt', { type: 'text/plain', lastModified: 1763950000000 })];
  const sealed = await sealer.sealFiles(files.map((f) => ({ file: f, path: `holiday/${f.name}` })), { key: K, pieceSizeLog2: 14, name: 'holiday' });
  c.eq(toHex(sealed.cid), KNOWN.cid, 'sealer CID');
  c.eq(sealed.link('https://hub.example'), KNOWN.link, 'sealer link');
  return c.result();
}

// --- C# test vectors (tests/PeerNet.Tests/Sharing/vectors.json), when present -----------------

/** payload[n] = (n * 7 + 3) mod 251, as the C# vectors define it. */
function vectorPayload(length) {
  const out = new Uint8Array(length);
  for (let n = 0; n < length; n++) out[n] = (n * 7 + 3) % 251;
  return out;
}

/**
 * Recomputes every value of every item of the C# implementation's vectors and compares it,
 * and checks every manifest case is accepted or refused as the file says. `unchecked` lists
 * the fields nothing compared (a new field must be taught here, not skipped).
 */
export async function csharpVectors(vectors) {
  const c = new Checker();
  const unchecked = new Set();
  const seenTop = new Set(['description', 'payloadByte', 'hub', 'items', 'manifestCases']);
  for (const k of Object.keys(vectors)) if (!seenTop.has(k)) unchecked.add(k);
  c.eq(vectors.payloadByte, 'payload[n] = (n * 7 + 3) mod 251', 'payload rule');
  const hub = `https://${vectors.hub}`;
  for (const v of vectors.items) {
    const what = (f) => `item ${v.name}: ${f}`;
    const used = new Set(['name', 'description']);
    const get = (name) => {
      used.add(name);
      return v[name];
    };
    const K = fromHex(get('key'));
    c.eq(b64uEncode(K), get('keyB64u'), what('keyB64u'));
    const raw = await keys.deriveKeyBytes(K);
    c.eq(toHex(raw.manifestKey), get('manifestKey'), what('manifestKey'));
    c.eq(toHex(raw.pieceKey), get('pieceKey'), what('pieceKey'));
    const k = await keys.deriveKeys(K);
    const json = fromHex(get('manifestJson'));
    c.eq(new TextDecoder().decode(json), get('manifestJsonText'), what('manifestJsonText'));
    const m = manifest.parseManifest(json);
    c.eq(toHex(manifest.buildManifest(m).json), toHex(json), what('manifest rebuilt to the same bytes'));
    c.eq(toHex(keys.MANIFEST_NONCE), get('manifestNonce'), what('manifestNonce'));
    const sm = await keys.sealManifest(k, json);
    c.eq(toHex(sm), get('sealedManifest'), what('sealedManifest'));
    const L = new layout.Layout(m.files.map((f) => f.size), get('pieceSizeLog2'));
    c.eq(L.pieceSize, get('pieceSize'), what('pieceSize'));
    c.eq(L.payloadLength, get('payloadLength'), what('payloadLength'));
    c.eq(L.pieceCount, get('pieceCount'), what('pieceCount'));
    const payload = vectorPayload(L.payloadLength);
    c.eq(toHex(await sha256(payload)), get('payloadSha256'), what('payloadSha256'));
    const leaves = [];
    const pieces = get('pieces');
    c.eq(pieces.length, L.pieceCount, what('pieces listed'));
    for (const p of pieces) {
      const i = p.index;
      const pw = (f) => what(`piece ${i} ${f}`);
      const r = L.pieceRange(i);
      c.eq(r.start, p.offset, pw('offset'));
      c.eq(r.end - r.start, p.length, pw('length'));
      c.eq(toHex(keys.pieceNonce(i)), p.nonce, pw('nonce'));
      const sealed = await keys.sealPiece(k, i, payload.subarray(r.start, r.end));
      c.eq(sealed.length, p.sealedLength, pw('sealedLength'));
      c.eq(toHex(await sha256(sealed)), p.sealedPieceSha256, pw('sealedPieceSha256'));
      c.eq(toHex(sealed.subarray(0, Math.min(32, sealed.length - 16))), p.sealedHead, pw('sealedHead'));
      c.eq(toHex(sealed.subarray(sealed.length - 16)), p.tag, pw('tag'));
      const leaf = await merkle.leafHash(sealed);
      c.eq(toHex(leaf), p.leafHash, pw('leafHash'));
      leaves[i] = leaf;
      c.eq(toHex(await keys.openPiece(k, i, sealed)), toHex(payload.subarray(r.start, r.end)), pw('opens'));
      for (const f of Object.keys(p)) if (!['index', 'offset', 'length', 'nonce', 'sealedLength', 'sealedPieceSha256', 'sealedHead', 'tag', 'leafHash', 'proof'].includes(f)) unchecked.add(`pieces.${f}`);
    }
    const tree = new merkle.MerkleTree(leaves);
    c.eq(toHex(tree.root), get('piecesRoot'), what('piecesRoot'));
    for (const p of pieces) {
      c.eq(JSON.stringify(tree.proof(p.index).map(toHex)), JSON.stringify(p.proof), what(`proof of piece ${p.index}`));
      c.ok(merkle.verifyProof(leaves[p.index], p.index, L.pieceCount, p.proof.map(fromHex), fromHex(v.piecesRoot)), what(`their proof of piece ${p.index} verifies`));
    }
    const ib = info.encodeInfo({ pieceSizeLog2: L.pieceSizeLog2, payloadLength: L.payloadLength, piecesRoot: tree.root, sealedManifest: sm });
    c.eq(toHex(ib), get('info'), what('info'));
    const manifestLeaf = await sha256(new Uint8Array([0, ...ib.subarray(0, 20), ...sm]));
    c.eq(toHex(manifestLeaf), get('manifestLeaf'), what('manifestLeaf'));
    const cid = await info.contentId(ib);
    c.eq(toHex(cid), get('cid'), what('cid'));
    c.eq(b64uEncode(cid), get('cidB64u'), what('cidB64u'));
    c.eq(link.formatLink(hub, cid, K), get('link'), what('link'));
    c.eq(link.formatLink(hub, cid), get('pinLink'), what('pinLink'));
    const parsed = link.parseLink(v.link, { requireKey: true });
    c.ok(toHex(parsed.cid) === v.cid && toHex(parsed.key) === v.key, what('link parses back'));
    const verified = await info.verifyInfo(fromHex(v.info), cid);
    const opened = await item.openItem(verified, K);
    c.eq(opened.manifest.payloadLength, v.payloadLength, what('their info opens with the key'));
    for (const f of Object.keys(v)) if (!used.has(f)) unchecked.add(f);
  }
  for (const mc of vectors.manifestCases ?? []) {
    let accepted;
    let reason = '';
    try {
      manifest.parseManifest(fromHex(mc.json));
      accepted = true;
    } catch (e) {
      accepted = false;
      reason = `${e.code}/${e.reason}`;
      c.ok(e.code === 'bad-manifest', `manifest case “${mc.why}”: untyped ${e.name}`);
    }
    c.eq(accepted, mc.valid, `manifest case “${mc.why}” ${reason}`);
  }
  return { ...c.result(), vectors: vectors.items.length, manifestCases: (vectors.manifestCases ?? []).length, unchecked: [...unchecked] };
}

/** The same, from the file's text (what the C# test passes). */
export function csharpVectorsText(text) {
  return csharpVectors(JSON.parse(text));
}

// --- Merkle ----------------------------------------------------------------------------------

/** RFC 6962's recursive Merkle tree hash (split at the largest power of two below n). */
function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return merkle.nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** For 1..70 pieces: root (against RFC 6962's recursion), every proof verifies, every tampering fails. */
export async function merkleProofs() {
  const c = new Checker();
  let proofs = 0;
  for (let n = 1; n <= 70; n++) {
    const leaves = [];
    for (let i = 0; i < n; i++) leaves.push(await sha256(new Uint8Array([n, i])));
    const tree = new merkle.MerkleTree(leaves);
    c.eq(toHex(tree.root), toHex(mth(leaves)), `root of ${n}`);
    if (n === 1) c.eq(toHex(tree.root), toHex(leaves[0]), 'one piece: root is its leaf');
    for (let i = 0; i < n; i++) {
      const p = tree.proof(i);
      proofs++;
      c.eq(p.length, merkle.proofLength(i, n), `proof length ${n}/${i}`);
      c.ok(p.length <= 18, 'at most 18 hashes');
      c.ok(merkle.verifyProof(leaves[i], i, n, p, tree.root), `proof ${n}/${i} verifies`);
      // Tampered: each hash flipped, the leaf flipped, another index, one hash more or fewer.
      for (let h = 0; h < p.length; h++) {
        const bad = p.map((x) => x.slice());
        bad[h][h % 32] ^= 1;
        c.ok(!merkle.verifyProof(leaves[i], i, n, bad, tree.root), `tampered hash ${h} of ${n}/${i} rejected`);
      }
      const badLeaf = leaves[i].slice();
      badLeaf[0] ^= 0x80;
      c.ok(!merkle.verifyProof(badLeaf, i, n, p, tree.root), `tampered leaf ${n}/${i} rejected`);
      if (n > 1) c.ok(!merkle.verifyProof(leaves[i], (i + 1) % n, n, p, tree.root), `proof ${n}/${i} at another index rejected`);
      c.ok(!merkle.verifyProof(leaves[i], i, n, [...p, leaves[0]], tree.root), `proof ${n}/${i} with an extra hash rejected`);
      if (p.length > 0) c.ok(!merkle.verifyProof(leaves[i], i, n, p.slice(1), tree.root), `proof ${n}/${i} short a hash rejected`);
      c.ok(!merkle.verifyProof(leaves[i], i, n + 1, p, tree.root) || merkle.proofLength(i, n + 1) === p.length, `count ${n + 1} changes ${n}/${i}`);
    }
  }
  c.eq(toHex(merkle.merkleRoot([])), '00'.repeat(32), 'no pieces: zero root');
  return { ...c.result(), proofs };
}

// --- sealing, tampering, keys ----------------------------------------------------------------

async function smallItem(sizes = [50000, 20000], log2 = 14, key) {
  const files = sizes.map((s, f) => ({ file: new File([patternBytes(s, f)], `f${f}.bin`, { lastModified: 1700000000000 }), path: `item/f${f}.bin` }));
  return sealer.sealFiles(files, { pieceSizeLog2: log2, key });
}

/** Tampered proofs, leaves, ciphertexts, manifests and info blocks are all rejected. */
export async function tampering() {
  const c = new Checker();
  const s = await smallItem();
  const n = s.layout.pieceCount;
  for (let i = 0; i < n; i++) {
    const sealed = await s.readSealedPiece(i);
    c.eq(sealed.length, s.layout.pieceLength(i) + 16, `sealed length ${i}`);
    const leaf = await merkle.leafHash(sealed);
    c.ok(merkle.verifyProof(leaf, i, n, s.proof(i), s.info.piecesRoot), `piece ${i} verifies`);
    const flipped = sealed.slice();
    flipped[(i * 977) % flipped.length] ^= 4;
    c.ok(!merkle.verifyProof(await merkle.leafHash(flipped), i, n, s.proof(i), s.info.piecesRoot), `tampered ciphertext ${i} fails its proof`);
    await c.throwsCode(() => keys.openPiece(s.keys, i, flipped), 'wrong-key', `tampered ciphertext ${i} does not open`, errors.KeyError);
    const other = (i + 1) % n;
    c.ok(!merkle.verifyProof(leaf, other, n, s.proof(other), s.info.piecesRoot), `piece ${i} served as ${other} fails its proof`);
    await c.throwsCode(() => keys.openPiece(s.keys, other, sealed), 'wrong-key', `piece ${i} opened at index ${other}`);
    const opened = await keys.openPiece(s.keys, i, sealed);
    c.eq(toHex(opened), toHex(await s.readPiece(i)), `piece ${i} opens to its plaintext`);
  }
  // Info and manifest: any flipped byte changes the CID (or breaks a range check).
  for (let pos = 0; pos < s.infoBytes.length; pos += 7) {
    const bad = s.infoBytes.slice();
    bad[pos] ^= 0x10;
    try {
      await info.verifyInfo(bad, s.cid);
      c.ok(false, `info with byte ${pos} flipped was accepted`);
    } catch (e) {
      c.ok(e instanceof errors.InfoError && (e.code === 'wrong-content' || e.code === 'bad-info'), `info byte ${pos}: ${e.code}`);
    }
  }
  const good = await info.verifyInfo(s.infoBytes, s.cid);
  c.eq(good.pieceCount, n, 'info verifies');
  // The sealed manifest, tampered but with a recomputed CID (a hostile sharer's own item),
  // does not open.
  const badSm = s.info.sealedManifest.slice();
  badSm[3] ^= 1;
  const forged = info.encodeInfo({ pieceSizeLog2: 14, payloadLength: s.info.payloadLength, piecesRoot: s.info.piecesRoot, sealedManifest: badSm });
  await c.throwsCode(() => item.openItem(info.parseInfo(forged), s.key), 'wrong-key', 'tampered sealed manifest');
  return c.result();
}

/** A wrong key, a damaged link or a pin link give clear, typed errors. */
export async function keysAndLinks() {
  const c = new Checker();
  const s = await smallItem([1000]);
  const wrong = s.key.slice();
  wrong[31] ^= 1;
  try {
    await item.openItem(s.info, wrong);
    c.ok(false, 'wrong key opened the manifest');
  } catch (e) {
    c.ok(e instanceof errors.KeyError && e.code === 'wrong-key', `wrong key: ${e.code}`);
    c.ok(/key/.test(e.message), `wrong key message: ${e.message}`);
  }
  const opened = await item.openItem(s.info, s.key);
  c.eq(opened.manifest.files[0].path, 'item/f0.bin', 'single file path');
  c.eq(opened.manifest.name, 'f0.bin', 'item name');
  const wrongKeys = await keys.deriveKeys(wrong);
  const sealed0 = await s.readSealedPiece(0);
  await c.throwsCode(() => keys.openPiece(wrongKeys, 0, sealed0), 'wrong-key', 'a piece under the wrong key', errors.KeyError);
  // Links.
  const url = s.link('https://hub.example:8443');
  const parsed = link.parseLink(url, { requireKey: true });
  c.eq(toHex(parsed.cid), toHex(s.cid), 'link cid');
  c.eq(toHex(parsed.key), toHex(s.key), 'link key');
  c.eq(parsed.hub, 'https://hub.example:8443', 'link hub');
  const route = link.parseRoute(link.formatRoute(s.cid, s.key), { requireKey: true });
  c.eq(route.cidText, s.cidText, 'route');
  const pin = link.formatLink('https://hub.example', s.cid);
  c.eq(link.parseLink(pin).key, null, 'pin link has no key');
  await c.throwsCode(() => link.parseLink(pin, { requireKey: true }), 'missing-key', 'pin link when reading', errors.LinkError);
  const cid = s.cidText;
  const key = b64uEncode(s.key);
  const bad = [
    '', 'not a url', 'ftp://hub/#/get/' + cid, 'https://hub/#/get/', 'https://hub/#/get/' + cid.slice(1),
    'https://hub/#/get/' + cid + 'A', 'https://hub/#/get/' + cid.replace(/.$/, '+'), 'https://hub/#/get/' + cid.slice(0, 42) + '=',
    'https://hub/#/get/' + cid + '#k=' + key.slice(2), 'https://hub/#/get/' + cid + '#k=' + key + 'x', 'https://hub/#/get/' + cid + '#key=' + key,
    'https://hub/#/get/' + cid + '/x#k=' + key, 'https://hub/#/send/' + cid, 'https://hub/path/#/get/' + cid + '#k=' + key,
    'https://hub/#/get/' + cid.slice(0, 42) + 'B', // non-zero spare bits: not canonical base64url
    'https://hub/#/get/' + cid + '#k=' + key.slice(0, 42) + '/',
  ];
  for (const b of bad) await c.throwsCode(() => link.parseLink(b, { requireKey: true }), 'bad-link', `bad link ${JSON.stringify(b)}`, errors.LinkError);
  c.eq(b64uDecode('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8').length, 32, 'b64u decode');
  c.eq(b64uDecode('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9'), null, 'b64u rejects spare bits');
  return c.result();
}

// --- manifest rules --------------------------------------------------------------------------

/** Every §2 rule: hostile paths and values are 'bad-manifest'; valid edge cases pass. */
export async function manifestRules() {
  const c = new Checker();
  const json = (m) => utf8.encode(typeof m === 'string' ? m : JSON.stringify(m));
  const one = (path, extra = {}) => ({ v: 1, name: 'x', files: [{ path, size: 1, ...extra }] });
  const reject = async (m, what) => {
    await c.throwsCode(() => manifest.parseManifest(m instanceof Uint8Array ? m : json(m)), 'bad-manifest', what, errors.ManifestError);
  };
  const accept = (m, what) => {
    try {
      manifest.parseManifest(json(m));
      c.ok(true, what);
    } catch (e) {
      c.ok(false, `${what}: ${e.message}`);
    }
  };
  const badPaths = [
    '', '/etc/passwd', '/a', '../a', 'a/..', 'a/../../b', '..', '.', './a', 'a/.', 'a/./b', 'a//b', 'a/', '//a',
    'a\\b', '..\\..\\windows', 'C:\\x', 'a\u0000b', 'a\u0001', '\u001f', 'a\u007f', 'a\u0085b', 'a\u009f', 'line\nbreak', 'tab\t',
    'x'.repeat(256), `a/${'é'.repeat(128)}`, `${'a/'.repeat(512)}b`, 'x'.repeat(1025),
  ];
  for (const p of badPaths) await reject(one(p), `path ${JSON.stringify(p).slice(0, 40)}`);
  await reject('{"v":1,"name":"x","files":[{"path":"a\\ud800b","size":1}]}', 'lone high surrogate');
  await reject('{"v":1,"name":"x","files":[{"path":"\\udc00","size":1}]}', 'lone low surrogate');
  await reject(new Uint8Array([...utf8.encode('{"v":1,"name":"x","files":[{"path":"a'), 0xff, ...utf8.encode('","size":1}]}')]), 'invalid UTF-8');
  await reject(new Uint8Array([...utf8.encode('{"v":1,"name":"x","files":[{"path":"a'), 0xc0, 0xaf, ...utf8.encode('","size":1}]}')]), 'overlong UTF-8 slash');
  await reject({ v: 1, name: 'x', files: [{ path: 'A.txt', size: 1 }, { path: 'a.TXT', size: 1 }] }, 'case-insensitive duplicate');
  await reject({ v: 1, name: 'x', files: [{ path: 'd/Ä', size: 1 }, { path: 'D/ä', size: 1 }] }, 'non-ASCII case-insensitive duplicate');
  await reject({ v: 1, name: 'x', files: [{ path: 'a', size: 1 }, { path: 'a', size: 1 }] }, 'exact duplicate');
  await reject({ v: 1, name: 'x', files: [{ path: 'a', size: 1 }, { path: 'a/b', size: 1 }] }, 'file and folder of the same name');
  for (const size of [-1, 1.5, 2 ** 53, '1', null, true, 1e300]) await reject({ v: 1, name: 'x', files: [{ path: 'a', size }] }, `size ${size}`);
  await reject({ v: 1, name: 'x', files: [{ path: 'a', size: 2 ** 53 - 1 }, { path: 'b', size: 1 }] }, 'sizes overflow 2^53-1');
  await reject({ v: 1, name: 'x', files: [{ path: 'a' }] }, 'no size');
  await reject({ v: 1, name: 'x', files: [{ size: 1 }] }, 'no path');
  await reject({ v: 1, name: 'x', files: [{ path: 7, size: 1 }] }, 'path not text');
  await reject(one('a', { type: 't'.repeat(256) }), 'type too long');
  await reject(one('a', { type: 5 }), 'type not text');
  await reject(one('a', { mtime: 'yesterday' }), 'mtime not a number');
  await reject(one('a', { mtime: 1.5 }), 'mtime not an integer');
  for (const v of [0, 2, '1', null, undefined]) await reject({ v, name: 'x', files: [{ path: 'a', size: 1 }] }, `version ${v}`);
  await reject({ v: 1, files: [{ path: 'a', size: 1 }] }, 'no name');
  await reject({ v: 1, name: 5, files: [{ path: 'a', size: 1 }] }, 'name not text');
  await reject({ v: 1, name: 'x', files: [] }, 'no files');
  await reject({ v: 1, name: 'x', files: {} }, 'files not a list');
  await reject({ v: 1, name: 'x', files: [null] }, 'file entry null');
  await reject({ v: 1, name: 'x', files: ['a'] }, 'file entry text');
  await reject([], 'array');
  await reject('null', 'null');
  await reject('{"v":1,', 'truncated JSON');
  await reject('', 'empty');
  const many = { v: 1, name: 'x', files: Array.from({ length: 100001 }, (_, i) => ({ path: `f${i}`, size: 0 })) };
  await reject(many, '100,001 files');
  const big = new Uint8Array(manifest.MAX_MANIFEST_BYTES + 1).fill(0x20);
  await reject(big, 'over 4 MiB');

  accept(one('a'), 'simple');
  accept(one('x'.repeat(255)), '255-byte segment');
  accept(one(`${'é'.repeat(127)}a`), '255-byte UTF-8 segment');
  accept(one(`${'a/'.repeat(511)}bb`), '1,024-byte path');
  accept(one('holiday/日本語/😀.jpg', { type: 'image/jpeg', mtime: 1763950000000 }), 'Unicode path with hints');
  accept(one('..a/b..'), 'dots inside names');
  accept(one('a', { extra: { any: 1 } }), 'unknown fields ignored');
  await reject(one('a', { type: null }), 'type null');
  await reject(one('a', { mtime: null }), 'mtime null');
  await reject({ v: 1, name: 'a\u001bb', files: [{ path: 'a', size: 1 }] }, 'control character in the name');
  accept(one('a', { mtime: -86400000 }), 'mtime before 1970');
  accept('{"v":1,"name":"x","files":[{"path":"/a","size":1,"path":"a"}]}', 'a field twice: the last counts');
  await reject('{"v":1,"name":"x","files":[{"path":"a","size":1,"path":"/a"}]}', 'a field twice: the last counts (absolute)');
  accept({ v: 1, name: 'x', files: [{ path: 'a', size: 0 }, { path: 'ab', size: 2 ** 53 - 1 }], future: true }, 'max size');
  accept({ v: 1, name: 'x', files: Array.from({ length: 100000 }, (_, i) => ({ path: `f${i}`, size: 0 })) }, '100,000 files');
  // buildManifest refuses what parseManifest would.
  await c.throwsCode(() => manifest.buildManifest({ name: 'x', files: [{ path: '../x', size: 1 }] }), 'bad-manifest', 'build with ../');
  // A manifest whose sizes disagree with the info block's payload length is refused on opening.
  const K = keys.generateContentKey();
  const kk = await keys.deriveKeys(K);
  const sm = await keys.sealManifest(kk, json(one('a')));
  const ib = info.encodeInfo({ pieceSizeLog2: 14, payloadLength: 2, piecesRoot: merkle.merkleRoot([new Uint8Array(32)]), sealedManifest: sm });
  await c.throwsCode(() => item.openItem(info.parseInfo(ib), K), 'bad-manifest', 'sizes differ from the payload length');
  return c.result();
}

// --- layout and info ranges --------------------------------------------------------------------

export async function layoutAndInfo() {
  const c = new Checker();
  const GiB = 2 ** 30;
  const cases = [[0, 18], [1, 18], [4 * GiB, 18], [4 * GiB + 1, 19], [8 * GiB, 19], [8 * GiB + 1, 20], [64 * GiB, 22], [64 * GiB + 1, 22], [1024 * GiB, 22]];
  for (const [len, log2] of cases) c.eq(layout.choosePieceSizeLog2(len), log2, `piece size for ${len}`);
  await c.throwsCode(() => layout.choosePieceSizeLog2(1024 * GiB + 1), 'too-large', 'over 1 TiB');
  c.eq(new layout.Layout([1024 * GiB], 22).pieceCount, 262144, '1 TiB = 262,144 pieces');
  await c.throwsCode(() => new layout.Layout([1024 * GiB + 1], 22), 'too-large', '262,145 pieces');
  const L = new layout.Layout([10, 0, 16384 * 2 + 5, 0, 7], 14);
  c.eq(L.pieceCount, 3, 'spanning piece count');
  c.eq(JSON.stringify(L.fileRanges(0)), JSON.stringify([{ file: 0, fileOffset: 0, pieceOffset: 0, length: 10 }, { file: 2, fileOffset: 0, pieceOffset: 10, length: 16374 }]), 'piece 0 spans files 0 and 2');
  c.eq(JSON.stringify(L.fileRanges(2)), JSON.stringify([{ file: 2, fileOffset: 32758, pieceOffset: 0, length: 15 }, { file: 4, fileOffset: 0, pieceOffset: 15, length: 7 }]), 'last piece');
  c.eq(L.pieceLength(2), 22, 'last piece length');
  c.eq(L.piecesOfFile(1), null, 'empty file has no pieces');
  c.eq(JSON.stringify(L.piecesOfFile(2)), JSON.stringify({ first: 0, last: 2 }), 'file 2 pieces');
  c.eq(new layout.Layout([0], 14).pieceCount, 0, 'empty payload, no pieces');

  // Info block: each field out of range is refused.
  const sm = new Uint8Array(17);
  const goodInfo = info.encodeInfo({ pieceSizeLog2: 14, payloadLength: 100, piecesRoot: new Uint8Array(32).fill(1), sealedManifest: sm });
  c.eq(info.parseInfo(goodInfo).pieceCount, 1, 'parse info');
  const mutate = (fn) => {
    const b = goodInfo.slice();
    fn(b, new DataView(b.buffer));
    return b;
  };
  const bad = {
    magic: mutate((b) => { b[0] = 0x51; }),
    version: mutate((b) => { b[4] = 2; }),
    'log2 13': mutate((b) => { b[5] = 13; }),
    'log2 23': mutate((b) => { b[5] = 23; }),
    reserved: mutate((_, v) => v.setUint16(6, 1)),
    'payload > 2^18 pieces': mutate((_, v) => { v.setUint32(8, 1); v.setUint32(12, 1); }),
    'payload 2^64-1': mutate((_, v) => { v.setUint32(8, 0xffffffff); v.setUint32(12, 0xffffffff); }),
    'sealed manifest 16': mutate((_, v) => v.setUint32(16, 16)),
    'sealed manifest length lies': mutate((_, v) => v.setUint32(16, 18)),
    'sealed manifest over 4 MiB': mutate((_, v) => v.setUint32(16, 4 * 1024 * 1024 + 17)),
    truncated: goodInfo.slice(0, 60),
    'empty payload, non-zero root': mutate((_, v) => v.setUint32(12, 0)),
  };
  for (const [what, b] of Object.entries(bad)) await c.throwsCode(() => info.parseInfo(b), 'bad-info', `info ${what}`, errors.InfoError);
  // 2^18 pieces of 2^14 bytes = 2^32 bytes: uint64 0x00000001_00000000.
  const max = mutate((_, v) => { v.setUint32(8, 1); v.setUint32(12, 0); });
  c.eq(info.parseInfo(max).pieceCount, 262144, 'payload exactly 2^18 pieces accepted');
  return c.result();
}

// --- wire: hostile bytes ---------------------------------------------------------------------

function sampleMessages() {
  const cid = new Uint8Array(32).fill(9);
  return [
    { type: 'hello', flags: 3, cid, pieceCount: 70, maxRequests: 64 },
    { type: 'hello', flags: 0, cid, pieceCount: wire.NO_PIECE_COUNT, maxRequests: 1 },
    { type: 'bitfield', bits: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc]) },
    { type: 'have', piece: 5 },
    { type: 'info-request' },
    { type: 'info', totalLength: 100, offset: 0, bytes: new Uint8Array(60) },
    { type: 'request', piece: 69 },
    { type: 'proof', piece: 3, hashes: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)] },
    { type: 'piece', piece: 3, offset: 32768, bytes: new Uint8Array(1000).fill(7) },
    { type: 'cancel', piece: 1 },
    { type: 'reject', piece: 2 },
    { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' }, { type: 'not-interested' },
    { type: 'error', code: 3, text: 'piece 4 does not match' },
  ];
}

/** Round trips, truncations, lying counts, unknown types, oversize, and a seeded mutation loop. */
export async function hostileWire(iterations = 5000, seed = 1234) {
  const c = new Checker();
  const typed = (fn, what) => {
    try {
      fn();
      return 'ok';
    } catch (e) {
      c.ok(e instanceof errors.WireError && e.code === 'protocol' && typeof e.reason === 'string' && Number.isInteger(e.wireCode), `${what}: untyped ${e?.name}: ${e?.message}`);
      return e.reason;
    }
  };
  const samples = sampleMessages().map((m) => ({ m, b: wire.encodeMessage(m) }));
  for (const { m, b } of samples) {
    const d = wire.decodeMessage(b);
    c.eq(toHex(wire.encodeMessage(d)), toHex(b), `round trip ${m.type}`);
    // Variable-length messages stay valid while their fixed part is whole.
    const whole = { bitfield: 1, info: 10, piece: 10, error: 3 }[m.type] ?? b.length;
    for (let len = 0; len < b.length; len++) {
      const r = typed(() => wire.decodeMessage(b.subarray(0, len)), `${m.type} truncated to ${len}`);
      c.ok((r === 'ok') === (len >= whole), `${m.type} truncated to ${len}: ${r}`);
    }
    if (!['bitfield', 'info', 'piece', 'error'].includes(m.type)) {
      const longer = new Uint8Array(b.length + 1);
      longer.set(b);
      c.ok(typed(() => wire.decodeMessage(longer), `${m.type} + 1 byte`) !== 'ok', `${m.type} one byte too long accepted`);
    }
  }
  for (let t = 0; t < 256; t++) {
    if (t >= 1 && t <= 15) continue;
    c.eq(typed(() => wire.decodeMessage(new Uint8Array([t, 0, 0, 0, 0])), `type ${t}`), 'unknown-type', `type 0x${t.toString(16)}`);
  }
  // Lying counts and out-of-range fields.
  const lies = [
    [[7, 0, 0, 0, 1, 3, ...new Uint8Array(64)], 'proof says 3 hashes, has 2'],
    [[7, 0, 0, 0, 1, 19, ...new Uint8Array(19 * 32)], 'proof of 19 hashes'],
    [[7, 0, 0, 0, 1, 255], 'proof says 255 hashes, has none'],
    [[5, 0, 0, 0, 100, 0, 0, 0, 90, ...new Uint8Array(20)], 'info chunk beyond its total'],
    [[5, 0, 0, 0, 100, 0, 0, 0, 100, 1], 'info offset at the end'],
    [[5, 0, 0x40, 0, 0x60, 0, 0, 0, 0, 1], 'info total over 4 MiB + 68'],
    [[5, 0, 0, 0, 10, 0, 0, 0, 0, 1], 'info total below the minimum'],
    [[1, 0x50, 0x4e, 0x53, 0x57, 1, 0, ...new Uint8Array(32), 0, 4, 0, 1, 0, 0], 'hello maxRequests 0'],
    [[1, 0x50, 0x4e, 0x53, 0x57, 1, 0, ...new Uint8Array(32), 0, 4, 0, 1, 4, 1], 'hello maxRequests 1025'],
    [[1, 0x50, 0x4e, 0x53, 0x57, 1, 0, ...new Uint8Array(32), 0, 4, 0, 1, 0, 1], 'hello 262,145 pieces'],
    [[1, 0x50, 0x4e, 0x53, 0x58, 1, 0, ...new Uint8Array(32), 0, 0, 0, 1, 0, 1], 'hello other magic'],
    [[1, 0x50, 0x4e, 0x53, 0x57, 2, 0, ...new Uint8Array(32), 0, 0, 0, 1, 0, 1], 'hello version 2'],
    [[15, 0, 1, 0xff, 0xfe], 'error text not UTF-8'],
    [[15, 0, 1, ...new Uint8Array(1025).fill(0x41)], 'error text over 1,024 bytes'],
    [[8, 0, 0, 0, 1, 0, 0, 0, 0, ...new Uint8Array(65001)], 'block over 65,000 bytes'],
    [[2, ...new Uint8Array(32769)], 'bitfield over 2^18 bits'],
    [[...new Uint8Array(65537)].map((_, i) => (i === 0 ? 8 : 0)), 'message over 65,536 bytes'],
  ];
  for (const [b, what] of lies) c.ok(typed(() => wire.decodeMessage(new Uint8Array(b)), what) !== 'ok', `${what} accepted`);
  try {
    wire.decodeMessage(new Uint8Array([1, 0x50, 0x4e, 0x53, 0x58, 1, 0, ...new Uint8Array(32), 0, 0, 0, 1, 0, 1]));
  } catch (e) {
    c.eq(e.wireCode, 2, 'another magic answers wrong-content');
  }
  c.ok(typed(() => wire.decodeMessage('text'), 'text message') !== 'ok', 'a text message accepted');
  c.ok(typed(() => wire.checkBitfield(new Uint8Array([0xff, 0x81]), 9), 'spare bits') === 'bitfield-spare-bits', 'spare bits');
  c.ok(typed(() => wire.checkBitfield(new Uint8Array([0xff]), 9), 'short bitfield') === 'bitfield-length', 'short bitfield');

  // Mutations: decode never fails untyped; a session fed the same bytes never throws and
  // answers a bad message with `error` and a close.
  const rnd = prng(seed);
  const int = (n) => Math.floor(rnd() * n);
  let decoded = 0;
  let refused = 0;
  let sessionsClosed = 0;
  const s = await smallItem([70000], 14);
  for (let it = 0; it < iterations; it++) {
    const base = samples[int(samples.length)].b;
    let b = base.slice();
    const ops = 1 + int(4);
    for (let k = 0; k < ops; k++) {
      switch (int(6)) {
        case 0: if (b.length) b[int(b.length)] ^= 1 << int(8); break;
        case 1: if (b.length) b[int(b.length)] = int(256); break;
        case 2: b = b.subarray(0, int(b.length + 1)); break;
        case 3: { const extra = new Uint8Array(int(40)).map(() => int(256)); const n = new Uint8Array(b.length + extra.length); n.set(b); n.set(extra, b.length); b = n; break; }
        case 4: if (b.length) b[0] = int(20); break;
        default: if (b.length > 5) { const v = new DataView(b.buffer, b.byteOffset, b.byteLength); v.setUint32(1, [0, 1, 69, 70, 0xffffffff, int(2 ** 32)][int(6)]); } break;
      }
    }
    const r = typed(() => wire.decodeMessage(b), `mutation ${it}`);
    if (r === 'ok') decoded++;
    else refused++;
    // Every 5th: through a live session (after a valid hello) too.
    if (it % 5 === 0) {
      const sent = [];
      let closed = false;
      let byRemote = false;
      const session = new sessionMod.ShareSession({
        item: swarmItemOf(s),
        transport: { send: (x) => sent.push(x), close: () => { closed = true; }, waitForDrain: async () => {} },
        onEvent: (type, d) => { if (type === 'closed' && d.remoteError) byRemote = true; },
      });
      session.start();
      try {
        session.handleMessage(wire.encodeMessage({ type: 'hello', flags: 0, cid: s.cid, pieceCount: s.layout.pieceCount, maxRequests: 4 }));
        session.handleMessage(b);
        session.handleMessage(b);
        c.ok(true, '');
      } catch (e) {
        c.ok(false, `session threw on mutation ${it}: ${e?.message}`);
      }
      if (closed && !byRemote) {
        sessionsClosed++;
        c.eq(sent[sent.length - 1][0], 0x0f, `mutation ${it}: closing session sent error last`);
      }
    }
  }
  return { ...c.result(), decoded, refused, sessionsClosed };
}

/** The swarm item shape a ShareSession expects, for a fully sealed item. */
function swarmItemOf(s) {
  return {
    cid: s.cid,
    info: s.info,
    haveCount: s.layout.pieceCount,
    complete: true,
    has: () => true,
    bits: () => s.have.slice(),
    readSealedPiece: (i) => s.readSealedPiece(i),
    proof: (i) => s.proof(i),
  };
}

/** Session protocol order: messages before hello, wrong CID, unrequested data, too many requests. */
export async function sessionRules() {
  const c = new Checker();
  const s = await smallItem([70000], 14);
  const make = (itemOverride = {}) => {
    const out = { sent: [], closed: false, events: [] };
    out.session = new sessionMod.ShareSession({
      item: { ...swarmItemOf(s), ...itemOverride },
      transport: { send: (x) => out.sent.push(wire.decodeMessage(x)), close: () => { out.closed = true; }, waitForDrain: async () => {} },
      maxRequests: 2,
      onEvent: (type, d) => out.events.push({ type, d }),
    });
    out.session.start();
    return out;
  };
  const hello = (o = {}) => wire.encodeMessage({ type: 'hello', flags: 0, cid: s.cid, pieceCount: s.layout.pieceCount, maxRequests: 4, ...o });
  const expectError = (o, code, what) => {
    c.ok(o.closed, `${what}: closed`);
    const last = o.sent[o.sent.length - 1];
    c.ok(last?.type === 'error' && last.code === code, `${what}: sent ${JSON.stringify(last?.type)} ${last?.code}, expected error ${code}`);
  };
  let o = make();
  c.eq(o.sent[0].type, 'hello', 'hello first');
  c.eq(o.sent[0].flags, 3, 'complete seeder flags');
  o.session.handleMessage(wire.encodeMessage({ type: 'request', piece: 0 }));
  expectError(o, 1, 'request before hello');
  o = make();
  const other = s.cid.slice();
  other[0] ^= 1;
  o.session.handleMessage(hello({ cid: other }));
  expectError(o, 2, 'hello for another CID');
  o = make();
  o.session.handleMessage(hello({ pieceCount: 3 }));
  expectError(o, 2, 'hello with another piece count');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(hello());
  expectError(o, 1, 'second hello');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'have', piece: 5 }));
  expectError(o, 1, 'have beyond the piece count');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'bitfield', bits: new Uint8Array([0xff]) }));
  expectError(o, 1, 'bitfield of the wrong length');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'proof', piece: 0, hashes: [] }));
  expectError(o, 1, 'unrequested proof');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'piece', piece: 0, offset: 0, bytes: new Uint8Array(10) }));
  expectError(o, 1, 'unrequested piece');
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'info', totalLength: 100, offset: 0, bytes: new Uint8Array(10) }));
  expectError(o, 1, 'unrequested info');
  // A choked peer's requests are rejected; beyond maxRequests (2) is a protocol error.
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'request', piece: 0 }));
  c.eq(o.sent[o.sent.length - 1].type, 'reject', 'request while choked is rejected');
  o.session.setChoking(false);
  c.eq(o.sent[o.sent.length - 1].type, 'unchoke', 'unchoke sent');
  o.session._drain = () => new Promise(() => {}); // hold the uploads so requests stay outstanding
  for (let i = 0; i < 3; i++) o.session.handleMessage(wire.encodeMessage({ type: 'request', piece: i }));
  expectError(o, 1, 'three requests with maxRequests 2');
  // A peer lacking the info block that is asked for it.
  o = make({ info: null, complete: false, haveCount: 0 });
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'info-request' }));
  expectError(o, 1, 'info-request to a peer without info');
  // An error from the peer closes without answering.
  o = make();
  o.session.handleMessage(hello());
  o.session.handleMessage(wire.encodeMessage({ type: 'error', code: 5, text: 'bye' }));
  c.ok(o.closed && o.sent[o.sent.length - 1].type !== 'error', 'remote error closes quietly');
  return c.result();
}

/**
 * A cancelled piece may be asked of the same peer again. The old answer's stray blocks and the
 * new answer can interleave (the same bytes at the same offsets), so the re-requested piece takes
 * any proof and any block that continues it and ignores the rest; a first request stays strict.
 */
export async function sessionReRequest() {
  const c = new Checker();
  const s = await smallItem([70000], 14); // 5 pieces
  const out = { sent: [], closed: false, events: [] };
  const session = new sessionMod.ShareSession({
    item: { ...swarmItemOf(s), haveCount: 0, complete: false, has: () => false, bits: () => new Uint8Array(1) },
    transport: { send: (x) => out.sent.push(wire.decodeMessage(x)), close: () => { out.closed = true; }, waitForDrain: async () => {} },
    maxRequests: 8,
    onEvent: (type, d) => out.events.push({ type, d }),
  });
  session.start();
  const feed = (m) => session.handleMessage(wire.encodeMessage(m));
  feed({ type: 'hello', flags: 3, cid: s.cid, pieceCount: s.layout.pieceCount, maxRequests: 8 });
  feed({ type: 'bitfield', bits: new Uint8Array([0xf8]) });
  feed({ type: 'unchoke' });
  const blocks = async (i) => {
    const sealed = await s.readSealedPiece(i);
    const list = [];
    for (let o = 0; o < sealed.length; o += 6000) list.push({ type: 'piece', piece: i, offset: o, bytes: sealed.slice(o, Math.min(sealed.length, o + 6000)) });
    return list;
  };
  const verified = () => out.events.filter((e) => e.type === 'piece').map((e) => e.d.piece);
  const settle = () => new Promise((r) => setTimeout(r, 50));

  // Piece 0: half of the first answer, cancel, ask again; the rest of the old answer is ignored,
  // the new one completes it.
  const b0 = await blocks(0);
  c.ok(session.request(0), 'requested');
  feed({ type: 'proof', piece: 0, hashes: s.proof(0) });
  feed(b0[0]);
  session.cancel(0);
  c.ok(session.mayRequest(0), 'a cancelled piece may be asked again');
  c.ok(session.request(0), 'requested again');
  for (const b of b0.slice(1)) feed(b); // the old answer goes on: none of it continues offset 0
  feed({ type: 'proof', piece: 0, hashes: s.proof(0) });
  for (const b of b0) feed(b);
  await settle();
  c.eq(JSON.stringify(verified()), '[0]', 'piece 0 verified from the new answer');

  // Piece 1: cancelled before anything came, asked again; the old answer's blocks arrive first
  // and its proof last (lax: blocks before the proof are kept), then the new proof is a stray.
  const b1 = await blocks(1);
  c.ok(session.request(1), 'piece 1 requested');
  session.cancel(1);
  c.ok(session.request(1), 'piece 1 requested again');
  for (const b of b1) feed(b);
  c.eq(JSON.stringify(verified()), '[0]', 'not verified before its proof');
  feed({ type: 'proof', piece: 1, hashes: s.proof(1) });
  feed({ type: 'proof', piece: 1, hashes: s.proof(1) });
  await settle();
  c.eq(JSON.stringify(verified()), '[0,1]', 'piece 1 verified once its proof came; the second proof ignored');
  c.ok(!out.closed, 'no protocol error for any of it');

  // A first request is strict: a block that does not continue it is a protocol error.
  c.ok(session.request(2), 'piece 2 requested');
  feed({ type: 'proof', piece: 2, hashes: s.proof(2) });
  feed((await blocks(2))[1]);
  c.ok(out.closed && out.sent[out.sent.length - 1].type === 'error', 'a block out of order on a first request is an error');
  return c.result();
}

// --- swarm behaviour in one page (in-memory connections) --------------------------------------

function connect(a, b, opts = {}) {
  let sa;
  let sb;
  const link1 = { aToB: opts.aToB ?? ((x) => x), bToA: opts.bToA ?? ((x) => x) };
  // rate (bytes per ms, optional): one direction's link, sending one message after another.
  const make = (deliver, filter, rate) => {
    let busyUntil = 0;
    return {
      send: (bytes) => {
        const copy = filter(bytes.slice());
        if (!copy) return;
        let delay = opts.delayMs ?? 0;
        if (rate) {
          const now = performance.now();
          busyUntil = Math.max(busyUntil, now) + copy.length / rate;
          delay = busyUntil - now;
        }
        setTimeout(() => deliver(copy), delay);
      },
      close: () => setTimeout(() => deliver(null), 0),
      // A rate-limited link buffers little, as a data channel's bufferedAmount does: the sender
      // waits until at most 50 ms of data is still queued.
      waitForDrain: () => new Promise((r) => setTimeout(r, rate ? Math.max(0, busyUntil - performance.now() - 50) : 0)),
    };
  };
  sa = a.addConnection(make((x) => (x ? sb.handleMessage(x) : sb.close('remote closed')), link1.aToB, opts.aToBRate), opts.idB ?? 'B');
  sb = b.addConnection(make((x) => (x ? sa.handleMessage(x) : sa.close('remote closed')), link1.bToA), opts.idA ?? 'A');
  return [sa, sb];
}

function downloader(s, extra = {}) {
  const stores = [];
  const swarm = new swarmMod.Swarm({
    cid: s.cid,
    prepare: async (inf) => {
      const o = await item.openItem(inf, extra.key ?? s.key);
      const st = new item.MemoryStore(o.layout);
      stores.push(st);
      return new item.KeyedStorage(o, st);
    },
    ...extra,
  });
  swarm.stores = stores;
  swarm.dropped = [];
  swarm.addEventListener('peer-dropped', (e) => swarm.dropped.push(e.detail));
  return swarm;
}

function whenComplete(swarm, ms = 20000) {
  return new Promise((resolve, reject) => {
    if (swarm.complete) return resolve();
    const t = setTimeout(() => reject(new Error(`not complete after ${ms} ms: ${swarm.item.haveCount}/${swarm.pieceCount}`)), ms);
    swarm.addEventListener('complete', () => { clearTimeout(t); resolve(); });
    swarm.addEventListener('error', (e) => { clearTimeout(t); reject(e.detail.error); });
    return undefined;
  });
}

async function sameFiles(c, s, swarm, what) {
  const st = swarm.stores[0];
  for (let f = 0; f < s.files.length; f++) {
    const want = new Uint8Array(await s.files[f].arrayBuffer());
    c.eq(toHex(await sha256(st.fileBytes(f))), toHex(await sha256(want)), `${what}: file ${f}`);
  }
}

/** Corrupt peers dropped and reported, stalls re-requested, endgame cancels, upload slots, wrong key. */
export async function swarmBehaviour() {
  const c = new Checker();
  const s = await smallItem([600000, 1, 0, 123457], 14);
  const seeder = () => new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });

  // 1. A corrupting peer: its piece fails the proof; it is dropped and reported; the download
  //    completes from the honest seeder.
  {
    const good = seeder();
    const evil = seeder();
    const d = downloader(s);
    let n = 0;
    connect(evil, d, { idA: 'evil', aToB: (b) => { if (b[0] === 8 && ++n === 3) b[b.length - 1] ^= 1; return b; } });
    connect(good, d, { idA: 'good' });
    await whenComplete(d);
    await sameFiles(c, s, d, 'with a corrupt peer');
    c.ok(d.dropped.some((x) => x.corrupt && x.id === 'evil') && !d.dropped.some((x) => x.id === 'good'), `corrupt peer dropped and reported: ${JSON.stringify(d.dropped)}`);
    for (const x of [good, evil, d]) x.stop();
  }
  // 2. A stalling peer (never answers requests): requests are cancelled and asked of another
  //    peer; after three stalls it is dropped.
  {
    const slow = seeder();
    const good = seeder();
    const d = downloader(s, { stallMs: 300, minStallMs: 300 });
    connect(slow, d, { aToB: (b) => (b[0] === 7 || b[0] === 8 ? null : b) });
    const t0 = performance.now();
    while (d.dropped.length === 0 && performance.now() - t0 < 10000) {
      d.tick();
      await new Promise((r) => setTimeout(r, 100));
    }
    c.eq(d.item.haveCount, 0, 'nothing from the staller');
    connect(good, d); // the stalled pieces are asked of this one
    await whenComplete(d);
    await sameFiles(c, s, d, 'with a stalling peer');
    c.ok(d.dropped.some((x) => x.reason === 'stalled'), `staller dropped: ${JSON.stringify(d.dropped)}`);
    for (const x of [slow, good, d]) x.stop();
  }
  // 3. Endgame: two seeders, the last pieces asked of both; the duplicates are cancelled.
  {
    const a = seeder();
    const b = seeder();
    const d = downloader(s);
    let cancels = 0;
    connect(a, d, { delayMs: 1, bToA: (x) => { if (x[0] === 9) cancels++; return x; } });
    connect(b, d, { delayMs: 1, bToA: (x) => { if (x[0] === 9) cancels++; return x; } });
    await whenComplete(d);
    await sameFiles(c, s, d, 'endgame');
    c.ok(cancels > 0, `endgame sent cancels (${cancels})`);
    for (const x of [a, b, d]) x.stop();
  }
  // 4. A downloader serves another: the second gets everything from the first alone.
  {
    const a = seeder();
    const d1 = downloader(s);
    connect(a, d1);
    await whenComplete(d1);
    a.stop();
    const d2 = downloader(s);
    connect(d1, d2);
    await whenComplete(d2);
    await sameFiles(c, s, d2, 'from a downloader');
    c.ok(d1.totals.bytesUp >= s.layout.payloadLength, `first downloader uploaded ${d1.totals.bytesUp}`);
    for (const x of [d1, d2]) x.stop();
  }
  // 4b. Two downloaders that both start without the info block still trade pieces once each has
  //     it from the seeder (which has one upload slot, so one of them must serve the other).
  {
    const a = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s, uploadSlots: 1 });
    const d1 = downloader(s);
    const d2 = downloader(s);
    connect(d1, d2, { delayMs: 1 });
    connect(a, d1, { delayMs: 1 });
    connect(a, d2, { delayMs: 1 });
    await Promise.all([whenComplete(d1), whenComplete(d2)]);
    await sameFiles(c, s, d1, 'trading 1');
    await sameFiles(c, s, d2, 'trading 2');
    c.ok(d1.totals.bytesUp + d2.totals.bytesUp > 0, `the downloaders traded: ${d1.totals.bytesUp} + ${d2.totals.bytesUp}`);
    for (const x of [a, d1, d2]) x.stop();
  }
  // 5. Upload slots: 10 interested peers, 8 unchoked.
  {
    const a = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s, uploadSlots: 8 });
    const ds = [];
    for (let i = 0; i < 10; i++) {
      const d = downloader(s);
      connect(a, d, { idB: `D${i}`, delayMs: 30 });
      ds.push(d);
    }
    const t0 = performance.now();
    while (a.peers().filter((p) => p.interested).length < 10 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
    c.eq(a.peers().filter((p) => p.interested).length, 10, 'ten interested');
    const unchoked = a.peers().filter((p) => !p.choked).length;
    c.eq(unchoked, 8, 'eight upload slots');
    a._rechoke(performance.now() + 60000); // a rechoke round with an optimistic unchoke
    c.eq(a.peers().filter((p) => !p.choked).length, 8, 'still eight after a rechoke');
    await Promise.all(ds.map((d) => whenComplete(d, 30000).catch(() => {})));
    a.stop();
    for (const d of ds) d.stop();
  }
  // 6. Sequential priority: the window's pieces are requested first.
  {
    const a = seeder();
    const d = downloader(s);
    const order = [];
    d.setPriority(30, 4);
    connect(a, d, { bToA: (x) => { if (x[0] === 6) order.push(new DataView(x.buffer).getUint32(1)); return x; } });
    await whenComplete(d);
    c.eq(JSON.stringify(order.slice(0, 4).sort((x, y) => x - y)), JSON.stringify([30, 31, 32, 33]), `priority window first: ${order.slice(0, 6)}`);
    for (const x of [a, d]) x.stop();
  }
  // 7. The wrong key: the manifest does not open; the swarm stops with 'wrong-key' and stores nothing.
  {
    const a = seeder();
    const wrong = s.key.slice();
    wrong[0] ^= 1;
    const d = downloader(s, { key: wrong });
    connect(a, d);
    try {
      await whenComplete(d, 5000);
      c.ok(false, 'wrong key completed');
    } catch (e) {
      c.eq(e.code, 'wrong-key', 'wrong key stops the swarm');
    }
    c.eq(d.stores.length, 0, 'nothing stored with the wrong key');
    a.stop();
  }
  return c.result();
}

// --- streaming ---------------------------------------------------------------------------------

/**
 * MediaStreamer as the service worker sees it: byte ranges of files answered piece by piece as
 * the pieces arrive, the swarm steered to the reading position, 404/416 for what is not there,
 * and a cancelled stream releasing the priority.
 */
export async function streaming() {
  const c = new Checker();
  const s = await smallItem([600000, 1, 0, 123457], 14);
  const plain = (f) => patternBytes(s.layout.fileSizes[f], f);
  const container = new EventTarget();
  let streamer = null;
  let ready;
  const prepared = new Promise((r) => { ready = r; });
  const d = downloader(s, {
    prepare: async (inf) => {
      const o = await item.openItem(inf, s.key);
      const st = new item.MemoryStore(o.layout);
      d.stores.push(st);
      streamer = new streamMod.MediaStreamer({ container, layout: o.layout, store: st, files: o.manifest.files });
      streamer.attach(d);
      ready();
      return new item.KeyedStorage(o, st);
    },
  });
  // The service worker's side of one request: a head, then pulls until done.
  const open = (file, start, end = null, token = streamer.token) => {
    const ch = new MessageChannel();
    const queue = [];
    let wake = null;
    ch.port1.onmessage = (ev) => { queue.push(ev.data); wake?.(); };
    const next = async () => {
      const t0 = performance.now();
      while (queue.length === 0) {
        if (performance.now() - t0 > 15000) throw new Error('no answer from the streamer');
        await new Promise((r) => { wake = r; setTimeout(r, 50); });
      }
      return queue.shift();
    };
    container.dispatchEvent(new MessageEvent('message', { data: { type: 'peernet-stream', token, file, start, end }, ports: [ch.port2] }));
    return {
      port: ch.port1,
      next,
      async readAll() {
        const parts = [];
        for (;;) {
          ch.port1.postMessage({ op: 'pull' });
          const r = await next();
          if (r.error) throw new Error(r.error);
          if (r.chunk) parts.push(new Uint8Array(r.chunk));
          if (r.done) break;
        }
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) { out.set(p, o); o += p.length; }
        return { bytes: out, chunks: parts.length };
      },
    };
  };

  const seederSwarm = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });
  connect(seederSwarm, d, { delayMs: 20 });
  await prepared;

  // A range in the middle of the first file, read while the pieces are still arriving: the swarm
  // is steered to the reading position at once.
  {
    const r = open(0, 300000, 450000);
    const head = await r.next();
    c.ok(head.ok && head.size === 600000 && head.start === 300000 && head.end === 450000, `head ${JSON.stringify(head)}`);
    r.port.postMessage({ op: 'pull' });
    const at = s.layout.pieceAt(300000);
    for (let i = 0; i < 100 && d.priority?.from !== at; i++) await new Promise((res) => setTimeout(res, 5));
    c.eq(d.priority?.from, at, 'the priority window starts at the reading position');
    c.ok(!d.complete, 'the stream started before the download finished');
    const first = await r.next();
    const rest = await r.readAll();
    const got = new Uint8Array(first.chunk.byteLength + rest.bytes.length);
    got.set(new Uint8Array(first.chunk), 0);
    got.set(rest.bytes, first.chunk.byteLength);
    c.eq(toHex(await sha256(got)), toHex(await sha256(plain(0).subarray(300000, 450001))), 'bytes 300000-450000 of file 0');
    c.ok(rest.chunks >= 8, `read piece by piece (${rest.chunks + 1} chunks)`);
  }
  // The last file from an offset to its end (open-ended range, crossing into the last piece).
  {
    const r = open(3, 1000);
    const head = await r.next();
    c.ok(head.ok && head.end === 123456, `open-ended head ${JSON.stringify(head)}`);
    const { bytes } = await r.readAll();
    c.eq(toHex(await sha256(bytes)), toHex(await sha256(plain(3).subarray(1000))), 'file 3 from byte 1000');
  }
  // The one-byte file and the empty one.
  {
    const r = open(1, 0);
    c.eq((await r.next()).end, 0, 'one-byte file head');
    c.eq(toHex((await r.readAll()).bytes), toHex(plain(1)), 'one-byte file');
    const e = await open(2, 0).next();
    c.ok(e.ok && e.size === 0 && e.end === -1, `empty file head ${JSON.stringify(e)}`);
  }
  // What is not there: past the end, no such file; another page's token is not answered.
  {
    const past = await open(0, 600000).next();
    c.ok(!past.ok && past.status === 416 && past.size === 600000, `past the end ${JSON.stringify(past)}`);
    const none = await open(9, 0).next();
    c.ok(!none.ok && none.status === 404, `no such file ${JSON.stringify(none)}`);
    let answered = false;
    const foreign = open(0, 0, null, 'not-this-page');
    foreign.next().then(() => { answered = true; }, () => {});
    await new Promise((res) => setTimeout(res, 200));
    c.ok(!answered, 'a foreign token is not answered');
  }
  // A cancelled stream (the player seeks or closes) releases the priority.
  {
    const r = open(0, 0);
    await r.next();
    r.port.postMessage({ op: 'pull' });
    await r.next();
    c.ok(d.priority !== null, 'a reading stream holds the priority');
    r.port.postMessage({ op: 'cancel' });
    await new Promise((res) => setTimeout(res, 50));
    c.eq(d.priority, null, 'cancelled: back to rarest first');
  }
  await whenComplete(d);
  await sameFiles(c, s, d, 'after streaming');
  // While the window misses pieces, each peer keeps at most two other requests in flight, so a
  // piece the player waits for never queues behind a deep pipeline.
  {
    const a = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });
    const d2 = downloader(s);
    d2.setPriority(30, 4);
    let most = 0;
    let sampled = 0;
    const sample = () => {
      if (!d2.item.info || !d2._priorityPending()) return;
      sampled++;
      for (const sess of d2.sessions) most = Math.max(most, d2._othersInFlight(sess));
    };
    d2.addEventListener('have', sample);
    connect(a, d2, { delayMs: 5, bToA: (x) => { setTimeout(sample, 0); return x; } });
    await whenComplete(d2);
    c.ok(sampled > 0, 'sampled while the window was pending');
    c.ok(most <= swarmMod.STREAMING_OTHER_REQUESTS, `other requests in flight while streaming: at most ${most}`);
    a.stop();
    d2.stop();
  }
  streamer.close();
  seederSwarm.stop();
  d.stop();
  return c.result();
}

// --- a store slower than the network ------------------------------------------------------------

/** Pieces waiting for a slow store stay few (the cap plus what is in flight); the download is intact. */
export async function slowStore() {
  const c = new Checker();
  const s = await smallItem([1500000, 7, 300000], 14); // 111 pieces of 16 KiB
  const seederSwarm = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });
  let most = 0;
  const d = downloader(s, {
    prepare: async (inf) => {
      const o = await item.openItem(inf, s.key);
      const st = new item.MemoryStore(o.layout);
      d.stores.push(st);
      const keyed = new item.KeyedStorage(o, st);
      const write = keyed.writePiece.bind(keyed);
      keyed.writePiece = async (i, sealed, proof) => {
        most = Math.max(most, d.storing.size);
        await new Promise((r) => setTimeout(r, 15)); // a disk slower than this link
        await write(i, sealed, proof);
      };
      return keyed;
    },
  });
  connect(seederSwarm, d);
  await whenComplete(d, 30000);
  await sameFiles(c, s, d, 'through a slow store');
  c.ok(most > 1, `pieces did wait for the store (${most})`);
  // The cap stops new requests; those already in flight (one peer: at most MAX_PIPELINE) still land.
  const bound = swarmMod.MAX_PIECES_AWAITING_STORE + swarmMod.MAX_PIPELINE;
  c.ok(most <= bound && most < s.layout.pieceCount / 2, `at most ${bound} of ${s.layout.pieceCount} waiting: ${most}`);
  c.eq(d.dropped.length, 0, 'no peer dropped as stalled meanwhile');
  seederSwarm.stop();
  d.stop();
  return c.result();
}

// --- room: reconnecting ------------------------------------------------------------------------

/**
 * SwarmRoom offers again to a member whose connection (ours to offer) never opened, with backoff,
 * and stops once the member leaves; offers it answered are never redialled by it.
 */
export async function roomRedial() {
  const c = new Checker();
  const offers = [];
  const sig = new EventTarget();
  sig.iceServers = [];
  sig.join = async () => ['M1'];
  sig.signal = (to, data) => { if (data?.type === 'offer') offers.push({ to, at: performance.now() }); };
  sig.leaveAllNow = () => {};
  const swarm = new EventTarget();
  swarm.state = 'running';
  swarm.maxConnections = 30;
  swarm.canConnect = () => true;
  const logs = [];
  const room = new roomMod.SwarmRoom({ swarm, signaling: sig, cidText: 'x'.repeat(43), connectTimeoutMs: 400, log: (t) => logs.push(t) });
  const t0 = performance.now();
  await room.join();
  // Nobody answers: the first offer times out (0.4 s), the next goes 2 s later, the one after 4 s later.
  while (offers.length < 3 && performance.now() - t0 < 12000) await new Promise((r) => setTimeout(r, 50));
  c.eq(offers.length, 3, `offers to the silent member: ${JSON.stringify(offers.map((o) => Math.round(o.at - t0)))}`);
  if (offers.length >= 3) {
    const gap1 = offers[1].at - offers[0].at;
    const gap2 = offers[2].at - offers[1].at;
    c.ok(gap1 >= 2300 && gap1 < 3500, `first redial after the 0.4 s timeout and 2 s: ${Math.round(gap1)} ms`);
    c.ok(gap2 >= 4300 && gap2 < 5500, `second redial after 4 s more: ${Math.round(gap2)} ms`);
  }
  c.ok(logs.some((l) => l.includes('reconnecting in 2 s (attempt 1 of 6)')), `logged: ${logs.join(' | ')}`);
  // The member leaves: no more offers.
  sig.dispatchEvent(new CustomEvent('peer-left', { detail: { room: room.room, id: 'M1' } }));
  const before = offers.length;
  await new Promise((r) => setTimeout(r, 9000));
  c.eq(offers.length, before, 'no offers after the member left');
  room.leave();
  return c.result();
}

/**
 * A peer whose uplink is slow but working (its queued requests outlast the stall limit while its
 * data keeps coming) has those requests cancelled and asked again, but is not counted as stalled
 * and never dropped; the download completes from it alone.
 */
export async function slowButWorkingPeer() {
  const c = new Checker();
  const s = await smallItem([200000], 14); // 13 pieces of 16 KiB
  const seederSwarm = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });
  const logs = [];
  const d = downloader(s, { stallMs: 1000, minStallMs: 1000, log: (t) => logs.push(t) });
  connect(seederSwarm, d, { aToBRate: 60 }); // 60 kB/s: about 0.27 s per piece
  await whenComplete(d, 30000);
  await sameFiles(c, s, d, 'over the slow link');
  const stalls = logs.filter((l) => l.includes('stalled after')).length;
  c.ok(stalls > 0, `requests queued behind others outlasted the 1 s limit and were asked again: ${stalls}`);
  c.eq(d.dropped.length, 0, `the slow peer was not dropped: ${JSON.stringify(d.dropped)}`);
  seederSwarm.stop();
  d.stop();
  return c.result();
}

/**
 * A peer whose hello never arrives (the channel works, the session never starts) is dropped after
 * the hello timeout as 'no-hello', and a fresh connection to the same seeder then completes.
 */
export async function lostHello() {
  const c = new Checker();
  const s = await smallItem([40000, 3], 14);
  const seederSwarm = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s });
  const d = downloader(s, { helloTimeoutMs: 1500 });
  let first = true;
  // The seeder's first message on this connection (its hello) is lost.
  const [, lost] = connect(seederSwarm, d, { aToB: (x) => { if (first) { first = false; return null; } return x; } });
  const t0 = performance.now();
  while (!d.dropped.length && performance.now() - t0 < 6000) await new Promise((r) => setTimeout(r, 50));
  const ms = Math.round(performance.now() - t0);
  c.eq(d.dropped.map((x) => x.reason).join(','), 'no-hello', `dropped for its missing hello after ${ms} ms`);
  c.ok(ms >= 1400 && ms < 4000, `after the 1.5 s hello timeout (and at most two ticks): ${ms} ms`);
  c.eq(lost.state, 'closed', 'the silent session is closed');
  c.ok(!d.complete, 'nothing downloaded from it');
  connect(seederSwarm, d);
  await whenComplete(d, 10000);
  await sameFiles(c, s, d, 'from the second connection');
  seederSwarm.stop();
  d.stop();
  return c.result();
}

/**
 * Chromium may deliver a data channel's first messages before its 'open' event, while readyState
 * still says 'connecting'. The peer keeps them and emits 'connect' first (when sending works),
 * then them in order; one that comes with readyState already 'open' connects at once.
 */
export async function peerMessageBeforeOpen() {
  const c = new Checker();
  const watch = (peer) => {
    const events = [];
    peer.addEventListener('connect', () => events.push(`connect(${peer.channel.readyState})`));
    peer.addEventListener('data', (ev) => events.push(`data:${ev.detail.data}`));
    return events;
  };
  let peer = new peerMod.Peer({ initiator: false, remoteId: 'R' });
  let events = watch(peer);
  let channel = { readyState: 'connecting', bufferedAmount: 0, close() {} };
  peer._setupChannel(channel);
  channel.onmessage({ data: 'hello' });
  channel.onmessage({ data: 'bitfield' });
  c.eq(events.join(' '), '', 'nothing before the channel opens');
  channel.readyState = 'open';
  channel.onopen();
  channel.onmessage({ data: 'third' });
  c.eq(events.join(' '), 'connect(open) data:hello data:bitfield data:third', 'connect first, once, then every message in order');
  peer.destroy();
  channel.onmessage({ data: 'late' });
  c.eq(events.length, 4, 'nothing emitted after destroy');

  peer = new peerMod.Peer({ initiator: false, remoteId: 'R2' });
  events = watch(peer);
  channel = { readyState: 'connecting', bufferedAmount: 0, close() {} };
  peer._setupChannel(channel);
  channel.readyState = 'open'; // open, but its event not dispatched yet
  channel.onmessage({ data: 'hello' });
  c.eq(events.join(' '), 'connect(open) data:hello', 'a message on an open channel connects at once');
  channel.onopen();
  c.eq(events.length, 2, 'the late open event changes nothing');
  peer.destroy();
  return c.result();
}

// --- OPFS store and resume --------------------------------------------------------------------

/** Part 1: stores some pieces of an item; returns what the reload needs. */
export async function storeWrite(pieces) {
  const s = await smallItem([50000, 0, 30000], 14);
  await store.removeStored(s.cidText);
  const opened = await item.openItem(s.info, s.key);
  const st = await store.openStore({ cid: s.cid, cidText: s.cidText, info: s.info, layout: opened.layout });
  const storage = new item.KeyedStorage(opened, st);
  for (const i of pieces) await storage.writePiece(i, await s.readSealedPiece(i), s.proof(i));
  await st.close();
  return { cidText: s.cidText, key: b64uEncode(s.key), pieceCount: s.layout.pieceCount };
}

/** Part 2 (after a reload): the saved info and the stored pieces are found again; completes the item. */
export async function storeResume(cidText, keyText, expected) {
  const c = new Checker();
  const saved = await store.loadSavedInfo(cidText);
  c.ok(!!saved, 'info block saved');
  const s = await smallItem([50000, 0, 30000], 14, b64uDecode(keyText));
  c.eq(s.cidText, cidText, 'same item');
  const inf = await info.verifyInfo(saved, s.cid);
  const opened = await item.openItem(inf, s.key);
  const st = await store.openStore({ cid: s.cid, cidText, info: inf, layout: opened.layout });
  c.ok(st.resumed, 'resumed');
  const have = [];
  for (let i = 0; i < s.layout.pieceCount; i++) if (sessionMod.getBit(st.have, i)) have.push(i);
  c.eq(JSON.stringify(have), JSON.stringify(expected), 'pieces recorded before the reload');
  for (const i of have) {
    c.eq(toHex(await st.readPiece(i)), toHex(await s.readPiece(i)), `piece ${i} read back`);
    c.eq(JSON.stringify((await st.readProof(i)).map(toHex)), JSON.stringify(s.proof(i).map(toHex)), `proof ${i} read back`);
  }
  const completed = [];
  st.onFileComplete = (f) => completed.push(f);
  const storage = new item.KeyedStorage(opened, st);
  c.eq(toHex(await storage.readSealedPiece(have[0])), toHex(await s.readSealedPiece(have[0])), 'a stored piece reseals to the same bytes');
  for (let i = 0; i < s.layout.pieceCount; i++) if (!have.includes(i)) await storage.writePiece(i, await s.readSealedPiece(i), s.proof(i));
  for (let f = 0; f < 3; f++) {
    const file = await st.file(f);
    c.eq(toHex(await sha256(await file.arrayBuffer())), toHex(await sha256(await s.files[f].arrayBuffer())), `file ${f} complete and identical`);
  }
  c.ok(completed.length >= 2, `files reported complete: ${completed}`);
  await st.close();
  await store.removeStored(cidText);
  return c.result();
}

/** A large item through the store: 1 GiB would not fit this way if pieces stayed in memory. */
export async function storeLarge(mib) {
  const c = new Checker();
  const pieceLog2 = 22;
  const L = new layout.Layout([mib * 2 ** 20], pieceLog2);
  const cid = new Uint8Array(32).map(() => Math.floor(Math.random() * 256));
  const cidText = b64uEncode(cid);
  const st = await store.openStore({ cid, cidText, info: null, layout: L });
  const piece = new Uint8Array(L.pieceSize);
  for (let i = 0; i < L.pieceCount; i++) {
    piece.fill(i & 255);
    await st.writePiece(i, piece.slice(), []);
  }
  const file = await st.file(0);
  c.eq(file.size, L.payloadLength, 'size on disk');
  const tail = new Uint8Array(await file.slice(file.size - 1).arrayBuffer());
  c.eq(tail[0], (L.pieceCount - 1) & 255, 'last byte');
  const heap = performance.memory ? performance.memory.usedJSHeapSize : 0;
  await st.close();
  await store.removeStored(cidText);
  return { ...c.result(), heapMiB: Math.round(heap / 2 ** 20) };
}

// --- a real swarm between pages through the hub ------------------------------------------------

const { SignalingClient } = await import('/js/signaling.js');
const roomMod = await import(`${M}room.js`);

/** Seeds the files chosen in `input`; returns the link. The page keeps seeding. */
export async function seed(inputSelector, options = {}) {
  const input = document.querySelector(inputSelector);
  const entries = await sealer.collectFiles(input.files);
  const s = await sealer.sealFiles(entries, { pieceSizeLog2: options.pieceSizeLog2 });
  const swarm = new swarmMod.Swarm({ cid: s.cid, info: s.info, storage: s, uploadSlots: options.uploadSlots });
  await join(swarm, s.cidText);
  globalThis.__swarm = swarm;
  return s.link(location.origin);
}

async function join(swarm, cidText) {
  const sig = new SignalingClient();
  await sig.connect();
  const room = new roomMod.SwarmRoom({ swarm, signaling: sig, cidText, log: (m) => console.info('[room]', m) });
  swarm.addEventListener('peer-dropped', (e) => console.info('[swarm] dropped', JSON.stringify(e.detail)));
  await room.join();
  globalThis.__room = room;
}

/** Downloads a link into OPFS; resolves with each file's SHA-256 and what this page uploaded. */
export async function download(url, timeoutMs = 60000) {
  const parsed = link.parseLink(url, { requireKey: true });
  let opened = null;
  let st = null;
  const swarm = new swarmMod.Swarm({
    cid: parsed.cid,
    prepare: async (inf) => {
      opened = await item.openItem(inf, parsed.key);
      await store.removeStored(parsed.cidText);
      st = await store.openStore({ cid: parsed.cid, cidText: parsed.cidText, info: inf, layout: opened.layout });
      return new item.KeyedStorage(opened, st);
    },
  });
  globalThis.__swarm = swarm;
  const started = performance.now();
  await join(swarm, parsed.cidText);
  await whenComplete(swarm, timeoutMs);
  const completedAt = performance.now();
  const atComplete = swarm.peers(); // for the test's output: who served what, and the choke states
  const files = [];
  for (let f = 0; f < opened.manifest.files.length; f++) {
    const file = await st.file(f);
    const { Sha256 } = await import('/js/sha256.js');
    const h = new Sha256();
    for (let off = 0; off < file.size; off += 4 << 20) h.update(new Uint8Array(await file.slice(off, off + (4 << 20)).arrayBuffer()));
    files.push({ path: opened.manifest.files[f].path, size: file.size, sha256: h.hex() });
  }
  return { files, bytesUp: swarm.totals.bytesUp, bytesDown: swarm.totals.bytesDown, peers: swarm.connectionCount, completedAfterMs: Math.round(completedAt - started), peerStats: atComplete };
}

/** What this page's swarm has uploaded so far (bytes), and its peers. */
export function swarmStats() {
  const s = globalThis.__swarm;
  return s ? { bytesUp: s.totals.bytesUp, bytesDown: s.totals.bytesDown, peers: s.peers(), complete: s.complete } : null;
}
