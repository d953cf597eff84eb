// A downloader's view of an item it holds the key of: the info block opened into its manifest
// and layout (docs/sharing.md §2), and the storage the swarm uses, which opens each verified
// piece before writing it and seals it again to serve it.

import { deriveKeys, openManifest, openPiece, sealPiece } from './keys.js';
import { parseManifest } from './manifest.js';
import { Layout } from './layout.js';
import { ManifestError } from './errors.js';

/**
 * Opens the sealed manifest of a verified info block with the content key, validates it and
 * checks it against the info's payload length. Throws KeyError 'wrong-key' or ManifestError
 * 'bad-manifest'. Returns {info, keys, manifest, layout}.
 */
export async function openItem(info, contentKey) {
  const keys = await deriveKeys(contentKey);
  const json = await openManifest(keys, info.sealedManifest);
  const manifest = parseManifest(json);
  if (manifest.payloadLength !== info.payloadLength) {
    throw new ManifestError('size-mismatch', `The file list is invalid: its files add up to ${manifest.payloadLength} bytes, the item holds ${info.payloadLength}.`);
  }
  const layout = new Layout(manifest.files.map((f) => f.size), info.pieceSizeLog2);
  return { info, keys, manifest, layout };
}

/**
 * The swarm's storage for a keyed download over a plaintext store
 * (store = {have, writePiece(i, plain, proof), readPiece(i), readProof(i)}).
 */
export class KeyedStorage {
  constructor(opened, store) {
    this.opened = opened;
    this.store = store;
    this.have = store.have;
  }

  /** Opens a verified sealed piece (KeyError if the link's key does not open it) and stores it. */
  async writePiece(i, sealed, proof) {
    const plain = await openPiece(this.opened.keys, i, sealed);
    await this.store.writePiece(i, plain, proof);
  }

  async readSealedPiece(i) {
    return sealPiece(this.opened.keys, i, await this.store.readPiece(i));
  }

  proof(i) {
    return this.store.readProof(i);
  }
}

/**
 * A store in memory, for browsers without OPFS (and tests): plaintext pieces and their proofs.
 * Same shape as store.js's: have, complete[f], onFileComplete(f), file(f).
 */
export class MemoryStore {
  constructor(layout, types = []) {
    this.kind = 'memory';
    this.layout = layout;
    this.types = types;
    this.pieces = new Map();
    this.proofs = new Map();
    this.have = new Uint8Array(Math.ceil(layout.pieceCount / 8));
    this.onFileComplete = null;
    this._missing = layout.fileSizes.map((_, f) => {
      const r = layout.piecesOfFile(f);
      return r ? r.last - r.first + 1 : 0;
    });
    this.complete = this._missing.map((n) => n === 0);
  }

  async writePiece(i, plain, proof) {
    if (this.pieces.has(i)) return;
    this.pieces.set(i, plain);
    this.proofs.set(i, proof);
    this.have[i >> 3] |= 0x80 >> (i & 7);
    for (const r of this.layout.fileRanges(i)) {
      if (--this._missing[r.file] === 0) {
        this.complete[r.file] = true;
        this.onFileComplete?.(r.file);
      }
    }
  }

  async readPiece(i) {
    const p = this.pieces.get(i);
    if (!p) throw new Error(`piece ${i} is not stored`);
    return p;
  }

  async readProof(i) {
    return this.proofs.get(i);
  }

  /** File f's bytes. */
  fileBytes(f) {
    const out = new Uint8Array(this.layout.fileSizes[f]);
    const range = this.layout.piecesOfFile(f);
    if (!range) return out;
    for (let i = range.first; i <= range.last; i++) {
      for (const r of this.layout.fileRanges(i)) {
        if (r.file === f) out.set(this.pieces.get(i).subarray(r.pieceOffset, r.pieceOffset + r.length), r.fileOffset);
      }
    }
    return out;
  }

  /** File f as a Blob, once complete. */
  async file(f) {
    return new Blob([this.fileBytes(f)], { type: this.types[f] || 'application/octet-stream' });
  }

  async close() {}
}
