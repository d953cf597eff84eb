// One connection's sharing protocol (docs/sharing.md §5): the wire's state machine for one peer.
//
// Bytes in: handleMessage(bytes). Bytes out: transport.send(bytes). Everything the swarm needs
// to decide (availability, choking, a verified piece, a dropped peer) comes out as events through
// options.onEvent(type, detail, session). A protocol error never throws out of handleMessage: the
// session sends `error`, closes the transport and reports 'closed' with the reason.
//
// The item it shares is the swarm's: {cid, info (parsed, or null), has(i), haveCount,
// complete, bits(), readSealedPiece(i), proof(i)}; the last two only for pieces it has.

import { WireError } from './errors.js';
import {
  encodeMessage, decodeMessage, checkBitfield, bitfieldBytes, ERROR_CODES, ERROR_NAMES,
  NO_PIECE_COUNT, FLAG_HAS_INFO, FLAG_COMPLETE, MAX_INFO_CHUNK, BLOCK_SIZE, MAX_MAX_REQUESTS,
} from './wire.js';
import { verifyInfo } from './info.js';
import { leafHash, verifyProof, proofLength } from './merkle.js';
import { equalBytes } from './bytes.js';
import { MAX_PIECES } from './layout.js';

export const DEFAULT_MAX_REQUESTS = 64;

/** Bits of a bitfield. */
export function getBit(bits, i) {
  return (bits[i >> 3] & (0x80 >> (i & 7))) !== 0;
}

export function setBit(bits, i) {
  bits[i >> 3] |= 0x80 >> (i & 7);
}

function sealedLength(info, i) {
  const start = i * info.pieceSize;
  return Math.min(info.pieceSize, info.payloadLength - start) + 16;
}

export class ShareSession {
  /**
   * options: {item, transport: {send(bytes), close(), waitForDrain()?}, id, maxRequests,
   *           onEvent(type, detail, session), now()}
   */
  constructor(options) {
    this.item = options.item;
    this.transport = options.transport;
    this.id = options.id ?? '?';
    this.maxRequests = options.maxRequests ?? DEFAULT_MAX_REQUESTS;
    this.onEvent = options.onEvent ?? (() => {});
    this.now = options.now ?? (() => performance.now());

    this.state = 'new'; // new → open (both hellos) → closed
    this.closeReason = null;
    this.remote = null; // the remote hello: {flags, pieceCount, maxRequests}
    this.remoteBits = null; // what the remote has, once pieceCount is known
    this.remoteHaveCount = 0;
    this.wanted = 0; // pieces the remote has that the item lacks
    this.amChoking = true;
    this.amInterested = false;
    this.peerChoking = true;
    this.peerInterested = false;
    this.outstanding = new Map(); // our requests: piece → {sentAt, hashes, buffer, received}
    this.stats = { bytesDown: 0, bytesUp: 0, piecesDown: 0, piecesUp: 0 };
    this.lastPieceDataAt = -Infinity; // when a proof or block last came (stalls count only without any)

    this._helloSentWithCount = false;
    this._remoteKnowsCount = false;
    this._bitfieldSent = false;
    this._bitfieldReceived = false;
    this._pendingBits = null; // a bitfield that came before we knew pieceCount
    this._pendingHaves = new Set();
    // Pieces we cancelled: stray proofs and blocks for them are ignored. Asked again, the old and
    // new answers can interleave; both carry the same bytes at the same offsets, so a re-requested
    // piece is 'lax': it takes any proof and any block that continues it, and ignores the rest.
    this._cancelled = new Set();
    this._stray = new Map(); // piece → bytes of ignored blocks seen, to spot lies
    this._info = null; // incoming info block: {want, buffer, received}
    this._sendingInfo = false;
    this._uploads = []; // the remote's requests, in order
    this._uploading = null; // {piece, cancelled}
    this._pumping = false;
  }

  get pieceCount() {
    return this.item.info ? this.item.info.pieceCount : null;
  }

  /** True when the remote said it has the info block (hello flag bit 0). */
  get remoteHasInfo() {
    return !!this.remote && (this.remote.flags & FLAG_HAS_INFO) !== 0;
  }

  /** Sends our hello; call once the channel is open. */
  start() {
    if (this.state !== 'new' || this._helloSent) return;
    this._helloSent = true;
    const info = this.item.info;
    this._helloSentWithCount = !!info;
    this._send({
      type: 'hello',
      flags: (info ? FLAG_HAS_INFO : 0) | (info && this.item.complete ? FLAG_COMPLETE : 0),
      cid: this.item.cid,
      pieceCount: info ? info.pieceCount : NO_PIECE_COUNT,
      maxRequests: this.maxRequests,
    });
    this._maybeOpen();
  }

  // --- bytes in ------------------------------------------------------------------------------

  /** Handles one received message; never throws. */
  handleMessage(data) {
    if (this.state === 'closed') return;
    try {
      this._handle(decodeMessage(data));
    } catch (e) {
      if (e instanceof WireError) this.fail(e.wireCode, e.message, e.reason);
      else this.fail(ERROR_CODES.protocol, `internal error: ${e?.message ?? e}`, 'internal');
    }
  }

  _handle(msg) {
    if (!this.remote) {
      if (msg.type !== 'hello') throw new WireError('before-hello', `${msg.type} before hello`);
      return this._onHello(msg);
    }
    switch (msg.type) {
      case 'hello': throw new WireError('second-hello', 'a second hello');
      case 'bitfield': return this._onBitfield(msg.bits);
      case 'have': return this._onHave(msg.piece);
      case 'info-request': return this._onInfoRequest();
      case 'info': return this._onInfo(msg);
      case 'request': return this._onRequest(msg.piece);
      case 'proof':
        this.lastPieceDataAt = this.now();
        return this._onProof(msg);
      case 'piece':
        this.lastPieceDataAt = this.now();
        return this._onBlock(msg);
      case 'cancel': return this._onCancel(msg.piece);
      case 'reject': return this._onReject(msg.piece);
      case 'choke': return this._onChoke();
      case 'unchoke':
        this.peerChoking = false;
        return this._emit('unchoke');
      case 'interested':
        this._noteRemoteKnows();
        if (!this.peerInterested) {
          this.peerInterested = true;
          this._emit('interested', { interested: true });
        }
        return undefined;
      case 'not-interested':
        if (this.peerInterested) {
          this.peerInterested = false;
          this._emit('interested', { interested: false });
        }
        return undefined;
      case 'error':
        this._close(`the peer reported ${msg.name} (${msg.code})${msg.text ? `: ${msg.text}` : ''}`, { remoteError: msg });
        return undefined;
      default:
        throw new WireError('unknown-type', msg.type);
    }
  }

  _onHello(msg) {
    if (!equalBytes(msg.cid, this.item.cid)) throw new WireError('wrong-cid', 'hello for another item', ERROR_CODES['wrong-content']);
    const info = this.item.info;
    if (info && msg.pieceCount !== NO_PIECE_COUNT && msg.pieceCount !== info.pieceCount) {
      throw new WireError('wrong-piece-count', `hello with ${msg.pieceCount} pieces, the item has ${info.pieceCount}`, ERROR_CODES['wrong-content']);
    }
    this.remote = { flags: msg.flags, pieceCount: msg.pieceCount, maxRequests: msg.maxRequests };
    if (msg.pieceCount !== NO_PIECE_COUNT) this._remoteKnowsCount = true;
    this._maybeOpen();
  }

  _maybeOpen() {
    if (this.state !== 'new' || !this.remote || !this._helloSent) return;
    this.state = 'open';
    if (this.item.info) this._applyInfo();
    if (this.state !== 'open') return;
    this._emit('open');
    this._maybeSendBitfield();
  }

  _onBitfield(bits) {
    if (this._bitfieldReceived) throw new WireError('second-bitfield', 'a second bitfield');
    this._bitfieldReceived = true;
    this._noteRemoteKnows();
    if (this.pieceCount === null) {
      if (bits.length > bitfieldBytes(MAX_PIECES)) throw new WireError('too-long', 'bitfield too long');
      this._pendingBits = bits;
      return;
    }
    this._mergeBits(bits);
  }

  _mergeBits(bits) {
    const n = this.pieceCount;
    checkBitfield(bits, n);
    if (this.remote.pieceCount !== NO_PIECE_COUNT && this.remote.pieceCount !== n) {
      throw new WireError('wrong-piece-count', 'bitfield for another piece count', ERROR_CODES['wrong-content']);
    }
    const added = [];
    for (let i = 0; i < n; i++) {
      if (getBit(bits, i) && !getBit(this.remoteBits, i)) {
        setBit(this.remoteBits, i);
        added.push(i);
      }
    }
    this._addRemote(added);
  }

  _onHave(piece) {
    this._noteRemoteKnows();
    if (this.pieceCount === null) {
      if (piece >= MAX_PIECES) throw new WireError('bad-piece', `have ${piece}`);
      this._pendingHaves.add(piece);
      return;
    }
    if (piece >= this.pieceCount) throw new WireError('bad-piece', `have ${piece} of ${this.pieceCount}`);
    if (getBit(this.remoteBits, piece)) return;
    setBit(this.remoteBits, piece);
    this._addRemote([piece]);
  }

  _addRemote(pieces) {
    if (pieces.length === 0) return;
    this.remoteHaveCount += pieces.length;
    for (const i of pieces) if (!this.item.has(i)) this.wanted++;
    this._emit('have', { pieces });
    this._updateInterest();
  }

  _onInfoRequest() {
    if (!this.item.info) throw new WireError('no-info', 'info-request, but this peer said it has no info');
    if (this._sendingInfo) throw new WireError('second-info-request', 'info-request while the info is on its way');
    this._sendingInfo = true;
    this._sendInfo().catch((e) => this.fail(ERROR_CODES.protocol, `could not send the info: ${e.message}`, 'internal'));
  }

  async _sendInfo() {
    const bytes = this.item.info.bytes;
    for (let offset = 0; offset < bytes.length && this.state !== 'closed'; offset += MAX_INFO_CHUNK) {
      await this._drain();
      if (this.state === 'closed') return;
      this._send({ type: 'info', totalLength: bytes.length, offset, bytes: bytes.subarray(offset, Math.min(offset + MAX_INFO_CHUNK, bytes.length)) });
    }
    this._sendingInfo = false;
    this._noteRemoteKnows();
  }

  /** Asks this peer for the info block (the swarm picks whom to ask). */
  requestInfo() {
    if (this.state !== 'open' || this._info || this.item.info) return false;
    this._info = { want: true, buffer: null, received: 0, totalLength: 0 };
    this._send({ type: 'info-request' });
    return true;
  }

  get infoPending() {
    return !!this._info;
  }

  _onInfo(msg) {
    const st = this._info;
    if (!st || st.done) throw new WireError('unrequested-info', 'info that was not asked for');
    if (!st.buffer) {
      st.totalLength = msg.totalLength;
      st.buffer = new Uint8Array(msg.totalLength);
    }
    if (msg.totalLength !== st.totalLength) throw new WireError('info-length-changed', 'info chunks disagree on the total length');
    if (msg.offset !== st.received) throw new WireError('info-out-of-order', `an info chunk at ${msg.offset}, ${st.received} expected`);
    st.buffer.set(msg.bytes, msg.offset);
    st.received += msg.bytes.length;
    if (st.received < st.totalLength) return;
    st.done = true;
    verifyInfo(st.buffer, this.item.cid).then(
      (info) => {
        this._info = null;
        if (this.state !== 'closed') this._emit('info', { info });
      },
      (e) => this.fail(ERROR_CODES['wrong-content'], e.message, 'bad-info', { corrupt: true }));
  }

  /** The swarm learned the info block (from this peer or another): apply what waited for it. */
  infoKnown() {
    if (this.state !== 'open') return;
    this._applyInfo();
    this._maybeSendBitfield();
  }

  _applyInfo() {
    if (this.remoteBits) return;
    const n = this.pieceCount;
    try {
      if (this.remote.pieceCount !== NO_PIECE_COUNT && this.remote.pieceCount !== n) {
        throw new WireError('wrong-piece-count', `the peer's item has ${this.remote.pieceCount} pieces, this one ${n}`, ERROR_CODES['wrong-content']);
      }
      this.remoteBits = new Uint8Array(bitfieldBytes(n));
      const added = [];
      if (this.remote.flags & FLAG_COMPLETE) {
        for (let i = 0; i < n; i++) {
          setBit(this.remoteBits, i);
          added.push(i);
        }
      }
      this._addRemote(added);
      if (this._pendingBits) {
        const bits = this._pendingBits;
        this._pendingBits = null;
        this._mergeBits(bits);
      }
      const haves = [...this._pendingHaves];
      this._pendingHaves.clear();
      for (const p of haves) this._onHave(p);
    } catch (e) {
      if (e instanceof WireError) this.fail(e.wireCode, e.message, e.reason);
      else throw e;
    }
  }

  _noteRemoteKnows() {
    if (this._remoteKnowsCount) return;
    this._remoteKnowsCount = true;
    this._maybeSendBitfield();
  }

  _maybeSendBitfield() {
    if (this.state !== 'open' || this._bitfieldSent || !this.item.info) return;
    // A peer that learned the info block after its hello (from another peer) has no other way to
    // say it now knows the piece count: it sends its bitfield, even an empty one, at once, and
    // the other side keeps it until it knows the count too. Without this, two peers that both
    // started without the info would never exchange haves (docs/sharing.md §5 leaves it open).
    if (!this._remoteKnowsCount && this._helloSentWithCount) return;
    this._bitfieldSent = true;
    if (this.item.haveCount > 0 || !this._helloSentWithCount) this._send({ type: 'bitfield', bits: this.item.bits() });
    this._updateInterest();
  }

  /** The item completed piece i: tell the peer, and reconsider interest. */
  announce(piece) {
    if (this.state !== 'open') return;
    if (this.remoteBits && getBit(this.remoteBits, piece)) this.wanted--;
    if (this._bitfieldSent) this._send({ type: 'have', piece });
    else this._maybeSendBitfield();
    this._updateInterest();
  }

  _updateInterest() {
    if (this.state !== 'open') return;
    const want = this.wanted > 0 && !this.item.complete;
    if (want === this.amInterested) return;
    this.amInterested = want;
    this._send({ type: want ? 'interested' : 'not-interested' });
  }

  // --- downloading ---------------------------------------------------------------------------

  /** True when a request may go out now (unchoked, below the peer's maxRequests and `depth`). */
  canRequest(depth = Infinity) {
    return this.state === 'open' && !this.peerChoking && !!this.remoteBits &&
      this.outstanding.size < Math.min(this.remote.maxRequests, depth);
  }

  remoteHas(i) {
    return !!this.remoteBits && getBit(this.remoteBits, i);
  }

  /** Requests piece i; false when it may not be asked of this peer now. */
  request(i) {
    if (!this.canRequest() || this.outstanding.has(i) || !this.remoteHas(i)) return false;
    this.outstanding.set(i, { sentAt: this.now(), hashes: null, buffer: null, received: 0, lax: this._cancelled.has(i) });
    this._send({ type: 'request', piece: i });
    return true;
  }

  /** Withdraws request i (stray blocks for it are ignored afterwards). */
  cancel(i) {
    if (!this.outstanding.delete(i)) return;
    this._cancelled.add(i);
    if (this.state === 'open') this._send({ type: 'cancel', piece: i });
  }

  /** Whether piece i may be asked of this peer (it has it, and it is not outstanding here). */
  mayRequest(i) {
    return !this.outstanding.has(i) && this.remoteHas(i);
  }

  _onProof(msg) {
    const r = this.outstanding.get(msg.piece);
    if (!r) {
      if (this._cancelled.has(msg.piece)) return this._stray.set(msg.piece, 0);
      throw new WireError('unrequested-proof', `proof for piece ${msg.piece}, which was not requested`);
    }
    if (r.hashes && !r.lax) throw new WireError('second-proof', `a second proof for piece ${msg.piece}`);
    if (msg.hashes.length !== proofLength(msg.piece, this.pieceCount)) {
      this.fail(ERROR_CODES['corrupt-piece'], `a proof of ${msg.hashes.length} hashes for piece ${msg.piece}`, 'bad-proof', { corrupt: true, piece: msg.piece });
      return undefined;
    }
    r.hashes = msg.hashes;
    r.buffer ??= new Uint8Array(sealedLength(this.item.info, msg.piece));
    if (r.received === r.buffer.length) this._complete(msg.piece, r); // lax: the blocks came first
    return undefined;
  }

  _onBlock(msg) {
    const r = this.outstanding.get(msg.piece);
    if (!r) {
      if (this._cancelled.has(msg.piece)) {
        const seen = this._stray.get(msg.piece) ?? 0;
        if (this.pieceCount !== null && msg.piece < this.pieceCount && seen + msg.bytes.length <= sealedLength(this.item.info, msg.piece)) {
          this._stray.set(msg.piece, seen + msg.bytes.length);
          return undefined;
        }
      }
      throw new WireError('unrequested-piece', `a block of piece ${msg.piece}, which was not requested`);
    }
    if (!r.hashes && !r.lax) throw new WireError('block-before-proof', `a block of piece ${msg.piece} before its proof`);
    r.buffer ??= new Uint8Array(sealedLength(this.item.info, msg.piece));
    if (msg.bytes.length === 0 || msg.offset + msg.bytes.length > r.buffer.length) throw new WireError('block-too-long', `piece ${msg.piece} is longer than it can be`);
    if (msg.offset !== r.received) {
      if (r.lax) return undefined; // the other answer's block, not one that continues this piece
      throw new WireError('block-out-of-order', `a block of piece ${msg.piece} at ${msg.offset}, ${r.received} expected`);
    }
    r.buffer.set(msg.bytes, msg.offset);
    r.received += msg.bytes.length;
    this.stats.bytesDown += msg.bytes.length;
    this._emit('bytes', { down: msg.bytes.length });
    if (r.received < r.buffer.length || !r.hashes) return undefined; // lax: the proof may come last
    this._complete(msg.piece, r);
    return undefined;
  }

  _complete(piece, r) {
    this.outstanding.delete(piece);
    this._verify(piece, r);
  }

  async _verify(piece, r) {
    const info = this.item.info;
    const leaf = await leafHash(r.buffer);
    if (this.state === 'closed') return;
    if (!verifyProof(leaf, piece, info.pieceCount, r.hashes, info.piecesRoot)) {
      this.fail(ERROR_CODES['corrupt-piece'], `piece ${piece} does not match the content id`, 'corrupt-piece', { corrupt: true, piece });
      return;
    }
    this.stats.piecesDown++;
    this._emit('piece', { piece, sealed: r.buffer, proof: r.hashes, elapsed: this.now() - r.sentAt });
  }

  _onReject(piece) {
    if (!this.outstanding.delete(piece)) return; // already cancelled or never asked: harmless
    this._emit('reject', { piece });
  }

  _onChoke() {
    this.peerChoking = true;
    // The uploader sends nothing more for the requests it discards, so nothing stray follows.
    const dropped = [...this.outstanding.keys()];
    this.outstanding.clear();
    this._cancelled.clear();
    this._stray.clear();
    this._emit('choke', { dropped });
  }

  // --- uploading -----------------------------------------------------------------------------

  /** Chokes (true) or unchokes (false) the peer. Choking discards its requests. */
  setChoking(choke) {
    if (this.state !== 'open' || choke === this.amChoking) return;
    this.amChoking = choke;
    if (choke) {
      this._uploads = [];
      if (this._uploading) this._uploading.cancelled = true;
    }
    this._send({ type: choke ? 'choke' : 'unchoke' });
  }

  get uploadsQueued() {
    return this._uploads.length + (this._uploading && !this._uploading.cancelled ? 1 : 0);
  }

  _onRequest(piece) {
    this._noteRemoteKnows();
    if (this.uploadsQueued >= this.maxRequests) throw new WireError('too-many-requests', `more than ${this.maxRequests} requests outstanding`);
    if (this.amChoking || this.pieceCount === null || piece >= this.pieceCount || !this.item.has(piece)) {
      this._send({ type: 'reject', piece });
      return;
    }
    this._uploads.push(piece);
    this._pumpUploads();
  }

  _onCancel(piece) {
    const k = this._uploads.indexOf(piece);
    if (k >= 0) this._uploads.splice(k, 1);
    else if (this._uploading && this._uploading.piece === piece) this._uploading.cancelled = true;
  }

  async _pumpUploads() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (this.state === 'open' && this._uploads.length > 0) {
        const piece = this._uploads.shift();
        const job = { piece, cancelled: false };
        this._uploading = job;
        let sealed;
        let proof;
        try {
          [sealed, proof] = await Promise.all([this.item.readSealedPiece(piece), this.item.proof(piece)]);
        } catch (e) {
          this._emit('upload-error', { piece, message: e.message });
          if (!job.cancelled && this.state === 'open') this._send({ type: 'reject', piece });
          continue;
        }
        if (job.cancelled || this.state !== 'open') continue;
        this._send({ type: 'proof', piece, hashes: proof });
        for (let offset = 0; offset < sealed.length; offset += BLOCK_SIZE) {
          await this._drain();
          if (job.cancelled || this.state !== 'open') break;
          const block = sealed.subarray(offset, Math.min(offset + BLOCK_SIZE, sealed.length));
          this._send({ type: 'piece', piece, offset, bytes: block });
          this.stats.bytesUp += block.length;
          this._emit('bytes', { up: block.length });
        }
        if (!job.cancelled) this.stats.piecesUp++;
      }
    } finally {
      this._uploading = null;
      this._pumping = false;
    }
  }

  // --- closing -------------------------------------------------------------------------------

  /** Sends `error` with `code` and closes; the swarm hears 'closed' with the reason. */
  fail(code, text, reason = ERROR_NAMES[code] ?? 'error', extra = {}) {
    if (this.state === 'closed') return;
    try {
      this.transport.send(encodeMessage({ type: 'error', code, text: String(text ?? '') }));
    } catch { /* the channel may be gone already */ }
    this._close(text, { code, reason, sent: true, ...extra });
  }

  /** The transport closed (or the swarm drops the peer without a word). */
  close(reason = 'closed') {
    this._close(reason, {});
  }

  _close(message, detail) {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = message;
    const pending = [...this.outstanding.keys()];
    this.outstanding.clear();
    this._uploads = [];
    if (this._uploading) this._uploading.cancelled = true;
    try { this.transport.close(); } catch { /* ignore */ }
    this._emit('closed', { message, pending, ...detail });
  }

  // --- plumbing ------------------------------------------------------------------------------

  _send(msg) {
    if (this.state === 'closed') return;
    try {
      this.transport.send(encodeMessage(msg));
    } catch (e) {
      this._close(`could not send: ${e.message}`, { reason: 'send-failed' });
    }
  }

  _drain() {
    return this.transport.waitForDrain ? this.transport.waitForDrain() : Promise.resolve();
  }

  _emit(type, detail = {}) {
    try {
      this.onEvent(type, detail, this);
    } catch (e) {
      console.error('sharing: event handler failed', type, e);
    }
  }
}

export { MAX_MAX_REQUESTS };
