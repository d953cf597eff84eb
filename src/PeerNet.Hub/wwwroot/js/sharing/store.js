// Where a download goes (docs/sharing.md §7): each verified, opened piece is written into the
// item's files in the Origin Private File System at the piece's offsets, flushed, and only then
// recorded in a small state record, so a reload resumes with what is recorded and never holds a
// whole file in memory. The disk work runs in store-worker.js (sync access handles are for
// workers only).
//
//   const store = await openStore({cid, cidText, info, layout});
//   store.have                         bitfield of the pieces already stored (resume)
//   await store.writePiece(i, plain, proof)
//   await store.readPiece(i) / store.readProof(i)
//   store.onFileComplete = (f) => …     every piece of file f is stored
//   await store.file(f)                 a disk-backed File of file f, once complete
//   await loadSavedInfo(cidText)        the info block saved by an earlier visit, or null

import { SharingError } from './errors.js';
import { getBit } from './session.js';

const ROOT = 'peernet-share';

/** True when this browser has OPFS with sync access handles in workers (Chromium, Firefox, Safari 17+). */
export async function storeSupported() {
  try {
    return !!navigator.storage?.getDirectory && typeof Worker === 'function' && typeof FileSystemFileHandle !== 'undefined' && !!(await navigator.storage.getDirectory());
  } catch {
    return false;
  }
}

export async function loadSavedInfo(cidText) {
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
    const dir = await root.getDirectoryHandle(cidText);
    const file = await (await dir.getFileHandle('info')).getFile();
    return new Uint8Array(await file.arrayBuffer());
  } catch {
    return null;
  }
}

/** Removes what was stored for an item (best effort). */
export async function removeStored(cidText) {
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
    await root.removeEntry(cidText, { recursive: true });
  } catch { /* nothing stored */ }
}

export async function openStore({ cid, cidText, info, layout }) {
  if (navigator.storage?.estimate) {
    const { quota, usage } = await navigator.storage.estimate();
    if (Number.isFinite(quota) && Number.isFinite(usage) && layout.payloadLength > quota - usage) {
      throw new SharingError('no-space', `not enough browser storage: the files need ${layout.payloadLength} bytes, this browser allows this site ${quota - usage} more`);
    }
  }
  const worker = new Worker(new URL('./store-worker.js', import.meta.url), { type: 'module' });
  const store = new OpfsStore(worker, layout);
  const { have, resumed } = await store._call('open', {
    cidText,
    cid: cid.slice().buffer,
    count: layout.pieceCount,
    fileCount: layout.fileSizes.length,
    info: info ? info.bytes.slice().buffer : null,
  });
  store.have = new Uint8Array(have);
  store.resumed = resumed;
  await store._init(cidText);
  return store;
}

class OpfsStore {
  constructor(worker, layout) {
    this.kind = 'opfs';
    this.layout = layout;
    this.have = null;
    this.onFileComplete = null;
    this._worker = worker;
    this._next = 1;
    this._pending = new Map();
    this._chain = Promise.resolve(); // writes are recorded one at a time, in order
    worker.onmessage = (ev) => {
      const p = this._pending.get(ev.data.id);
      if (!p) return;
      this._pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve(ev.data.result);
      else p.reject(new SharingError('storage', `could not use the browser's storage: ${ev.data.error.message}`));
    };
    worker.onerror = (ev) => {
      for (const p of this._pending.values()) p.reject(new SharingError('storage', `the storage worker failed: ${ev.message}`));
      this._pending.clear();
    };
  }

  async _init(cidText) {
    this._cidText = cidText;
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
    this._dir = await root.getDirectoryHandle(cidText);
    // Files still missing pieces; the others are finished right away.
    this._missing = this.layout.fileSizes.map((_, f) => {
      const range = this.layout.piecesOfFile(f);
      if (!range) return 0;
      let n = 0;
      for (let i = range.first; i <= range.last; i++) if (!getBit(this.have, i)) n++;
      return n;
    });
    this.complete = this._missing.map(() => false);
    for (let f = 0; f < this._missing.length; f++) if (this._missing[f] === 0) await this._finish(f);
  }

  _call(op, args, transfer = []) {
    const id = this._next++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._worker.postMessage({ id, op, args }, transfer);
    });
  }

  async writePiece(i, plain, proof) {
    const data = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength ? plain.buffer : plain.slice().buffer;
    const run = this._chain.then(() => this._call('write', {
      piece: i,
      ranges: this.layout.fileRanges(i),
      data,
      proof: proof.map((h) => h.slice().buffer),
    }, [data]));
    this._chain = run.catch(() => {});
    await run;
    this.have[i >> 3] |= 0x80 >> (i & 7);
    for (const r of this.layout.fileRanges(i)) {
      if (--this._missing[r.file] === 0) await this._finish(r.file);
    }
  }

  async _finish(f) {
    await this._call('finishFile', { file: f, size: this.layout.fileSizes[f] });
    this.complete[f] = true;
    this.onFileComplete?.(f);
  }

  async readPiece(i) {
    return new Uint8Array(await this._call('read', { ranges: this.layout.fileRanges(i), length: this.layout.pieceLength(i) }));
  }

  async readProof(i) {
    return (await this._call('readProof', { piece: i })).map((b) => new Uint8Array(b));
  }

  /** File f's bytes on disk, as a File (read from disk when used; not loaded into memory). */
  async file(f) {
    if (!this.complete[f]) throw new Error(`file ${f} is not complete`);
    return (await this._dir.getFileHandle(`f${f}`)).getFile();
  }

  async close() {
    try {
      await this._call('close', {});
    } finally {
      this._worker.terminate();
    }
  }
}
