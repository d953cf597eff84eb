// The public info block and the content id (docs/sharing.md §3):
//
//   0  4  magic "PNS1"          16 4  sealedManifestLength (17 … 4 MiB + 16)
//   4  1  version = 1           20 32 piecesRoot
//   5  1  pieceSizeLog2 14…22   52 …  sealedManifest
//   6  2  reserved, 0
//   8  8  payloadLength (≤ 2^18 × pieceSize)
//
//   CID = node(H(0x00 || info[0..20) || sealedManifest), piecesRoot)

import { asBytes, equalBytes, getUint64, setUint64 } from './bytes.js';
import { InfoError } from './errors.js';
import { MAX_PIECES, MIN_PIECE_LOG2, MAX_PIECE_LOG2, pieceCountOf } from './layout.js';
import { MAX_MANIFEST_BYTES } from './manifest.js';
import { nodeHash, EMPTY_ROOT } from './merkle.js';

export const INFO_MAGIC = new Uint8Array([0x50, 0x4e, 0x53, 0x31]); // "PNS1"
export const INFO_VERSION = 1;
export const INFO_HEADER_BYTES = 52;
export const MIN_SEALED_MANIFEST = 17;
export const MAX_SEALED_MANIFEST = MAX_MANIFEST_BYTES + 16;
export const MAX_INFO_BYTES = INFO_HEADER_BYTES + MAX_SEALED_MANIFEST;

function bad(message) {
  throw new InfoError('bad-info', `The item's info block is invalid: ${message}.`);
}

/** Builds the info block from {pieceSizeLog2, payloadLength, piecesRoot, sealedManifest}. */
export function encodeInfo({ pieceSizeLog2, payloadLength, piecesRoot, sealedManifest }) {
  const out = new Uint8Array(INFO_HEADER_BYTES + sealedManifest.length);
  const view = new DataView(out.buffer);
  out.set(INFO_MAGIC, 0);
  out[4] = INFO_VERSION;
  out[5] = pieceSizeLog2;
  setUint64(view, 8, payloadLength);
  view.setUint32(16, sealedManifest.length);
  out.set(piecesRoot, 20);
  out.set(sealedManifest, INFO_HEADER_BYTES);
  parseInfo(out); // never hand out a block a peer would reject
  return out;
}

/**
 * Parses an info block and checks every field's range. Returns {version, pieceSizeLog2,
 * pieceSize, payloadLength, pieceCount, sealedManifestLength, piecesRoot, sealedManifest, bytes}.
 */
export function parseInfo(bytes) {
  bytes = asBytes(bytes);
  if (bytes.length < INFO_HEADER_BYTES + MIN_SEALED_MANIFEST) bad(`${bytes.length} bytes is too short`);
  if (bytes.length > MAX_INFO_BYTES) bad(`${bytes.length} bytes is too long`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!equalBytes(bytes.subarray(0, 4), INFO_MAGIC)) bad('wrong magic');
  if (bytes[4] !== INFO_VERSION) bad(`version ${bytes[4]} is not 1`);
  const pieceSizeLog2 = bytes[5];
  if (pieceSizeLog2 < MIN_PIECE_LOG2 || pieceSizeLog2 > MAX_PIECE_LOG2) bad(`piece size 2^${pieceSizeLog2} is outside 2^14 … 2^22`);
  if (view.getUint16(6) !== 0) bad('the reserved field is not 0');
  const pieceSize = 2 ** pieceSizeLog2;
  const payloadLength = getUint64(view, 8);
  if (payloadLength === null || payloadLength > MAX_PIECES * pieceSize) bad('the payload is longer than 2^18 pieces');
  const sealedManifestLength = view.getUint32(16);
  if (sealedManifestLength < MIN_SEALED_MANIFEST || sealedManifestLength > MAX_SEALED_MANIFEST) {
    bad(`the sealed manifest length ${sealedManifestLength} is outside 17 … 4 MiB + 16`);
  }
  if (bytes.length !== INFO_HEADER_BYTES + sealedManifestLength) bad('its length does not match the sealed manifest length');
  const piecesRoot = bytes.slice(20, 52);
  const pieceCount = pieceCountOf(payloadLength, pieceSize);
  if (pieceCount === 0 && !equalBytes(piecesRoot, EMPTY_ROOT)) bad('an empty payload must have a zero pieces root');
  return {
    version: INFO_VERSION,
    pieceSizeLog2,
    pieceSize,
    payloadLength,
    pieceCount,
    sealedManifestLength,
    piecesRoot,
    sealedManifest: bytes.subarray(INFO_HEADER_BYTES),
    bytes,
  };
}

/** The content id of an info block (32 bytes). */
export async function contentId(infoBytes) {
  infoBytes = asBytes(infoBytes);
  const header = infoBytes.subarray(0, 20);
  const sealedManifest = infoBytes.subarray(INFO_HEADER_BYTES);
  const input = new Uint8Array(1 + 20 + sealedManifest.length);
  input.set(header, 1);
  input.set(sealedManifest, 21);
  const manifestLeaf = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input));
  return nodeHash(manifestLeaf, infoBytes.subarray(20, 52));
}

/**
 * Parses an info block received from a peer and checks it is the one `expectedCid` names
 * (InfoError 'bad-info' or 'wrong-content').
 */
export async function verifyInfo(infoBytes, expectedCid) {
  const info = parseInfo(infoBytes);
  const cid = await contentId(info.bytes);
  if (!equalBytes(cid, expectedCid)) throw new InfoError('wrong-content', 'The info block is not the one this link names (its content id differs).');
  return info;
}
