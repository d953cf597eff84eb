// The file transfer protocol spoken over the reliable, ordered "files" data channel.
//
// Receiver → sender first, once its side of the channel is open (repeated every few seconds
// until the manifest arrives, so the start never hinges on who saw the channel open first):
//   {"type":"ready","version":1}
// Sender → receiver (JSON text messages, plus binary chunks), after the first "ready":
//   {"type":"manifest","version":1,"blockSize":1048576,"files":[{"name","size","type","lastModified"}]}
//   {"type":"block","file":i,"block":b,"size":n,"sha256":"<hex of these n bytes>"}
//      followed by binary messages (chunks of at most 64 KiB) that add up to exactly n bytes
//   {"type":"file-end","file":i,"sha256":"<hex of the whole file>"}
//   {"type":"end"}                          all files sent
//   {"type":"cancel"}                       the sender stopped this transfer
// Receiver → sender:
//   {"type":"accept"} | {"type":"reject","message":"…"}   answer to the manifest
//   {"type":"ack","bytes":n}                n bytes in total are verified and stored
//   {"type":"file-ok","file":i}             file i is complete and its SHA-256 matched
//   {"type":"complete"}                     every file arrived intact
// Either side:
//   {"type":"error","code":"checksum-mismatch"|"protocol","message":"…"}
//
// Flow control: the sender keeps the channel's bufferedAmount under HIGH_WATER (waiting for
// 'bufferedamountlow'), and never has more than WINDOW bytes sent but not yet acknowledged,
// so a slow disk on the receiving side slows the sender instead of filling the receiver's memory.
// Blocks are checked with WebCrypto as they arrive; the whole file with the incremental
// SHA-256 of sha256.js, because WebCrypto cannot hash a multi-gigabyte file piece by piece.

import { Sha256, toHex } from './sha256.js';

export const PROTOCOL_VERSION = 1;
export const BLOCK_SIZE = 1024 * 1024;
export const CHUNK_SIZE = 64 * 1024;
export const HIGH_WATER = 4 * 1024 * 1024;
export const LOW_WATER = 1024 * 1024;
export const WINDOW = 16 * 1024 * 1024;
const MAX_FILES = 10000;
const READY_INTERVAL_MS = 3000;
const MAX_BLOCK_SIZE = 16 * 1024 * 1024;

export async function blockDigestHex(bytes) {
  if (globalThis.crypto?.subtle) {
    return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
  }
  return new Sha256().update(bytes).hex(); // insecure contexts have no WebCrypto
}

export class TransferError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Measures a rate over a sliding window of samples. */
export class RateMeter {
  constructor(windowMs = 3000) {
    this.windowMs = windowMs;
    this.samples = [];
  }

  add(totalBytes, now = performance.now()) {
    this.samples.push([now, totalBytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or 0 when unknown. */
  rate() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }
}

class Waiter {
  constructor() {
    this._wakers = [];
  }

  wake() {
    const w = this._wakers;
    this._wakers = [];
    for (const f of w) f();
  }

  next() {
    return new Promise((resolve) => this._wakers.push(resolve));
  }
}

function send(peer, msg) {
  peer.send(JSON.stringify(msg));
}

// ---------------------------------------------------------------------------------------------

/**
 * Sends files to one receiver over a connected Peer.
 * Events: progress {bytesAcked, bytesSent, totalBytes}, complete, cancelled, error {code, message}
 */
export class FileSender extends EventTarget {
  constructor(peer, files, options = {}) {
    super();
    this.peer = peer;
    this.files = files;
    this.blockSize = options.blockSize ?? BLOCK_SIZE;
    this.chunkSize = options.chunkSize ?? CHUNK_SIZE;
    this.highWater = options.highWater ?? HIGH_WATER;
    this.window = options.window ?? WINDOW;
    this.totalBytes = files.reduce((s, f) => s + f.size, 0);
    this.bytesSent = 0;
    this.bytesAcked = 0;
    this.state = 'idle'; // sending | complete | cancelled | failed
    this._accepted = null; // true/false once answered
    this._ready = false; // the receiver said it listens
    this._completeReceived = false;
    this._waiter = new Waiter();
    this._error = null;

    this._onData = (ev) => this._handle(ev.detail.data);
    this._onClose = () => this._failNow(new TransferError('peer-closed', 'the receiver closed the connection'));
    peer.addEventListener('data', this._onData);
    peer.addEventListener('close', this._onClose);
  }

  async start() {
    if (this.state !== 'idle') return;
    this.state = 'sending';
    const channel = this.peer.channel;
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener('bufferedamountlow', () => this._waiter.wake());
    const maxMessage = this.peer.pc.sctp?.maxMessageSize;
    if (maxMessage && maxMessage > 0 && maxMessage < this.chunkSize) this.chunkSize = maxMessage;
    try {
      await this._until(() => this._ready);
      send(this.peer, {
        type: 'manifest',
        version: PROTOCOL_VERSION,
        blockSize: this.blockSize,
        files: this.files.map((f) => ({ name: f.name, size: f.size, type: f.type || '', lastModified: f.lastModified || 0 })),
      });
      await this._until(() => this._accepted !== null);
      if (!this._accepted) throw new TransferError('rejected', `the receiver cannot take these files: ${this._rejectMessage}`);
      for (let i = 0; i < this.files.length; i++) await this._sendFile(i);
      send(this.peer, { type: 'end' });
      await this._until(() => this._completeReceived);
      this.state = 'complete';
      this._emit('complete', {});
      this._detach();
    } catch (e) {
      this._failNow(e instanceof TransferError ? e : new TransferError('send-failed', e.message));
    }
  }

  /**
   * Ends the transfer with an error, once: reported at once (not when the sending loop next
   * wakes up), so a receiver's error message is not overtaken by the close that follows it.
   */
  _failNow(err) {
    this._abort(err);
    if (this.state === 'cancelled' || this.state === 'failed' || this.state === 'complete') return;
    this.state = 'failed';
    this._emit('error', { code: err.code, message: err.message });
    this._detach();
    this.peer.destroy();
  }

  /** Stops the transfer, tells the receiver, then closes the connection. */
  async cancel() {
    if (this.state === 'complete' || this.state === 'cancelled' || this.state === 'failed') return;
    this.state = 'cancelled';
    this._abort(new TransferError('cancelled', 'cancelled'));
    try {
      send(this.peer, { type: 'cancel' });
    } catch { /* channel already gone */ }
    this._emit('cancelled', {});
    // Give the cancel message (queued behind data already buffered) a moment to get out; the
    // receiver closes the channel when it reads it.
    const channel = this.peer.channel;
    const deadline = performance.now() + 3000;
    while (channel && channel.readyState === 'open' && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this._detach();
    this.peer.destroy();
  }

  async _sendFile(index) {
    const file = this.files[index];
    const hash = new Sha256();
    const blocks = Math.ceil(file.size / this.blockSize);
    let next = blocks > 0 ? this._read(file, 0) : null;
    for (let b = 0; b < blocks; b++) {
      const bytes = await next;
      next = b + 1 < blocks ? this._read(file, b + 1) : null; // read ahead while this one goes out
      const digest = await blockDigestHex(bytes);
      hash.update(bytes);
      // Wait until the receiver has acknowledged enough to keep WINDOW bytes in flight at most.
      await this._until(() => this.bytesSent - this.bytesAcked + bytes.length <= this.window || this.bytesSent === this.bytesAcked);
      send(this.peer, { type: 'block', file: index, block: b, size: bytes.length, sha256: digest });
      for (let off = 0; off < bytes.length; off += this.chunkSize) {
        await this._until(() => this.peer.channel.bufferedAmount <= this.highWater);
        const chunk = bytes.subarray(off, Math.min(off + this.chunkSize, bytes.length));
        this.peer.send(chunk);
        this.bytesSent += chunk.length;
      }
      this._progress();
    }
    send(this.peer, { type: 'file-end', file: index, sha256: hash.hex() });
  }

  _read(file, block) {
    const start = block * this.blockSize;
    const end = Math.min(start + this.blockSize, file.size);
    const reading = file.slice(start, end).arrayBuffer().then(
      (buffer) => new Uint8Array(buffer),
      (e) => {
        throw new TransferError('read-failed', `could not read “${file.name}” (was it moved or changed?): ${e.message}`);
      });
    reading.catch(() => {}); // a read ahead may be abandoned when the transfer stops; awaiting it still throws
    return reading;
  }

  _handle(data) {
    if (typeof data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg?.type) {
      case 'ready':
        this._ready = true;
        this._waiter.wake();
        break;
      case 'accept':
        this._accepted = true;
        break;
      case 'reject':
        this._accepted = false;
        this._rejectMessage = String(msg.message ?? 'no reason given');
        break;
      case 'ack':
        if (Number.isSafeInteger(msg.bytes) && msg.bytes > this.bytesAcked) {
          this.bytesAcked = Math.min(msg.bytes, this.bytesSent);
          this._progress();
        }
        break;
      case 'complete':
        this.bytesAcked = this.totalBytes;
        this._completeReceived = true;
        this._progress();
        break;
      case 'error':
        this._failNow(new TransferError(String(msg.code ?? 'remote-error'), `the receiver reported: ${msg.message ?? msg.code}`));
        break;
      default:
        break;
    }
    this._waiter.wake();
  }

  async _until(predicate) {
    // Bounded by the transfer itself: every wake-up comes from the channel or the receiver,
    // and a closed connection aborts the wait.
    while (!predicate()) {
      if (this._error) throw this._error;
      await this._waiter.next();
    }
    if (this._error) throw this._error;
  }

  _abort(err) {
    if (!this._error) this._error = err;
    this._waiter.wake();
  }

  _progress() {
    this._emit('progress', { bytesAcked: this.bytesAcked, bytesSent: this.bytesSent, totalBytes: this.totalBytes });
  }

  _detach() {
    this.peer.removeEventListener('data', this._onData);
    this.peer.removeEventListener('close', this._onClose);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Receives files from one sender over a connected Peer into `storage` (see storage.js).
 * Events: manifest {files}, file-progress {file, received, size}, file-verified {file, sha256, blob},
 *         complete, cancelled, error {code, message}
 */
export class FileReceiver extends EventTarget {
  constructor(peer, storage) {
    super();
    this.peer = peer;
    this.storage = storage;
    this.manifest = null;
    this.state = 'waiting'; // receiving | complete | cancelled | failed
    this.bytesVerified = 0;

    this._queue = [];
    this._pumping = false;
    this._file = -1; // index of the file being received
    this._sink = null;
    this._hash = null;
    this._fileReceived = 0; // bytes of the current file received
    this._nextBlock = 0;
    this._block = null; // {bytes, filled, sha256}
    this._verified = [];

    this._onData = (ev) => {
      if (this.finished) return;
      this._queue.push(ev.detail.data);
      if (!this._pumping) this._pump();
    };
    peer.addEventListener('data', this._onData);
    this._onConnect = () => this._sayReady();
    peer.addEventListener('connect', this._onConnect);
    if (peer.connected) this._sayReady();
  }

  /** Tells the sender this side listens; again every few seconds until the manifest comes. */
  _sayReady() {
    if (this.manifest || this.finished || this._readyTimer) return;
    const say = () => {
      if (this.manifest || this.finished) {
        clearInterval(this._readyTimer);
        return;
      }
      try {
        send(this.peer, { type: 'ready', version: PROTOCOL_VERSION });
      } catch { /* not open (yet, or any more): the next tick or the connection's end decides */ }
    };
    say();
    this._readyTimer = setInterval(say, READY_INTERVAL_MS);
  }

  get finished() {
    return this.state === 'complete' || this.state === 'cancelled' || this.state === 'failed';
  }

  async _pump() {
    this._pumping = true;
    try {
      while (this._queue.length > 0 && !this.finished) {
        const data = this._queue.shift();
        await this._handle(data);
      }
    } catch (e) {
      const err = e instanceof TransferError ? e : new TransferError('receive-failed', e.message);
      this._fail(err, true);
    } finally {
      this._pumping = false;
    }
  }

  async _handle(data) {
    if (typeof data !== 'string') {
      this._onChunk(new Uint8Array(data));
      if (this._block && this._block.filled === this._block.bytes.length) await this._finishBlock();
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      throw new TransferError('protocol', 'the sender sent an unreadable message');
    }
    switch (msg?.type) {
      case 'manifest':
        return this._onManifest(msg);
      case 'block':
        return this._onBlock(msg);
      case 'file-end':
        return this._onFileEnd(msg);
      case 'end':
        if (this._verified.filter(Boolean).length !== this.manifest?.files.length) {
          throw new TransferError('protocol', 'the sender ended before sending every file');
        }
        this.state = 'complete';
        send(this.peer, { type: 'complete' });
        this._emit('complete', {});
        return;
      case 'cancel':
        this.state = 'cancelled';
        await this._sink?.abort();
        this._emit('cancelled', {});
        this.peer.destroy();
        return;
      case 'error':
        this._fail(new TransferError(String(msg.code ?? 'remote-error'), `the sender reported: ${msg.message ?? msg.code}`), false);
        return;
      default:
        return; // unknown messages are ignored
    }
  }

  async _onManifest(msg) {
    if (this.manifest) throw new TransferError('protocol', 'the sender sent a second manifest');
    const files = Array.isArray(msg.files) ? msg.files : null;
    const okFile = (f) => f && typeof f.name === 'string' && Number.isSafeInteger(f.size) && f.size >= 0;
    if (msg.version !== PROTOCOL_VERSION || !files || files.length === 0 || files.length > MAX_FILES || !files.every(okFile)
      || !Number.isSafeInteger(msg.blockSize) || msg.blockSize < 1 || msg.blockSize > MAX_BLOCK_SIZE) {
      throw new TransferError('protocol', 'the sender’s file list is not valid (a different version of PeerNet?)');
    }
    this.manifest = {
      blockSize: msg.blockSize,
      files: files.map((f) => ({
        name: safeName(f.name),
        size: f.size,
        type: typeof f.type === 'string' ? f.type : '',
        lastModified: Number.isFinite(f.lastModified) ? f.lastModified : 0,
      })),
    };
    this._emit('manifest', { files: this.manifest.files });
    try {
      await this.storage.prepare(this.manifest);
    } catch (e) {
      send(this.peer, { type: 'reject', message: e.message });
      throw new TransferError('storage', e.message);
    }
    this.state = 'receiving';
    send(this.peer, { type: 'accept' });
  }

  async _startFile(index) {
    if (!this.manifest) throw new TransferError('protocol', 'data arrived before the file list');
    if (index !== this._file + 1 || index >= this.manifest.files.length) {
      throw new TransferError('protocol', `the sender skipped to file ${index}`);
    }
    this._file = index;
    this._hash = new Sha256();
    this._fileReceived = 0;
    this._nextBlock = 0;
    this._sink = await this.storage.createSink(index, this.manifest.files[index]);
  }

  async _onBlock(msg) {
    if (this._block) throw new TransferError('protocol', 'a block started before the previous one was complete');
    if (msg.file !== this._file) await this._startFile(msg.file);
    const meta = this.manifest.files[this._file];
    const offset = this._nextBlock * this.manifest.blockSize;
    const expected = Math.min(this.manifest.blockSize, meta.size - offset);
    if (msg.block !== this._nextBlock || msg.size !== expected || expected <= 0 || typeof msg.sha256 !== 'string') {
      throw new TransferError('protocol', `unexpected block ${msg.block} of “${meta.name}”`);
    }
    this._block = { bytes: new Uint8Array(expected), filled: 0, sha256: msg.sha256.toLowerCase() };
  }

  _onChunk(bytes) {
    const block = this._block;
    if (!block) throw new TransferError('protocol', 'data arrived outside a block');
    if (block.filled + bytes.length > block.bytes.length) throw new TransferError('protocol', 'a block was longer than announced');
    block.bytes.set(bytes, block.filled);
    block.filled += bytes.length;
    this._fileReceived += bytes.length;
    const meta = this.manifest.files[this._file];
    this._emit('file-progress', { file: this._file, received: this._fileReceived, size: meta.size });
  }

  async _finishBlock() {
    const block = this._block;
    this._block = null;
    const meta = this.manifest.files[this._file];
    const digest = await blockDigestHex(block.bytes);
    if (digest !== block.sha256) {
      throw new TransferError('checksum-mismatch',
        `Checksum mismatch in “${meta.name}” (block ${this._nextBlock}): the data was damaged on the way. Nothing was saved; please try again.`);
    }
    await this._sink.write(block.bytes);
    this._hash.update(block.bytes);
    this._nextBlock++;
    this.bytesVerified += block.bytes.length;
    send(this.peer, { type: 'ack', bytes: this.bytesVerified });
  }

  async _onFileEnd(msg) {
    if (this._block) throw new TransferError('protocol', 'a file ended in the middle of a block');
    if (msg.file !== this._file) await this._startFile(msg.file); // an empty file has no blocks
    const meta = this.manifest.files[this._file];
    if (this._fileReceived !== meta.size) throw new TransferError('protocol', `“${meta.name}” ended early`);
    const actual = this._hash.hex();
    if (typeof msg.sha256 !== 'string' || actual !== msg.sha256.toLowerCase()) {
      await this._sink.abort();
      this._sink = null;
      throw new TransferError('checksum-mismatch',
        `Checksum mismatch: “${meta.name}” has SHA-256 ${actual}, but the sender’s file has ${msg.sha256}. It was not saved; please try again.`);
    }
    const blob = await this._sink.close();
    this._sink = null;
    this._verified[this._file] = true;
    send(this.peer, { type: 'file-ok', file: this._file });
    this._emit('file-verified', { file: this._file, sha256: actual, blob });
  }

  _fail(err, tellSender) {
    if (this.finished) return;
    this.state = 'failed';
    this._sink?.abort();
    if (tellSender) {
      try { send(this.peer, { type: 'error', code: err.code, message: err.message }); } catch { /* gone */ }
    }
    this._emit('error', { code: err.code, message: err.message });
    // Let the error message reach the sender before closing.
    setTimeout(() => this.peer.destroy(), 500);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A file name safe to offer for download: no path separators or control characters. */
export function safeName(name) {
  const cleaned = String(name).replace(/[\u0000-\u001f\u007f/\\]/g, '_').replace(/^\.+/, '_').trim().slice(0, 255);
  return cleaned || 'file';
}
