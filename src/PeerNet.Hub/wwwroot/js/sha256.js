// Incremental SHA-256 (FIPS 180-4) for hashing files of any size chunk by chunk.
// WebCrypto's digest() needs the whole input at once, so whole-file hashes of
// multi-gigabyte files are computed here, one block at a time.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

export class Sha256 {
  constructor() {
    this._h = new Int32Array(INITIAL);
    this._w = new Int32Array(64);
    this._buffer = new Uint8Array(64); // a partial 64-byte block
    this._buffered = 0;
    this._length = 0; // total bytes hashed (exact up to 2^53)
    this._finished = false;
  }

  /** Adds bytes (Uint8Array, ArrayBuffer or any ArrayBufferView) to the hash. Returns this. */
  update(data) {
    if (this._finished) throw new Error('Sha256: update() after digest()');
    const bytes = toBytes(data);
    let offset = 0;
    const n = bytes.length;
    this._length += n;
    if (this._buffered > 0) {
      const take = Math.min(64 - this._buffered, n);
      this._buffer.set(bytes.subarray(0, take), this._buffered);
      this._buffered += take;
      offset = take;
      if (this._buffered < 64) return this;
      this._compress(this._buffer, 0, 64);
      this._buffered = 0;
    }
    const whole = offset + ((n - offset) & ~63);
    if (whole > offset) {
      this._compress(bytes, offset, whole);
      offset = whole;
    }
    if (offset < n) {
      this._buffer.set(bytes.subarray(offset), 0);
      this._buffered = n - offset;
    }
    return this;
  }

  /** Finishes the hash and returns the 32-byte digest. */
  digest() {
    if (!this._finished) {
      const bitsHigh = Math.floor(this._length / 0x20000000); // length * 8 / 2^32
      const bitsLow = (this._length * 8) >>> 0;
      const padLength = this._buffered < 56 ? 64 : 128;
      const pad = new Uint8Array(padLength);
      pad.set(this._buffer.subarray(0, this._buffered));
      pad[this._buffered] = 0x80;
      const view = new DataView(pad.buffer);
      view.setUint32(padLength - 8, bitsHigh);
      view.setUint32(padLength - 4, bitsLow);
      this._compress(pad, 0, padLength);
      this._finished = true;
      const out = new Uint8Array(32);
      const outView = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) outView.setUint32(i * 4, this._h[i] >>> 0);
      this._digest = out;
    }
    return this._digest.slice();
  }

  /** Finishes the hash and returns it as lowercase hex. */
  hex() {
    return toHex(this.digest());
  }

  /** Processes whole 64-byte blocks bytes[start..end). */
  _compress(bytes, start, end) {
    const w = this._w;
    const h = this._h;
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (let p = start; p < end; p += 64) {
      for (let i = 0; i < 16; i++) {
        const j = p + i * 4;
        w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
      }
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15];
        const y = w[i - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = (e & f) ^ (~e & g);
        const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (S0 + maj) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
  }
}

/** One-shot convenience: SHA-256 of bytes as lowercase hex. */
export function sha256Hex(data) {
  return new Sha256().update(data).hex();
}

export function toHex(bytes) {
  const b = toBytes(bytes);
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('Sha256: expected bytes');
}
