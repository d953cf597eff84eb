// Browser client for the hub's signaling protocol v1 (docs/signaling.md).
//
// Events (CustomEvent, payload in `detail`):
//   state        {state}                 'connecting' | 'open' | 'reconnecting' | 'closed'
//   welcome      {id, resumed, iceServers, limits, idChanged}
//   joined       {room, peers}
//   left         {room}
//   peer-joined  {room, id}
//   peer-left    {room, id}
//   signal       {from, data}
//   server-error {code, message, ref}     a typed error from the hub
//   log          {dir: 'in'|'out'|'info', msg}  every message, for diagnostics
//   closed       {reason}                gave up reconnecting, or close() was called

export const PROTOCOL_VERSION = 1;

export function defaultSignalingUrl(loc = location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/signal`;
}

export class SignalingClient extends EventTarget {
  constructor(options = {}) {
    super();
    this.url = options.url ?? defaultSignalingUrl();
    this.pingIntervalMs = options.pingIntervalMs ?? 20000;
    // No message at all for this long means the socket is dead even if it looks open.
    this.deadAfterMs = options.deadAfterMs ?? 50000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10000;
    // How long to keep trying to reconnect after a drop before giving up.
    this.reconnectForMs = options.reconnectForMs ?? 120000;
    this.WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;

    this.id = null;
    this.iceServers = [];
    this.limits = null;
    this.state = 'idle';
    this.rooms = new Set(); // rooms we have joined (to rejoin if the id is lost)
    this.rttMs = null;

    this._ws = null;
    this._resumeToken = null;
    this._nextRef = 1;
    this._pending = new Map(); // ref -> {resolve, reject, type, room, timer}
    this._pingTimer = null;
    this._lastReceived = 0;
    this._pingSent = new Map(); // ref -> time
    this._closedByUser = false;
    this._reconnectTimer = null;
    this._dropTime = 0;
    this._attempt = 0;
    this._welcomeWaiter = null;
    this._everWelcomed = false;
  }

  /** Connects and resolves with the welcome message. */
  connect() {
    this._closedByUser = false;
    return this._open(false);
  }

  /** Joins a room; resolves with the other members' ids. */
  async join(room) {
    const reply = await this._request({ type: 'join', room }, 'joined', room);
    this.rooms.add(room);
    return reply.peers ?? [];
  }

  async leave(room) {
    this.rooms.delete(room);
    await this._request({ type: 'leave', room }, 'left', room);
  }

  /** Sends a signal to one peer. Returns the ref used (server errors echo it). */
  signal(to, data) {
    const ref = this._nextRef++;
    this._send({ type: 'signal', to, data, ref });
    return ref;
  }

  /** Best-effort leave, usable from pagehide (does not wait for replies). */
  leaveAllNow() {
    for (const room of this.rooms) this._send({ type: 'leave', room });
    this.rooms.clear();
  }

  close() {
    this._closedByUser = true;
    clearTimeout(this._reconnectTimer);
    this._stopPing();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this._failPending(new Error('signaling closed'));
    this._setState('closed');
    this._emit('closed', { reason: 'closed by the page' });
  }

  get connected() {
    return this.state === 'open';
  }

  // --- internals ---------------------------------------------------------------------------

  _open(isReconnect) {
    const url = this._resumeToken ? `${this.url}?resume=${encodeURIComponent(this._resumeToken)}` : this.url;
    this._setState(isReconnect ? 'reconnecting' : 'connecting');
    this._log('info', isReconnect ? 'reconnecting (resume)' : `connecting to ${this.url}`);
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this.WebSocketImpl(url);
      } catch (e) {
        reject(e);
        return;
      }
      this._ws = ws;
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error('signaling: no welcome from the hub'));
        this._abandon(ws, 'no welcome within the connect timeout');
      }, this.connectTimeoutMs);
      this._welcomeWaiter = (welcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(welcome);
      };
      ws.onmessage = (ev) => this._onMessage(ws, ev);
      ws.onclose = (ev) => {
        if (this._ws !== ws) return; // an old socket
        this._ws = null;
        this._stopPing();
        this._log('info', `socket closed (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''})`);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new Error(`signaling: connection closed (code ${ev.code})`));
        }
        this._onDrop(ev.code);
      };
      ws.onerror = () => {
        this._log('info', 'socket error');
      };
    });
  }

  /** Gives up on a socket that looks dead without waiting for its close handshake. */
  _abandon(ws, reason) {
    if (this._ws !== ws) return;
    this._ws = null;
    this._stopPing();
    this._log('info', `${reason}; dropping the connection`);
    try { ws.close(); } catch { /* ignore */ }
    this._onDrop(1006);
  }

  _onDrop(code) {
    this._failPending(new Error('signaling connection lost'));
    if (this._closedByUser) return;
    if (code === 4000) {
      // Resumed elsewhere: another tab took over our id. Do not fight over it.
      this._setState('closed');
      this._emit('closed', { reason: 'this session was resumed elsewhere' });
      return;
    }
    if (!this._everWelcomed) {
      // The first connection never got going: report it instead of retrying silently.
      this._setState('closed');
      this._emit('closed', { reason: 'could not connect to the hub' });
      return;
    }
    if (!this._dropTime) this._dropTime = Date.now();
    if (Date.now() - this._dropTime > this.reconnectForMs) {
      this._setState('closed');
      this._emit('closed', { reason: 'could not reconnect to the hub' });
      return;
    }
    this._setState('reconnecting');
    const delay = Math.min(5000, 250 * 2 ** this._attempt);
    this._attempt++;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => {
      this._open(true).catch(() => { /* onclose schedules the next attempt */ });
    }, delay);
  }

  _onMessage(ws, ev) {
    if (this._ws !== ws) return;
    this._lastReceived = Date.now();
    if (typeof ev.data !== 'string') {
      this._log('in', '(binary frame ignored)');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      this._log('in', '(unparseable message ignored)');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    this._log('in', msg);
    switch (msg.type) {
      case 'welcome':
        this._onWelcome(msg);
        break;
      case 'joined':
        this._settle('joined', msg.room, msg);
        this._emit('joined', { room: msg.room, peers: msg.peers ?? [] });
        break;
      case 'left':
        this._settle('left', msg.room, msg);
        this._emit('left', { room: msg.room });
        break;
      case 'peer-joined':
        this._emit('peer-joined', { room: msg.room, id: msg.id });
        break;
      case 'peer-left':
        this._emit('peer-left', { room: msg.room, id: msg.id });
        break;
      case 'signal':
        this._emit('signal', { from: msg.from, data: msg.data });
        break;
      case 'pong': {
        const sent = this._pingSent.get(msg.ref);
        if (sent !== undefined) {
          this._pingSent.delete(msg.ref);
          this.rttMs = Date.now() - sent;
        }
        break;
      }
      case 'error': {
        const p = msg.ref !== undefined ? this._pending.get(msg.ref) : undefined;
        if (p) {
          this._pending.delete(msg.ref);
          clearTimeout(p.timer);
          const err = new Error(msg.message || msg.code);
          err.code = msg.code;
          p.reject(err);
        }
        this._emit('server-error', { code: msg.code, message: msg.message, ref: msg.ref });
        break;
      }
      default:
        break; // unknown types are ignored (forward compatibility)
    }
  }

  _onWelcome(msg) {
    const previousId = this.id;
    this.id = msg.id;
    this._resumeToken = msg.resume ?? null;
    this.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
    this.limits = msg.limits ?? null;
    this._attempt = 0;
    this._dropTime = 0;
    this._everWelcomed = true;
    this._setState('open');
    this._startPing();
    const idChanged = previousId !== null && previousId !== msg.id;
    this._emit('welcome', { id: msg.id, resumed: !!msg.resumed, iceServers: this.iceServers, limits: this.limits, idChanged });
    if (idChanged) {
      // The hub forgot us (grace period over): rejoin our rooms under the new id.
      for (const room of this.rooms) this._send({ type: 'join', room, ref: this._nextRef++ });
    }
    const waiter = this._welcomeWaiter;
    this._welcomeWaiter = null;
    if (waiter) waiter(msg);
  }

  _request(msg, replyType, room, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Error('signaling is not connected'));
        return;
      }
      const ref = this._nextRef++;
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        reject(new Error(`signaling: no reply to ${msg.type}`));
      }, timeoutMs);
      this._pending.set(ref, { resolve, reject, replyType, room, timer });
      this._send({ ...msg, ref });
    });
  }

  _settle(replyType, room, msg) {
    for (const [ref, p] of this._pending) {
      if (p.replyType === replyType && p.room === room) {
        this._pending.delete(ref);
        clearTimeout(p.timer);
        p.resolve(msg);
        return;
      }
    }
  }

  _failPending(err) {
    for (const p of this._pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this._pending.clear();
  }

  _send(msg) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) {
      this._log('info', `not sent (offline): ${msg.type}`);
      return false;
    }
    ws.send(JSON.stringify(msg));
    this._log('out', msg);
    return true;
  }

  _startPing() {
    this._stopPing();
    this._lastReceived = Date.now();
    this._ping(); // measures the round-trip time right away
    this._pingTimer = setInterval(() => {
      const ws = this._ws;
      if (!ws) return;
      if (Date.now() - this._lastReceived > this.deadAfterMs) {
        this._abandon(ws, 'hub silent for too long');
        return;
      }
      this._ping();
    }, this.pingIntervalMs);
  }

  _ping() {
    const ref = `p${this._nextRef++}`;
    this._pingSent.clear();
    this._pingSent.set(ref, Date.now());
    this._send({ type: 'ping', ref });
  }

  _stopPing() {
    clearInterval(this._pingTimer);
    this._pingTimer = null;
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit('state', { state });
  }

  _log(dir, msg) {
    // Never expose the resume token (it is a secret) in logs.
    if (msg && typeof msg === 'object' && 'resume' in msg) msg = { ...msg, resume: '…' };
    this._emit('log', { dir, msg, time: Date.now() });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
