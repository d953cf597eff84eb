// What a good peer does with many connections at once (docs/sharing.md §5, §6): which piece to
// ask whom for (sequential window, then rarest first, then endgame duplicates with cancels),
// how many to keep in flight per peer, stalls, corrupt peers, and whom to upload to (upload
// slots, preferring peers that upload to us, plus an optimistic unchoke every 30 s).
//
// It knows no network: connections come in as transports (addConnection) and each becomes a
// ShareSession. Storage is the caller's:
//   storage = {have: Uint8Array bitfield, readSealedPiece(i), proof(i), writePiece?(i, sealed, proof)}
// A seeder passes {info, storage}; a downloader passes prepare(info) → storage, called once the
// info block has arrived and been verified (it may throw, e.g. 'bad-manifest' or 'wrong-key',
// which stops the swarm before anything is written).
//
// Events (CustomEvent detail): info {info}, have {piece, haveCount, pieceCount}, complete,
// peers {count}, peer-open {id, session}, peer-closed {id, session, ...the close's detail},
// peer-dropped {id, reason, message, corrupt}, error {error}, stats {...}.

import { ShareSession, getBit, setBit, DEFAULT_MAX_REQUESTS } from './session.js';
import { ERROR_CODES, bitfieldBytes } from './wire.js';
import { SharingError } from './errors.js';

export const DEFAULT_UPLOAD_SLOTS = 8;
export const MAX_CONNECTIONS = 30;
export const START_PIPELINE = 2;
export const MAX_PIPELINE = 32;
export const STALL_MS = 30000;
export const MIN_STALL_MS = 5000;
export const STALLS_TO_DROP = 3;
export const RECHOKE_MS = 10000;
export const OPTIMISTIC_MS = 30000;
export const INFO_TIMEOUT_MS = 30000;
// A connected peer whose hello has not come by then is dropped: the channel works but the session
// never started, and holding it would keep the slot (and the room's redial) from a working one.
export const HELLO_TIMEOUT_MS = 10000;
export const MAX_ENDGAME_COPIES = 3;
export const TICK_MS = 1000;
// While a stream waits for pieces in its priority window, each peer keeps at most this many other
// requests in flight, so a priority piece never queues behind a deep pipeline of others.
export const STREAMING_OTHER_REQUESTS = 2;
// Verified pieces waiting for the store (each holds a piece in memory): beyond this no new requests
// go out until writes finish, so storage slower than the network (a busy disk, a store worker still
// starting) slows the download instead of filling memory at the network's rate.
export const MAX_PIECES_AWAITING_STORE = 16;

export class Swarm extends EventTarget {
  constructor(options) {
    super();
    this.cid = options.cid;
    this.prepare = options.prepare ?? null;
    this.uploadSlots = options.uploadSlots ?? DEFAULT_UPLOAD_SLOTS;
    this.maxRequests = options.maxRequests ?? DEFAULT_MAX_REQUESTS;
    this.maxPipeline = options.maxPipeline ?? MAX_PIPELINE;
    this.stallMs = options.stallMs ?? STALL_MS;
    this.minStallMs = options.minStallMs ?? MIN_STALL_MS;
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.helloTimeoutMs = options.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.log = options.log ?? (() => {});

    this.state = 'running';
    this.error = null;
    this.storage = null;
    this.sessions = new Set();
    this.avail = null; // per piece: how many connected peers have it
    this.requests = new Map(); // piece → Set of sessions asked
    this.storing = new Set();
    this.priority = null; // {from, count}
    this.totals = { bytesDown: 0, bytesUp: 0, downRate: 0, upRate: 0 };
    this._window = { down: 0, up: 0, at: this.now() };
    this._peerState = new Map(); // session → {depth, stalls, avgMs, downRecent, infoAskedAt, addedAt, lastStallAt}
    this._optimistic = null;
    this._lastRechoke = this.now();
    this._lastOptimistic = this.now() - OPTIMISTIC_MS;
    this._acceptingInfo = false;

    const swarm = this;
    this.item = {
      cid: this.cid,
      info: null,
      bitsArray: null,
      haveCount: 0,
      get complete() {
        return !!this.info && this.haveCount === this.info.pieceCount;
      },
      has(i) {
        return !!this.bitsArray && getBit(this.bitsArray, i);
      },
      bits() {
        return this.bitsArray.slice();
      },
      readSealedPiece(i) {
        return swarm.storage.readSealedPiece(i);
      },
      proof(i) {
        return swarm.storage.proof(i);
      },
    };
    if (options.info) this._setInfo(options.info, options.storage);
    this._timer = options.timers === false ? null : setInterval(() => this.tick(), TICK_MS);
  }

  /** Pieces of the item, or null before the info block is known. */
  get pieceCount() {
    return this.item.info ? this.item.info.pieceCount : null;
  }

  get complete() {
    return this.item.complete;
  }

  get connectionCount() {
    return this.sessions.size;
  }

  /** Whether another connection is welcome (the limit is 30 per swarm). */
  canConnect() {
    return this.state === 'running' && this.sessions.size < this.maxConnections;
  }

  /**
   * Adds an open connection; transport = {send(bytes), close(), waitForDrain()}. Returns the
   * session: feed it every received message with session.handleMessage(bytes), and call
   * session.close() when the transport closes.
   */
  addConnection(transport, id = '?') {
    const session = new ShareSession({
      item: this.item,
      transport,
      id,
      maxRequests: this.maxRequests,
      now: this.now,
      onEvent: (type, detail, s) => this._onSessionEvent(type, detail, s),
    });
    if (this.state !== 'running') {
      session.fail(ERROR_CODES['shutting-down'], 'this peer is stopping');
      return session;
    }
    this.sessions.add(session);
    this._peerState.set(session, { depth: START_PIPELINE, stalls: 0, avgMs: 0, downRecent: 0, infoAskedAt: 0, addedAt: this.now(), lastStallAt: -Infinity });
    session.start();
    this._emit('peers', { count: this.sessions.size });
    return session;
  }

  /** Streaming: fetch pieces [from, from + count) first (null turns it off). */
  setPriority(from, count = 8) {
    this.priority = from === null || from === undefined ? null : { from, count };
    this._schedule();
  }

  /** Stops: tells every peer (error 5 shutting-down) and closes the connections. */
  stop(reason = 'stopped') {
    if (this.state !== 'running') return;
    this.state = 'stopped';
    clearInterval(this._timer);
    for (const s of [...this.sessions]) s.fail(ERROR_CODES['shutting-down'], reason);
  }

  /** Per peer, for display. */
  peers() {
    return [...this.sessions].map((s) => ({
      id: s.id,
      has: s.remoteHaveCount,
      choking: s.peerChoking,
      choked: s.amChoking,
      interested: s.peerInterested,
      outstanding: s.outstanding.size,
      bytesDown: s.stats.bytesDown,
      bytesUp: s.stats.bytesUp,
    }));
  }

  // --- time ----------------------------------------------------------------------------------

  /** Runs the periodic work (stalls, rates, rechoking); the timer calls it every second. */
  tick(now = this.now()) {
    if (this.state !== 'running') return;
    const dt = Math.max(1, now - this._window.at);
    const alpha = Math.min(1, dt / 3000);
    this.totals.downRate += alpha * ((this._window.down * 1000) / dt - this.totals.downRate);
    this.totals.upRate += alpha * ((this._window.up * 1000) / dt - this.totals.upRate);
    this._window = { down: 0, up: 0, at: now };
    this._checkHellos(now);
    this._checkStalls(now);
    this._maybeRequestInfo(now);
    if (now - this._lastRechoke >= RECHOKE_MS) this._rechoke(now);
    this._emit('stats', { ...this.totals, peers: this.sessions.size, haveCount: this.item.haveCount, pieceCount: this.pieceCount });
  }

  _checkHellos(now) {
    for (const s of [...this.sessions]) {
      const ps = this._peerState.get(s);
      if (ps && s.state === 'new' && now - ps.addedAt > this.helloTimeoutMs) {
        this._drop(s, 'no-hello', `no hello within ${Math.round(this.helloTimeoutMs / 1000)} s`);
      }
    }
  }

  _checkStalls(now) {
    for (const s of [...this.sessions]) {
      const ps = this._peerState.get(s);
      if (!ps) continue;
      const limit = ps.avgMs > 0 ? Math.min(this.stallMs, Math.max(this.minStallMs, 4 * ps.avgMs)) : this.stallMs;
      let stalled = false;
      let episode = false;
      for (const [piece, r] of [...s.outstanding]) {
        if (now - r.sentAt <= limit) continue;
        this.log(`peer ${s.id}: piece ${piece} stalled after ${Math.round(now - r.sentAt)} ms; asking elsewhere`);
        s.cancel(piece);
        this._forget(piece, s);
        stalled = true;
        // Whether the peer stalled (three times drops it) is stricter (docs/sharing.md §6): it sent
        // no piece data at all since this request went out (a slow but working uplink, busy with
        // other peers, is not a stall), and requests queued together count once: only one sent
        // after its last stall was noticed counts again.
        if (s.lastPieceDataAt < r.sentAt && r.sentAt >= ps.lastStallAt) episode = true;
      }
      if (stalled) ps.depth = Math.max(START_PIPELINE, ps.depth >> 1);
      if (episode) {
        ps.lastStallAt = now;
        ps.stalls++;
        if (ps.stalls >= STALLS_TO_DROP) this._drop(s, 'stalled', `stalled ${ps.stalls} times`);
      }
    }
    this._schedule();
  }

  // --- info ----------------------------------------------------------------------------------

  _maybeRequestInfo(now = this.now()) {
    if (this.item.info || this._acceptingInfo || this.state !== 'running') return;
    for (const s of this.sessions) {
      const ps = this._peerState.get(s);
      if (s.infoPending && now - ps.infoAskedAt < INFO_TIMEOUT_MS) return; // one at a time
    }
    for (const s of this.sessions) {
      const ps = this._peerState.get(s);
      if (s.state === 'open' && s.remoteHasInfo && !s.infoPending && !ps.infoAskedAt && s.requestInfo()) {
        ps.infoAskedAt = now;
        return;
      }
    }
  }

  async _acceptInfo(info) {
    if (this.item.info || this._acceptingInfo) return;
    this._acceptingInfo = true;
    let storage;
    try {
      storage = this.prepare ? await this.prepare(info) : null;
    } catch (e) {
      this._fail(e);
      return;
    } finally {
      this._acceptingInfo = false;
    }
    if (this.state !== 'running') return;
    this._setInfo(info, storage);
    for (const s of this.sessions) s.infoKnown();
    this._schedule();
  }

  _setInfo(info, storage) {
    this.storage = storage;
    this.item.info = info;
    const n = info.pieceCount;
    this.item.bitsArray = storage?.have ? storage.have.slice() : new Uint8Array(bitfieldBytes(n));
    let count = 0;
    for (let i = 0; i < n; i++) if (getBit(this.item.bitsArray, i)) count++;
    this.item.haveCount = count;
    this.avail = new Uint16Array(n);
    this._emit('info', { info });
    if (this.item.complete) this._emit('complete', {});
  }

  // --- session events ------------------------------------------------------------------------

  _onSessionEvent(type, d, s) {
    switch (type) {
      case 'open':
        this._emit('peer-open', { id: s.id, session: s });
        this._maybeRequestInfo();
        break;
      case 'info':
        this._acceptInfo(d.info);
        break;
      case 'have':
        for (const i of d.pieces) this.avail[i]++;
        this._schedule();
        break;
      case 'unchoke':
        this._schedule();
        break;
      case 'choke':
        for (const i of d.dropped) this._forget(i, s);
        this._schedule();
        break;
      case 'reject':
        this._forget(d.piece, s);
        this._schedule();
        break;
      case 'interested':
        if (d.interested) this._unchokeIfFree(s);
        else if (!s.amChoking) {
          s.setChoking(true);
          this._fillSlots();
        }
        break;
      case 'bytes':
        if (d.down) {
          this.totals.bytesDown += d.down;
          this._window.down += d.down;
          this._peerState.get(s).downRecent += d.down;
        }
        if (d.up) {
          this.totals.bytesUp += d.up;
          this._window.up += d.up;
        }
        break;
      case 'piece':
        this._onPiece(s, d);
        break;
      case 'upload-error':
        this.log(`could not serve piece ${d.piece} to ${s.id}: ${d.message}`);
        break;
      case 'closed':
        this._onClosed(s, d);
        break;
      default:
        break;
    }
  }

  async _onPiece(s, { piece, sealed, proof, elapsed }) {
    const ps = this._peerState.get(s);
    if (ps) {
      ps.avgMs = ps.avgMs ? ps.avgMs * 0.8 + elapsed * 0.2 : elapsed;
      ps.depth = Math.min(this.maxPipeline, s.remote.maxRequests, ps.depth + 1);
    }
    this._forget(piece, s);
    if (this.item.has(piece) || this.storing.has(piece)) {
      this._schedule();
      return; // an endgame duplicate: the first verified copy won
    }
    this.storing.add(piece);
    // Endgame: the other copies are no longer needed.
    for (const other of this.requests.get(piece) ?? []) other.cancel(piece);
    this.requests.delete(piece);
    this._schedule();
    try {
      await this.storage.writePiece(piece, sealed, proof);
    } catch (e) {
      this.storing.delete(piece);
      this._fail(e);
      return;
    }
    this.storing.delete(piece);
    if (this.state !== 'running') return;
    if (this.item.has(piece)) {
      this._schedule(); // room under MAX_PIECES_AWAITING_STORE again
      return;
    }
    setBit(this.item.bitsArray, piece);
    this.item.haveCount++;
    for (const other of this.sessions) other.announce(piece);
    this._emit('have', { piece, haveCount: this.item.haveCount, pieceCount: this.pieceCount });
    if (this.item.complete) this._emit('complete', {});
    this._schedule();
  }

  _onClosed(s, d) {
    if (!this.sessions.delete(s)) return;
    const ps = this._peerState.get(s);
    this._peerState.delete(s);
    if (s.remoteBits && this.avail) {
      for (let i = 0; i < this.avail.length; i++) if (getBit(s.remoteBits, i) && this.avail[i] > 0) this.avail[i]--;
    }
    for (const piece of d.pending ?? []) this._forget(piece, s);
    for (const [piece, set] of this.requests) {
      set.delete(s);
      if (set.size === 0) this.requests.delete(piece);
    }
    if (this._optimistic === s) this._optimistic = null;
    const corrupt = !!d.corrupt;
    const reason = d.reason ?? (d.remoteError ? `remote-${d.remoteError.name}` : 'closed');
    if (this.state === 'running' && (corrupt || d.sent || d.remoteError || ps?.dropReason)) {
      this._emit('peer-dropped', { id: s.id, reason: ps?.dropReason ?? reason, message: d.message, corrupt });
    }
    this._emit('peer-closed', { id: s.id, session: s, ...d });
    this._emit('peers', { count: this.sessions.size });
    if (this.state === 'running') {
      this._fillSlots();
      this._maybeRequestInfo();
      this._schedule();
    }
  }

  _drop(s, reason, message) {
    const ps = this._peerState.get(s);
    if (ps) ps.dropReason = reason;
    s.fail(ERROR_CODES.protocol, message, reason);
  }

  _forget(piece, s) {
    const set = this.requests.get(piece);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.requests.delete(piece);
  }

  _fail(e) {
    if (this.state !== 'running') return;
    const error = e instanceof SharingError ? e : new SharingError('storage', `could not store the download: ${e?.message ?? e}`);
    this.error = error;
    this.state = 'failed';
    clearInterval(this._timer);
    for (const s of [...this.sessions]) s.fail(ERROR_CODES['shutting-down'], 'this peer stopped');
    this._emit('error', { error });
  }

  // --- which piece, from whom ----------------------------------------------------------------

  _schedule() {
    if (this.state !== 'running' || !this.item.info || this.item.complete || !this.storage?.writePiece) return;
    if (this.storing.size >= MAX_PIECES_AWAITING_STORE) return; // the store's completions schedule again
    const streaming = this._priorityPending();
    for (const s of this.sessions) {
      const ps = this._peerState.get(s);
      while (s.canRequest(ps.depth)) {
        const piece = this._pick(s);
        if (piece < 0) break;
        if (streaming && !this._inPriority(piece) && this._othersInFlight(s) >= STREAMING_OTHER_REQUESTS) break;
        if (!s.request(piece)) break;
        let set = this.requests.get(piece);
        if (!set) this.requests.set(piece, (set = new Set()));
        set.add(s);
      }
    }
  }

  _inPriority(i) {
    return this.priority !== null && i >= this.priority.from && i < this.priority.from + this.priority.count;
  }

  /** Whether the priority window still misses pieces (a stream is waiting or about to). */
  _priorityPending() {
    if (!this.priority) return false;
    const end = Math.min(this.item.info.pieceCount, this.priority.from + this.priority.count);
    for (let i = Math.max(0, this.priority.from); i < end; i++) if (!this.item.has(i)) return true;
    return false;
  }

  _othersInFlight(s) {
    let n = 0;
    for (const i of s.outstanding.keys()) if (!this._inPriority(i)) n++;
    return n;
  }

  _wanted(s, i) {
    return !this.item.has(i) && !this.storing.has(i) && s.mayRequest(i);
  }

  _pick(s) {
    const n = this.item.info.pieceCount;
    if (this.priority) {
      const end = Math.min(n, this.priority.from + this.priority.count);
      for (let i = Math.max(0, this.priority.from); i < end; i++) if (!this.requests.has(i) && this._wanted(s, i)) return i;
    }
    let best = -1;
    let bestAvail = Infinity;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      if (this.requests.has(i) || !this._wanted(s, i)) continue;
      const a = this.avail[i];
      if (a < bestAvail) {
        best = i;
        bestAvail = a;
        ties = 1;
      } else if (a === bestAvail && this.random() * ++ties < 1) {
        best = i;
      }
    }
    if (best >= 0) return best;
    // Endgame: every missing piece is already asked of someone; ask this peer too, the pieces
    // with the fewest copies in flight first.
    const missing = n - this.item.haveCount - this.storing.size;
    if (this.requests.size < missing) return -1;
    let fewest = MAX_ENDGAME_COPIES;
    for (const [i, set] of this.requests) {
      if (set.size < fewest && !set.has(s) && this._wanted(s, i)) {
        best = i;
        fewest = set.size;
      }
    }
    return best;
  }

  // --- whom to upload to ---------------------------------------------------------------------

  _unchokedCount() {
    let n = 0;
    for (const s of this.sessions) if (!s.amChoking) n++;
    return n;
  }

  _unchokeIfFree(s) {
    if (s.amChoking && this._unchokedCount() < this.uploadSlots) s.setChoking(false);
  }

  _fillSlots() {
    for (const s of this.sessions) {
      if (this._unchokedCount() >= this.uploadSlots) return;
      if (s.state === 'open' && s.peerInterested) this._unchokeIfFree(s);
    }
  }

  /** Every 10 s: the interested peers that upload most to us keep the slots; every 30 s one more at random. */
  _rechoke(now) {
    this._lastRechoke = now;
    const interested = [...this.sessions].filter((s) => s.state === 'open' && s.peerInterested);
    const byUpload = interested.sort((a, b) => this._peerState.get(b).downRecent - this._peerState.get(a).downRecent);
    const keep = new Set(byUpload.slice(0, Math.max(0, this.uploadSlots - 1)));
    if (now - this._lastOptimistic >= OPTIMISTIC_MS || !this._optimistic || !interested.includes(this._optimistic)) {
      const others = interested.filter((s) => !keep.has(s));
      this._optimistic = others.length ? others[Math.floor(this.random() * others.length)] : null;
      this._lastOptimistic = now;
    }
    if (this._optimistic) keep.add(this._optimistic);
    for (const s of byUpload) if (keep.size < this.uploadSlots) keep.add(s);
    for (const s of this.sessions) {
      s.setChoking(!keep.has(s));
      const ps = this._peerState.get(s);
      if (ps) ps.downRecent = 0;
    }
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
