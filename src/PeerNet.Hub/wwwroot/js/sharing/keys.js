// The content key and what is derived from it (docs/sharing.md §2), with WebCrypto:
//
//   manifestKey = HKDF-SHA256(K, salt = "", info = "peernet-sharing/1 manifest", 32 bytes)
//   pieceKey    = HKDF-SHA256(K, salt = "", info = "peernet-sharing/1 piece",    32 bytes)
//
// Both seal with AES-256-GCM (16-byte tag appended, no additional data) under derived nonces:
// 12 zero bytes for the manifest, 0x00000000 || uint64(i) for piece i. A nonce is never random,
// so sealing the same piece again gives the same bytes (a downloader can serve what it stored).

import { asBytes, utf8 } from './bytes.js';
import { KeyError } from './errors.js';

export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
export const MANIFEST_INFO = 'peernet-sharing/1 manifest';
export const PIECE_INFO = 'peernet-sharing/1 piece';
export const MANIFEST_NONCE = new Uint8Array(NONCE_BYTES);

const subtle = globalThis.crypto.subtle;

/** A fresh random content key (32 bytes). */
export function generateContentKey() {
  return globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/** HKDF-SHA256 with an empty salt (RFC 5869): `length` bytes for `info`. */
export async function hkdf(keyBytes, info, length = KEY_BYTES) {
  const ikm = await subtle.importKey('raw', asBytes(keyBytes), 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(info) }, ikm, length * 8);
  return new Uint8Array(bits);
}

/** The raw derived keys, for test vectors: {manifestKey, pieceKey} as bytes. */
export async function deriveKeyBytes(contentKey) {
  checkKey(contentKey);
  return {
    manifestKey: await hkdf(contentKey, MANIFEST_INFO),
    pieceKey: await hkdf(contentKey, PIECE_INFO),
  };
}

/**
 * The item's keys, ready for sealing and opening: {manifestKey, pieceKey} as non-extractable
 * AES-GCM CryptoKeys.
 */
export async function deriveKeys(contentKey) {
  const raw = await deriveKeyBytes(contentKey);
  const aes = (bytes) => subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  const keys = { manifestKey: await aes(raw.manifestKey), pieceKey: await aes(raw.pieceKey) };
  raw.manifestKey.fill(0);
  raw.pieceKey.fill(0);
  return keys;
}

function checkKey(contentKey) {
  if (!(contentKey instanceof Uint8Array) || contentKey.length !== KEY_BYTES) throw new TypeError('a content key is 32 bytes');
}

/** Piece i's nonce: 4 zero bytes then uint64(i) big-endian. */
export function pieceNonce(index) {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('piece index');
  const nonce = new Uint8Array(NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, Math.floor(index / 0x100000000));
  view.setUint32(8, index >>> 0);
  return nonce;
}

async function seal(key, nonce, plaintext) {
  return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, tagLength: 128 }, key, asBytes(plaintext)));
}

async function open(key, nonce, sealed, what) {
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, tagLength: 128 }, key, asBytes(sealed)));
  } catch {
    throw new KeyError(`${what} does not open with this link's key: the key is wrong, or the bytes were changed`);
  }
}

export function sealManifest(keys, manifestJson) {
  return seal(keys.manifestKey, MANIFEST_NONCE, manifestJson);
}

/** Opens the sealed manifest; a wrong key (or tampered bytes) throws KeyError 'wrong-key'. */
export function openManifest(keys, sealedManifest) {
  return open(keys.manifestKey, MANIFEST_NONCE, sealedManifest, 'The file list');
}

export function sealPiece(keys, index, piece) {
  return seal(keys.pieceKey, pieceNonce(index), piece);
}

/** Opens sealed piece `index`; throws KeyError 'wrong-key' if it does not open at that index. */
export function openPiece(keys, index, sealedPiece) {
  return open(keys.pieceKey, pieceNonce(index), sealedPiece, `Piece ${index}`);
}
