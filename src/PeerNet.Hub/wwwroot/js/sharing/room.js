// Finding the swarm (docs/sharing.md §4): the hub room `share/CID`. Following the signaling
// convention, the peer that joins offers a connection to each member already there; members
// answer offers from peers that join after them. Each connection carries one data channel,
// `peernet-share/1`, handed to the swarm as a transport. Up to 30 connections per swarm; a
// peer dropped as corrupt is never connected again.

import { Peer } from '../peer.js';
import { CHANNEL_LABEL } from './wire.js';
import { swarmRoom } from './link.js';

export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
const CLOSE_DRAIN_MS = 3000;
// An offer from a peer not (yet) seen in the room waits this long for its peer-joined.
const UNKNOWN_OFFER_WAIT_MS = 3000;
// A connection we offered that failed or closed under us (not ended by either session) is offered
// again while its peer stays in the room, after 2, 4, 8, 16, 30, 30 s (as ShareSwarm does).
export const MAX_REDIALS = 6;
const redialDelayMs = (attempt) => Math.min(30000, 2000 * 2 ** attempt);

/** A transport over a connected Peer's data channel, with backpressure. */
export function peerTransport(peer) {
  const channel = peer.channel;
  channel.bufferedAmountLowThreshold = LOW_WATER;
  let waiters = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  channel.addEventListener('bufferedamountlow', wake);
  channel.addEventListener('close', wake);
  return {
    send(bytes) {
      peer.send(bytes);
    },
    close() {
      // A last `error` message may be queued behind piece data: let the channel drain (at most
      // a few seconds), then close the channel, whose stream reset follows everything sent on it
      // (RFC 8831 §6.7), and only when the peer has closed its side too (or after a few more
      // seconds) the connection, which would discard whatever was still in flight.
      const started = performance.now();
      const destroy = () => { if (!peer.destroyed) peer.destroy(); };
      const check = () => {
        if (peer.destroyed) return;
        if (channel.readyState !== 'open') {
          setTimeout(destroy, 50);
        } else if (channel.bufferedAmount === 0 || performance.now() - started > CLOSE_DRAIN_MS) {
          channel.addEventListener('close', () => setTimeout(destroy, 50), { once: true });
          setTimeout(destroy, CLOSE_DRAIN_MS);
          try { channel.close(); } catch { destroy(); }
        } else {
          setTimeout(check, 25);
        }
      };
      check();
    },
    waitForDrain() {
      if (channel.readyState !== 'open' || channel.bufferedAmount <= HIGH_WATER) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/**
 * Joins a swarm's room and keeps its connections.
 * options: {swarm, signaling (a connected SignalingClient), cidText, iceServers,
 *           iceTransportPolicy, connectTimeoutMs, log(text), onConnection(info)}
 */
export class SwarmRoom extends EventTarget {
  constructor(options) {
    super();
    this.swarm = options.swarm;
    this.sig = options.signaling;
    this.room = swarmRoom(options.cidText);
    this.iceTransportPolicy = options.iceTransportPolicy ?? 'all';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30000;
    this.log = options.log ?? (() => {});
    this.members = new Set();
    this.peers = new Map(); // remote id → Peer
    this.banned = new Set();
    this._redials = new Map(); // remote id → {attempts, timer}
    this._pendingOffers = new Map();
    this._retry = new Set(); // remote ids whose session we ended but which may be offered again
    this._onSignal = (ev) => this._signal(ev.detail.from, ev.detail.data);
    this._onJoined = (ev) => {
      if (ev.detail.room !== this.room) return;
      this.members.add(ev.detail.id);
      const pending = this._pendingOffers.get(ev.detail.id);
      if (pending) {
        this._pendingOffers.delete(ev.detail.id);
        clearTimeout(pending.timer);
        for (const data of pending.signals) this._signal(ev.detail.id, data);
      }
    };
    this._onLeft = (ev) => {
      if (ev.detail.room !== this.room) return;
      this.members.delete(ev.detail.id);
      clearTimeout(this._redials.get(ev.detail.id)?.timer);
      this._redials.delete(ev.detail.id);
    };
    this.swarm.addEventListener('peer-dropped', (ev) => {
      if (ev.detail.corrupt) this.banned.add(ev.detail.id);
      // A channel on which no hello ever came is worth offering again; other drops are deliberate.
      if (ev.detail.reason === 'no-hello') this._retry.add(ev.detail.id);
    });
  }

  /** Joins the room and offers to every member already there (up to the connection limit). */
  async join() {
    this.sig.addEventListener('signal', this._onSignal);
    this.sig.addEventListener('peer-joined', this._onJoined);
    this.sig.addEventListener('peer-left', this._onLeft);
    const others = await this.sig.join(this.room);
    for (const id of others) this.members.add(id);
    for (const id of others) {
      if (!this._room()) break;
      this._connect(id, true);
    }
    return others.length;
  }

  leave() {
    this.sig.removeEventListener('signal', this._onSignal);
    this.sig.removeEventListener('peer-joined', this._onJoined);
    this.sig.removeEventListener('peer-left', this._onLeft);
    this.sig.leaveAllNow();
    for (const r of this._redials.values()) clearTimeout(r.timer);
    this._redials.clear();
    for (const p of this.peers.values()) p.destroy();
    this.peers.clear();
  }

  /** True while a connection is being made or offered again: no reason yet to say the peers left. */
  get connecting() {
    for (const r of this._redials.values()) if (r.timer) return true;
    for (const p of this.peers.values()) if (!p.connected && !p.destroyed) return true;
    return false;
  }

  _room() {
    return this.swarm.canConnect() && this.peers.size < this.swarm.maxConnections;
  }

  _signal(from, data) {
    if (!data || typeof data !== 'object') return;
    const existing = this.peers.get(from);
    if (existing) {
      existing.signal(data);
      return;
    }
    if (data.type !== 'offer' && data.type !== 'candidate') return;
    if (!this.members.has(from)) {
      // Only members of this swarm's room may connect; its peer-joined normally comes first.
      let pending = this._pendingOffers.get(from);
      if (!pending) {
        pending = { signals: [], timer: setTimeout(() => this._pendingOffers.delete(from), UNKNOWN_OFFER_WAIT_MS) };
        this._pendingOffers.set(from, pending);
      }
      if (pending.signals.length < 64) pending.signals.push(data);
      return;
    }
    if (data.type !== 'offer' || this.banned.has(from) || !this._room()) return;
    this._connect(from, false).signal(data);
  }

  _connect(id, initiator) {
    const peer = new Peer({
      initiator,
      remoteId: id,
      iceServers: this.sig.iceServers,
      iceTransportPolicy: this.iceTransportPolicy,
      connectTimeoutMs: this.connectTimeoutMs,
      channelLabel: CHANNEL_LABEL,
    });
    this.peers.set(id, peer);
    this._emit('connection', { id, peer });
    let session = null;
    let ended = false; // a session ended it (ours, or the remote's by an error message)
    peer.addEventListener('signal', (ev) => this.sig.signal(id, ev.detail));
    peer.addEventListener('connect', () => {
      this.log(`connected to ${id}`);
      const r = this._redials.get(id);
      if (r) clearTimeout(r.timer);
      this._redials.delete(id);
      const transport = peerTransport(peer);
      const close = transport.close;
      transport.close = () => { ended = true; close(); };
      session = this.swarm.addConnection(transport, id);
      // A hello this late is a sign of trouble (the swarm drops the session at 10 s): say what the
      // channel saw, for whoever reads the log.
      setTimeout(() => {
        if (session.state === 'new' && !peer.destroyed) this._logChannel(id, peer, session, 'no hello after 5 s');
      }, 5000);
    });
    peer.addEventListener('data', (ev) => session?.handleMessage(ev.detail.data)); // the peer emits 'connect' first
    peer.addEventListener('error', (ev) => this.log(`connection to ${id}: ${ev.detail.code}: ${ev.detail.message}`));
    peer.addEventListener('close', () => {
      if (this.peers.get(id) === peer) this.peers.delete(id);
      const underUs = !ended; // read first: closing the session below closes the transport too
      session?.close('the connection closed');
      const retry = this._retry.delete(id);
      if (initiator && (underUs || retry)) this._scheduleRedial(id);
    });
    return peer;
  }

  async _logChannel(id, peer, session, what) {
    let stats = '';
    try {
      const report = await peer.pc.getStats();
      for (const r of report.values()) {
        if (r.type === 'data-channel') stats += ` channel ${r.label}#${r.dataChannelIdentifier} ${r.state}: sent ${r.messagesSent}, received ${r.messagesReceived};`;
        if (r.type === 'transport') stats += ` transport dtls ${r.dtlsState}, ice ${r.iceState};`;
      }
    } catch (e) {
      stats = ` (no stats: ${e.message})`;
    }
    const ch = peer.channel;
    this.log(`${id}: ${what}: channel ${ch?.readyState} id ${ch?.id}, buffered ${ch?.bufferedAmount}; connection ${peer.pc.connectionState}; session sent hello ${!!session._helloSent}, sent ${session.stats.bytesUp} piece bytes;${stats}`);
  }

  /** Offers again to a member whose connection (ours to offer) failed or dropped. */
  _scheduleRedial(id) {
    if (!this.members.has(id) || this.banned.has(id) || this.swarm.state !== 'running') return;
    const previous = this._redials.get(id);
    const attempts = previous?.attempts ?? 0;
    if (attempts >= MAX_REDIALS) return;
    clearTimeout(previous?.timer);
    const delay = redialDelayMs(attempts);
    this.log(`${id}: reconnecting in ${delay / 1000} s (attempt ${attempts + 1} of ${MAX_REDIALS})`);
    const entry = { attempts: attempts + 1, timer: 0 };
    entry.timer = setTimeout(() => {
      entry.timer = 0;
      if (this.members.has(id) && !this.peers.has(id) && !this.banned.has(id) && this._room()) this._connect(id, true);
    }, delay);
    this._redials.set(id, entry);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
