// The wire (docs/sharing.md §5): one binary data-channel message per protocol message, at most
// 65,536 bytes, a 1-byte type then big-endian fields. `decodeMessage` accepts only messages of
// the exact shape of their type and throws WireError otherwise; it never reads past the end.
//
// Messages are plain objects: {type: 'hello', flags, cid, pieceCount, maxRequests},
// {type: 'bitfield', bits}, {type: 'have', piece}, {type: 'info-request'},
// {type: 'info', totalLength, offset, bytes}, {type: 'request', piece},
// {type: 'proof', piece, hashes}, {type: 'piece', piece, offset, bytes}, {type: 'cancel', piece},
// {type: 'reject', piece}, {type: 'choke'}, {type: 'unchoke'}, {type: 'interested'},
// {type: 'not-interested'}, {type: 'error', code, text}.

import { asBytes, equalBytes, utf8, utf8Strict } from './bytes.js';
import { WireError } from './errors.js';
import { MAX_PIECES } from './layout.js';
import { MAX_INFO_BYTES, INFO_HEADER_BYTES, MIN_SEALED_MANIFEST } from './info.js';
import { MAX_PROOF_HASHES } from './merkle.js';

export const CHANNEL_LABEL = 'peernet-share/1';
export const MAX_MESSAGE_BYTES = 65536;
export const MAX_INFO_CHUNK = 65000;
export const MAX_BLOCK = 65000;
export const BLOCK_SIZE = 32768;
export const MAX_ERROR_TEXT = 1024;
export const MAX_MAX_REQUESTS = 1024;
export const NO_PIECE_COUNT = 0xffffffff;
export const HELLO_MAGIC = new Uint8Array([0x50, 0x4e, 0x53, 0x57]); // "PNSW"
export const WIRE_VERSION = 1;

export const FLAG_HAS_INFO = 1;
export const FLAG_COMPLETE = 2;

export const TYPES = Object.freeze({
  hello: 0x01, bitfield: 0x02, have: 0x03, 'info-request': 0x04, info: 0x05, request: 0x06,
  proof: 0x07, piece: 0x08, cancel: 0x09, reject: 0x0a, choke: 0x0b, unchoke: 0x0c,
  interested: 0x0d, 'not-interested': 0x0e, error: 0x0f,
});
const NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));

/** `error` message codes (§5). */
export const ERROR_CODES = Object.freeze({ protocol: 1, 'wrong-content': 2, 'corrupt-piece': 3, overloaded: 4, 'shutting-down': 5 });
export const ERROR_NAMES = Object.fromEntries(Object.entries(ERROR_CODES).map(([k, v]) => [v, k]));

const PIECE_ONLY = new Set(['have', 'request', 'cancel', 'reject']);
const EMPTY = new Set(['info-request', 'choke', 'unchoke', 'interested', 'not-interested']);

function fail(reason, message, wireCode = ERROR_CODES.protocol) {
  throw new WireError(reason, message, wireCode);
}

/** Bytes of a bitfield for `pieceCount` pieces. */
export function bitfieldBytes(pieceCount) {
  return Math.ceil(pieceCount / 8);
}

/** Checks a received bitfield's length and spare bits against pieceCount (WireError otherwise). */
export function checkBitfield(bits, pieceCount) {
  if (bits.length !== bitfieldBytes(pieceCount)) fail('bitfield-length', `a bitfield of ${bits.length} bytes for ${pieceCount} pieces`);
  const spare = bits.length * 8 - pieceCount;
  if (spare > 0 && (bits[bits.length - 1] & ((1 << spare) - 1)) !== 0) fail('bitfield-spare-bits', 'a bitfield has spare bits set');
}

/** Encodes a message object (see the header); throws TypeError/RangeError on a bad local value. */
export function encodeMessage(msg) {
  const code = TYPES[msg.type];
  if (!code) throw new TypeError(`unknown message type ${msg.type}`);
  let out;
  const alloc = (n) => {
    out = new Uint8Array(1 + n);
    out[0] = code;
    return new DataView(out.buffer, 1);
  };
  const u32 = (v) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${msg.type}: ${v} is not a u32`);
    return v;
  };
  if (EMPTY.has(msg.type)) {
    alloc(0);
  } else if (PIECE_ONLY.has(msg.type)) {
    alloc(4).setUint32(0, u32(msg.piece));
  } else {
    switch (msg.type) {
      case 'hello': {
        const v = alloc(44);
        out.set(HELLO_MAGIC, 1);
        out[5] = WIRE_VERSION;
        out[6] = msg.flags & 0xff;
        if (!(msg.cid instanceof Uint8Array) || msg.cid.length !== 32) throw new TypeError('hello: cid must be 32 bytes');
        out.set(msg.cid, 7);
        v.setUint32(38, u32(msg.pieceCount));
        if (!Number.isInteger(msg.maxRequests) || msg.maxRequests < 1 || msg.maxRequests > MAX_MAX_REQUESTS) throw new RangeError('hello: maxRequests');
        v.setUint16(42, msg.maxRequests);
        break;
      }
      case 'bitfield':
        alloc(msg.bits.length);
        out.set(msg.bits, 1);
        break;
      case 'info': {
        const bytes = asBytes(msg.bytes);
        if (bytes.length > MAX_INFO_CHUNK) throw new RangeError('info: chunk too large');
        const v = alloc(8 + bytes.length);
        v.setUint32(0, u32(msg.totalLength));
        v.setUint32(4, u32(msg.offset));
        out.set(bytes, 9);
        break;
      }
      case 'proof': {
        if (msg.hashes.length > MAX_PROOF_HASHES) throw new RangeError('proof: too many hashes');
        const v = alloc(5 + 32 * msg.hashes.length);
        v.setUint32(0, u32(msg.piece));
        v.setUint8(4, msg.hashes.length);
        msg.hashes.forEach((h, k) => out.set(h, 6 + 32 * k));
        break;
      }
      case 'piece': {
        const bytes = asBytes(msg.bytes);
        if (bytes.length > MAX_BLOCK) throw new RangeError('piece: block too large');
        const v = alloc(8 + bytes.length);
        v.setUint32(0, u32(msg.piece));
        v.setUint32(4, u32(msg.offset));
        out.set(bytes, 9);
        break;
      }
      case 'error': {
        let text = utf8.encode(msg.text ?? '');
        if (text.length > MAX_ERROR_TEXT) text = utf8.encode(truncateUtf8(msg.text, MAX_ERROR_TEXT));
        const v = alloc(2 + text.length);
        v.setUint16(0, msg.code & 0xffff);
        out.set(text, 3);
        break;
      }
      default:
        throw new TypeError(msg.type);
    }
  }
  if (out.length > MAX_MESSAGE_BYTES) throw new RangeError(`${msg.type}: ${out.length} bytes is over the message limit`);
  return out;
}

function truncateUtf8(text, maxBytes) {
  let out = '';
  let n = 0;
  for (const ch of text) {
    const len = utf8.encode(ch).length;
    if (n + len > maxBytes) break;
    out += ch;
    n += len;
  }
  return out;
}

/**
 * Decodes one received message (ArrayBuffer or Uint8Array). Shape errors (size for its type,
 * unknown type, values out of range) throw WireError with the `error` code to answer with.
 * Checks that need the item (a bitfield's length, a piece's range) are the session's.
 */
export function decodeMessage(data) {
  let bytes;
  try {
    bytes = asBytes(data);
  } catch {
    fail('not-binary', 'a text message on the share channel');
  }
  if (bytes.length === 0) fail('empty', 'an empty message');
  if (bytes.length > MAX_MESSAGE_BYTES) fail('too-long', `a message of ${bytes.length} bytes (at most ${MAX_MESSAGE_BYTES})`);
  const type = NAMES[bytes[0]];
  if (!type) fail('unknown-type', `unknown message type 0x${bytes[0].toString(16).padStart(2, '0')}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1);
  const n = bytes.length - 1;
  const exact = (want) => {
    if (n !== want) fail('bad-length', `${type} of ${n} bytes (${want} expected)`);
  };
  const atLeast = (want) => {
    if (n < want) fail('truncated', `${type} of ${n} bytes (at least ${want} expected)`);
  };
  if (EMPTY.has(type)) {
    exact(0);
    return { type };
  }
  if (PIECE_ONLY.has(type)) {
    exact(4);
    return { type, piece: view.getUint32(0) };
  }
  switch (type) {
    case 'hello': {
      exact(44);
      if (!equalBytes(bytes.subarray(1, 5), HELLO_MAGIC)) fail('bad-magic', 'hello with another magic', ERROR_CODES['wrong-content']);
      if (bytes[5] !== WIRE_VERSION) fail('bad-version', `hello of version ${bytes[5]}`, ERROR_CODES['wrong-content']);
      const pieceCount = view.getUint32(38);
      const maxRequests = view.getUint16(42);
      if (pieceCount !== NO_PIECE_COUNT && pieceCount > MAX_PIECES) fail('bad-piece-count', `hello with ${pieceCount} pieces`);
      if (maxRequests < 1 || maxRequests > MAX_MAX_REQUESTS) fail('bad-max-requests', `hello with maxRequests ${maxRequests}`);
      return { type, flags: bytes[6], cid: bytes.slice(7, 39), pieceCount, maxRequests };
    }
    case 'bitfield':
      if (n > bitfieldBytes(MAX_PIECES)) fail('too-long', `a bitfield of ${n} bytes`);
      return { type, bits: bytes.slice(1) };
    case 'info': {
      atLeast(9);
      const totalLength = view.getUint32(0);
      const offset = view.getUint32(4);
      const chunk = n - 8;
      if (chunk > MAX_INFO_CHUNK) fail('too-long', `an info chunk of ${chunk} bytes`);
      if (totalLength < INFO_HEADER_BYTES + MIN_SEALED_MANIFEST || totalLength > MAX_INFO_BYTES) fail('bad-info-length', `an info block of ${totalLength} bytes`);
      if (chunk === 0) fail('empty-chunk', 'an empty info chunk');
      if (offset >= totalLength || chunk > totalLength - offset) fail('bad-info-range', 'an info chunk beyond the block');
      return { type, totalLength, offset, bytes: bytes.slice(9) };
    }
    case 'proof': {
      atLeast(5);
      const count = bytes[5];
      if (count > MAX_PROOF_HASHES) fail('bad-proof', `a proof of ${count} hashes`);
      exact(5 + 32 * count);
      const hashes = [];
      for (let k = 0; k < count; k++) hashes.push(bytes.slice(6 + 32 * k, 38 + 32 * k));
      return { type, piece: view.getUint32(0), hashes };
    }
    case 'piece': {
      atLeast(9);
      const chunk = n - 8;
      if (chunk > MAX_BLOCK) fail('too-long', `a block of ${chunk} bytes`);
      if (chunk === 0) fail('empty-block', 'an empty block');
      return { type, piece: view.getUint32(0), offset: view.getUint32(4), bytes: bytes.slice(9) };
    }
    case 'error': {
      atLeast(2);
      if (n - 2 > MAX_ERROR_TEXT) fail('too-long', 'an error text over 1,024 bytes');
      let text;
      try {
        text = utf8Strict.decode(bytes.subarray(3));
      } catch {
        fail('bad-utf8', 'an error text that is not UTF-8');
      }
      const code = view.getUint16(0);
      return { type, code, name: ERROR_NAMES[code] ?? 'unknown', text };
    }
    default:
      return fail('unknown-type', type);
  }
}
