// Seals files for sharing (docs/sharing.md §2, §3): reads them piece by piece with File.slice
// (never a whole file in memory), seals each piece, and hashes it into the Merkle tree; keeps
// only the 32-byte leaf hashes. Afterwards it serves piece i by reading and sealing it again:
// nonces are derived, so the same key seals the same piece to the same bytes.

import { generateContentKey, deriveKeys, sealManifest, sealPiece } from './keys.js';
import { buildManifest, validatePath } from './manifest.js';
import { Layout, choosePieceSizeLog2 } from './layout.js';
import { MerkleTree, leafHash } from './merkle.js';
import { encodeInfo, parseInfo, contentId } from './info.js';
import { bitfieldBytes } from './wire.js';
import { setBit } from './session.js';
import { b64uEncode, equalBytes } from './bytes.js';
import { formatLink } from './link.js';
import { SharingError } from './errors.js';

/**
 * The files to share as [{file, path}]: from a FileList or array of Files (a folder picked
 * with webkitdirectory keeps its webkitRelativePath), or a File System Access directory handle.
 */
export async function collectFiles(input) {
  if (input && typeof input === 'object' && input.kind === 'directory' && typeof input.values === 'function') {
    const out = [];
    await walkDirectory(input, input.name, out);
    out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }
  return [...input].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

async function walkDirectory(dir, prefix, out) {
  for await (const entry of dir.values()) {
    const path = `${prefix}/${entry.name}`;
    if (entry.kind === 'directory') await walkDirectory(entry, path, out);
    else out.push({ file: await entry.getFile(), path });
  }
}

/** The item's name: the folder's when every path is inside one, else the single file's. */
export function itemName(entries) {
  if (entries.length === 1) return entries[0].path.split('/').pop();
  const tops = new Set(entries.map((e) => e.path.split('/')[0]));
  if (tops.size === 1 && entries.every((e) => e.path.includes('/'))) return [...tops][0];
  return `${entries.length} files`;
}

/**
 * Seals [{file, path}] (see collectFiles). Options: key (32 bytes; fresh by default),
 * pieceSizeLog2 (default by size), name, onProgress(bytesDone, bytesTotal), signal (AbortSignal).
 * Returns a SealedItem.
 */
export async function sealFiles(entries, options = {}) {
  if (!entries.length) throw new SharingError('no-files', 'nothing to share');
  for (const e of entries) validatePath(e.path);
  const { manifest, json } = buildManifest({
    name: options.name ?? itemName(entries),
    files: entries.map((e) => ({ path: e.path, size: e.file.size, type: e.file.type || undefined, mtime: e.file.lastModified || undefined })),
  });
  const log2 = options.pieceSizeLog2 ?? choosePieceSizeLog2(manifest.payloadLength);
  const layout = new Layout(manifest.files.map((f) => f.size), log2);
  const key = options.key ?? generateContentKey();
  const keys = await deriveKeys(key);
  const item = new SealedItem(entries.map((e) => e.file), layout, manifest, key, keys);

  const leaves = new Array(layout.pieceCount);
  let next = layout.pieceCount > 0 ? item.readPiece(0) : null;
  for (let i = 0; i < layout.pieceCount; i++) {
    if (options.signal?.aborted) throw new SharingError('cancelled', 'sealing was cancelled');
    const plain = await next;
    next = i + 1 < layout.pieceCount ? item.readPiece(i + 1) : null; // read ahead while sealing
    leaves[i] = await leafHash(await sealPiece(keys, i, plain));
    options.onProgress?.(layout.pieceRange(i).end, layout.payloadLength);
  }
  const tree = new MerkleTree(leaves);
  const sealedManifest = await sealManifest(keys, json);
  const infoBytes = encodeInfo({ pieceSizeLog2: log2, payloadLength: layout.payloadLength, piecesRoot: tree.root, sealedManifest });
  await item._finish(tree, infoBytes);
  return item;
}

/** A sealed item that can serve its pieces (the swarm's storage for a seeder). */
export class SealedItem {
  constructor(files, layout, manifest, key, keys) {
    this.files = files;
    this.layout = layout;
    this.manifest = manifest;
    this.key = key;
    this.keys = keys;
  }

  async _finish(tree, infoBytes) {
    this.tree = tree;
    this.leaves = tree.levels[0];
    this.infoBytes = infoBytes;
    this.info = parseInfo(infoBytes);
    this.cid = await contentId(infoBytes);
    this.cidText = b64uEncode(this.cid);
    this.have = new Uint8Array(bitfieldBytes(this.layout.pieceCount));
    for (let i = 0; i < this.layout.pieceCount; i++) setBit(this.have, i);
  }

  /** The read link (`origin/#/get/CID#k=KEY`). */
  link(origin) {
    return formatLink(origin, this.cid, this.key);
  }

  /** Piece i's plaintext, read from the files. */
  async readPiece(i) {
    const out = new Uint8Array(this.layout.pieceLength(i));
    for (const r of this.layout.fileRanges(i)) {
      const file = this.files[r.file];
      let bytes;
      try {
        bytes = new Uint8Array(await file.slice(r.fileOffset, r.fileOffset + r.length).arrayBuffer());
      } catch (e) {
        throw new SharingError('read-failed', `could not read “${file.name}” (was it moved or changed?): ${e.message}`);
      }
      if (bytes.length !== r.length) throw new SharingError('read-failed', `“${file.name}” changed size since it was shared`);
      out.set(bytes, r.pieceOffset);
    }
    return out;
  }

  /** Sealed piece i; checked against its leaf, so a file changed since sealing is never served. */
  async readSealedPiece(i) {
    const sealed = await sealPiece(this.keys, i, await this.readPiece(i));
    if (!equalBytes(await leafHash(sealed), this.leaves[i])) {
      throw new SharingError('file-changed', `a shared file changed since it was shared (piece ${i} differs)`);
    }
    return sealed;
  }

  proof(i) {
    return this.tree.proof(i);
  }
}
