// The Merkle tree over the sealed pieces (docs/sharing.md §3), with RFC 6962 style domain
// separation:
//
//   leaf(i)    = H(0x00 || sealedPiece_i)
//   node(a, b) = H(0x01 || a || b)
//
// Each level pairs neighbours left to right; the last node of an odd level is carried up
// unchanged. One piece's root is its leaf; no pieces: 32 zero bytes. A proof lists the sibling
// hashes from the leaf up, skipping the levels where the path's node was carried up.

import { Sha256 } from '../sha256.js';
import { asBytes, equalBytes } from './bytes.js';

export const HASH_BYTES = 32;
export const MAX_PROOF_HASHES = 18;
export const EMPTY_ROOT = new Uint8Array(HASH_BYTES);

/** leaf(i) = H(0x00 || sealed piece), with WebCrypto. */
export async function leafHash(sealedPiece) {
  const bytes = asBytes(sealedPiece);
  const input = new Uint8Array(bytes.length + 1);
  input.set(bytes, 1);
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input));
}

/** node(a, b) = H(0x01 || a || b); synchronous (65 bytes are quicker here than a WebCrypto round trip). */
export function nodeHash(a, b) {
  return new Sha256().update(NODE_PREFIX).update(a).update(b).digest();
}
const NODE_PREFIX = new Uint8Array([1]);

/** The number of hashes in piece i's proof for a tree of `count` leaves. */
export function proofLength(index, count) {
  let n = 0;
  for (let j = index, w = count; w > 1; j = Math.floor(j / 2), w = Math.ceil(w / 2)) {
    if (j % 2 === 1 || j + 1 < w) n++;
  }
  return n;
}

/** Every level of the tree, leaves first; the last level holds the root. */
export class MerkleTree {
  constructor(leaves) {
    this.count = leaves.length;
    this.levels = [leaves.map((l) => asBytes(l))];
    let level = this.levels[0];
    while (level.length > 1) {
      const next = [];
      for (let k = 0; k + 1 < level.length; k += 2) next.push(nodeHash(level[k], level[k + 1]));
      if (level.length % 2 === 1) next.push(level[level.length - 1]);
      this.levels.push(next);
      level = next;
    }
  }

  get root() {
    return this.count === 0 ? EMPTY_ROOT.slice() : this.levels[this.levels.length - 1][0];
  }

  leaf(i) {
    return this.levels[0][i];
  }

  /** The sibling hashes of piece i, leaf level first. */
  proof(i) {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`piece ${i} of ${this.count}`);
    const out = [];
    let j = i;
    for (let d = 0; d < this.levels.length - 1; d++) {
      const w = this.levels[d].length;
      if (j % 2 === 1) out.push(this.levels[d][j - 1]);
      else if (j + 1 < w) out.push(this.levels[d][j + 1]);
      j = Math.floor(j / 2);
    }
    return out;
  }
}

export function merkleRoot(leaves) {
  return new MerkleTree(leaves).root;
}

/**
 * Recomputes the root from piece i's leaf and proof (§3); true when every hash is consumed
 * and the result is `root`.
 */
export function verifyProof(leaf, index, count, proof, root) {
  if (!Number.isInteger(index) || index < 0 || index >= count || !Array.isArray(proof)) return false;
  if (proof.length > MAX_PROOF_HASHES) return false;
  let hash = leaf;
  let used = 0;
  for (let j = index, w = count; w > 1; j = Math.floor(j / 2), w = Math.ceil(w / 2)) {
    if (j % 2 === 1) {
      if (used >= proof.length) return false;
      hash = nodeHash(proof[used++], hash);
    } else if (j + 1 < w) {
      if (used >= proof.length) return false;
      hash = nodeHash(hash, proof[used++]);
    }
  }
  return used === proof.length && equalBytes(hash, root);
}
