// The download store's disk side (docs/sharing.md §7), in a dedicated worker because only
// workers get OPFS sync access handles: writes land in place at their offsets (no copy of the
// file per write) and flush() makes them durable before the piece is recorded.
//
// Layout under OPFS peernet-share/<CID>/: f0, f1, ... (the files' bytes), proofs (fixed
// stride: count u8 + 18 hashes per piece), info (the info block), state-0/state-1 (the state
// record, written alternately, each with a sequence number and a SHA-256, so a torn write
// leaves the other one valid).

const PROOF_STRIDE = 1 + 18 * 32;
const STATE_MAGIC = [0x50, 0x4e, 0x53, 0x54]; // "PNST"

let dir = null;
let cidBytes = null;
let pieceCount = 0;
let bits = null;
let seq = 0;
const files = []; // {handle, access|null}
let proofs = null;
const stateHandles = [];

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  try {
    const { result, transfer } = await ops[op](args);
    self.postMessage({ id, ok: true, result }, transfer ?? []);
  } catch (e) {
    self.postMessage({ id, ok: false, error: { name: e?.name, message: e?.message ?? String(e) } });
  }
};

async function shareRoot() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle('peernet-share', { create: true });
}

async function writeWhole(handle, bytes) {
  const access = await accessHandle(handle);
  try {
    access.truncate(0);
    access.write(bytes, { at: 0 });
    access.flush();
  } finally {
    access.close();
  }
}

async function readWhole(dirHandle, name) {
  try {
    const h = await dirHandle.getFileHandle(name);
    return new Uint8Array(await (await h.getFile()).arrayBuffer());
  } catch {
    return null;
  }
}

/**
 * A sync access handle, waiting a little while another one is still open on the file: a page
 * that reloads can start before the old page's worker has let go of it.
 */
async function accessHandle(fileHandle) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fileHandle.createSyncAccessHandle();
    } catch (e) {
      if (e?.name !== 'NoModificationAllowedError' || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function digest(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function encodeState() {
  const body = new Uint8Array(4 + 1 + 4 + 32 + 4 + bits.length);
  const view = new DataView(body.buffer);
  body.set(STATE_MAGIC, 0);
  body[4] = 1;
  view.setUint32(5, seq);
  body.set(cidBytes, 9);
  view.setUint32(41, pieceCount);
  body.set(bits, 45);
  const out = new Uint8Array(body.length + 32);
  out.set(body);
  out.set(await digest(body), body.length);
  return out;
}

/** The newest valid state record for this item, or null. */
async function loadState() {
  let best = null;
  for (const name of ['state-0', 'state-1']) {
    const bytes = await readWhole(dir, name);
    if (!bytes || bytes.length < 45 + 32) continue;
    const body = bytes.subarray(0, bytes.length - 32);
    if (!equal(await digest(body), bytes.subarray(body.length))) continue;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (!equal(body.subarray(0, 4), STATE_MAGIC) || body[4] !== 1) continue;
    if (!equal(body.subarray(9, 41), cidBytes) || view.getUint32(41) !== pieceCount) continue;
    if (body.length - 45 !== Math.ceil(pieceCount / 8)) continue;
    const s = view.getUint32(5);
    if (!best || s > best.seq) best = { seq: s, bits: body.slice(45) };
  }
  return best;
}

const ops = {
  /** Opens (or creates) the item's folder; returns the pieces already stored. */
  async open({ cidText, cid, count, fileCount, info }) {
    dir = await (await shareRoot()).getDirectoryHandle(cidText, { create: true });
    cidBytes = new Uint8Array(cid);
    pieceCount = count;
    const state = await loadState();
    bits = state ? state.bits : new Uint8Array(Math.ceil(count / 8));
    seq = state ? state.seq : 0;
    for (let f = 0; f < fileCount; f++) {
      const handle = await dir.getFileHandle(`f${f}`, { create: true });
      files.push({ handle, access: await accessHandle(handle) });
    }
    proofs = await accessHandle(await dir.getFileHandle('proofs', { create: true }));
    for (const name of ['state-0', 'state-1']) stateHandles.push(await accessHandle(await dir.getFileHandle(name, { create: true })));
    if (info) await writeWhole(await dir.getFileHandle('info', { create: true }), new Uint8Array(info));
    return { result: { have: bits.slice().buffer, resumed: !!state } };
  },

  /** Writes a piece's bytes and proof, flushes them, then records the piece. */
  async write({ piece, ranges, data, proof }) {
    const bytes = new Uint8Array(data);
    const touched = new Set();
    for (const r of ranges) {
      const f = files[r.file];
      if (!f.access) throw new Error(`file ${r.file} is already finished`);
      f.access.write(bytes.subarray(r.pieceOffset, r.pieceOffset + r.length), { at: r.fileOffset });
      touched.add(f);
    }
    const p = new Uint8Array(PROOF_STRIDE);
    p[0] = proof.length;
    proof.forEach((h, k) => p.set(new Uint8Array(h), 1 + 32 * k));
    proofs.write(p, { at: piece * PROOF_STRIDE });
    for (const f of touched) f.access.flush();
    proofs.flush();
    bits[piece >> 3] |= 0x80 >> (piece & 7);
    seq++;
    const record = await encodeState();
    const slot = stateHandles[seq % 2];
    slot.truncate(0);
    slot.write(record, { at: 0 });
    slot.flush();
    return { result: null };
  },

  async read({ ranges, length }) {
    const out = new Uint8Array(length);
    for (const r of ranges) {
      const f = files[r.file];
      if (f.access) {
        const n = f.access.read(out.subarray(r.pieceOffset, r.pieceOffset + r.length), { at: r.fileOffset });
        if (n !== r.length) throw new Error('short read');
      } else {
        const file = await f.handle.getFile();
        out.set(new Uint8Array(await file.slice(r.fileOffset, r.fileOffset + r.length).arrayBuffer()), r.pieceOffset);
      }
    }
    return { result: out.buffer, transfer: [out.buffer] };
  },

  async readProof({ piece }) {
    const p = new Uint8Array(PROOF_STRIDE);
    proofs.read(p, { at: piece * PROOF_STRIDE });
    const hashes = [];
    for (let k = 0; k < p[0]; k++) hashes.push(p.slice(1 + 32 * k, 33 + 32 * k).buffer);
    return { result: hashes };
  },

  /** Every byte of file f is stored: close its handle so the page can read it. */
  async finishFile({ file, size }) {
    const f = files[file];
    if (f.access) {
      f.access.truncate(size);
      f.access.flush();
      f.access.close();
      f.access = null;
    }
    return { result: null };
  },

  async close() {
    for (const f of files) {
      try { f.access?.close(); } catch { /* ignore */ }
      f.access = null;
    }
    for (const h of [proofs, ...stateHandles]) {
      try { h?.close(); } catch { /* ignore */ }
    }
    return { result: null };
  },
};
