// How the payload (every file's bytes, in manifest order) is cut into pieces (docs/sharing.md §2).
//
// pieceSize is 2^14 … 2^22; pieceCount = ceil(payloadLength / pieceSize) ≤ 262,144; pieces may
// span file boundaries. Default piece size: 256 KiB up to 4 GiB of payload, then the smallest
// power of two that keeps pieceCount ≤ 16,384, at most 4 MiB.

import { SharingError } from './errors.js';

export const MIN_PIECE_LOG2 = 14;
export const MAX_PIECE_LOG2 = 22;
export const DEFAULT_PIECE_LOG2 = 18;
export const MAX_PIECES = 262144; // 2^18: a bitfield fits one wire message
export const TARGET_PIECES = 16384;
export const MAX_PAYLOAD = MAX_PIECES * 2 ** MAX_PIECE_LOG2; // 1 TiB

export function pieceCountOf(payloadLength, pieceSize) {
  return Math.ceil(payloadLength / pieceSize);
}

/** The default pieceSizeLog2 for a payload; throws 'too-large' beyond 1 TiB. */
export function choosePieceSizeLog2(payloadLength) {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) throw new RangeError('payload length');
  if (payloadLength > MAX_PAYLOAD) {
    throw new SharingError('too-large', `${payloadLength} bytes is more than one item can hold (1 TiB)`);
  }
  let log2 = DEFAULT_PIECE_LOG2;
  while (log2 < MAX_PIECE_LOG2 && pieceCountOf(payloadLength, 2 ** log2) > TARGET_PIECES) log2++;
  return log2;
}

/** The item's pieces and how they map onto its files. */
export class Layout {
  /** fileSizes: the manifest's sizes in order; pieceSizeLog2: 14 … 22. */
  constructor(fileSizes, pieceSizeLog2) {
    if (!Number.isInteger(pieceSizeLog2) || pieceSizeLog2 < MIN_PIECE_LOG2 || pieceSizeLog2 > MAX_PIECE_LOG2) {
      throw new RangeError(`piece size 2^${pieceSizeLog2} is outside 2^14 … 2^22`);
    }
    this.pieceSizeLog2 = pieceSizeLog2;
    this.pieceSize = 2 ** pieceSizeLog2;
    this.fileSizes = [...fileSizes];
    this.fileOffsets = [];
    let offset = 0;
    for (const size of this.fileSizes) {
      this.fileOffsets.push(offset);
      offset += size;
    }
    this.payloadLength = offset;
    this.pieceCount = pieceCountOf(offset, this.pieceSize);
    if (this.pieceCount > MAX_PIECES) throw new SharingError('too-large', `${this.pieceCount} pieces is more than ${MAX_PIECES}`);
  }

  /** Byte range [start, end) of piece i in the payload. */
  pieceRange(i) {
    this._check(i);
    const start = i * this.pieceSize;
    return { start, end: Math.min(start + this.pieceSize, this.payloadLength) };
  }

  pieceLength(i) {
    const { start, end } = this.pieceRange(i);
    return end - start;
  }

  /** Length of sealed piece i (the piece plus the 16-byte tag). */
  sealedLength(i) {
    return this.pieceLength(i) + 16;
  }

  /**
   * The parts of files piece i covers, in order:
   * [{file, fileOffset, pieceOffset, length}] (empty files never appear).
   */
  fileRanges(i) {
    const { start, end } = this.pieceRange(i);
    const out = [];
    for (let f = this._fileAt(start); f < this.fileSizes.length && this.fileOffsets[f] < end; f++) {
      const fStart = this.fileOffsets[f];
      const fEnd = fStart + this.fileSizes[f];
      const s = Math.max(start, fStart);
      const e = Math.min(end, fEnd);
      if (e > s) out.push({ file: f, fileOffset: s - fStart, pieceOffset: s - start, length: e - s });
    }
    return out;
  }

  /** The pieces [first, last] holding file f's bytes; null for an empty file. */
  piecesOfFile(f) {
    const size = this.fileSizes[f];
    if (size === 0) return null;
    const start = this.fileOffsets[f];
    return { first: Math.floor(start / this.pieceSize), last: Math.floor((start + size - 1) / this.pieceSize) };
  }

  /** The piece holding payload byte `offset`. */
  pieceAt(offset) {
    return Math.min(Math.floor(offset / this.pieceSize), Math.max(0, this.pieceCount - 1));
  }

  _fileAt(offset) {
    // The first file whose bytes reach past offset (binary search over the start offsets).
    let lo = 0;
    let hi = this.fileSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.fileOffsets[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    while (lo > 0 && this.fileOffsets[lo - 1] + this.fileSizes[lo - 1] > offset) lo--;
    return lo;
  }

  _check(i) {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) throw new RangeError(`piece ${i} of ${this.pieceCount}`);
  }
}
