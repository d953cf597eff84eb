// The diagnostics panel (in the spirit of Firefox's about:webrtc): a timestamped signaling log,
// and per connection its candidates, the selected candidate pair, ICE/DTLS/connection states and
// byte counters with rates, refreshed every second from getStats().

import { h, byTestId, setText, formatTime } from './dom.js';
import { formatBytes } from './storage.js';

const MAX_LOG_ENTRIES = 500;

export class Diagnostics {
  constructor(root) {
    this.root = root;
    this.connections = [];
    this._timer = setInterval(() => this.refresh(), 1000);

    this.sigState = h('span', { testid: 'diag-signaling-state' }, 'not connected');
    this.myId = h('code', { testid: 'diag-my-id' }, '—');
    this.rtt = h('span', { testid: 'diag-rtt' }, '—');
    this.log = h('ol', { class: 'diag-log', testid: 'diag-log', 'aria-label': 'Signaling log' });
    this.connList = h('div', { class: 'diag-connections', testid: 'diag-connections' },
      h('p', { class: 'muted', testid: 'diag-no-connections' }, 'No peer connections yet.'));
    root.replaceChildren(
      h('section', { class: 'diag-section' },
        h('h3', {}, 'Signaling'),
        h('dl', { class: 'diag-grid' },
          h('dt', {}, 'State'), h('dd', {}, this.sigState),
          h('dt', {}, 'My peer id'), h('dd', {}, this.myId),
          h('dt', {}, 'Round-trip time'), h('dd', {}, this.rtt)),
        h('h4', {}, 'Log'),
        this.log),
      h('section', { class: 'diag-section' },
        h('h3', {}, 'Peer connections'),
        this.connList),
    );
  }

  attachSignaling(client) {
    this.signaling = client;
    client.addEventListener('state', (ev) => setText(this.sigState, ev.detail.state));
    client.addEventListener('welcome', (ev) => setText(this.myId, ev.detail.id));
    client.addEventListener('log', (ev) => this.addLog(ev.detail.time, ev.detail.dir, ev.detail.msg));
  }

  addLog(time, dir, msg) {
    const arrow = dir === 'in' ? '←' : dir === 'out' ? '→' : '•';
    const entry = h('li', { testid: 'diag-log-entry', dataset: { dir } },
      h('time', {}, formatTime(time)), ' ', h('span', { class: 'diag-dir' }, arrow), ' ', describe(msg));
    this.log.append(entry);
    while (this.log.childElementCount > MAX_LOG_ENTRIES) this.log.firstElementChild.remove();
  }

  /** Tracks a Peer (peer.js); `label` names the other side. */
  addConnection(label, peer) {
    byTestId(this.connList, 'diag-no-connections')?.remove();
    const field = (name, testid) => [h('dt', {}, name), h('dd', { testid }, '—')];
    const el = h('article', { class: 'diag-conn', testid: 'diag-connection', dataset: { peerId: peer.remoteId ?? '' } },
      h('h4', {}, label, ' ', h('code', {}, peer.remoteId ?? '')),
      h('dl', { class: 'diag-grid' },
        field('Role', 'diag-role'),
        field('ICE gathering', 'diag-gathering-state'),
        field('ICE connection', 'diag-ice-state'),
        field('DTLS', 'diag-dtls-state'),
        field('Connection', 'diag-connection-state'),
        field('Signaling state', 'diag-signaling-pc-state'),
        field('Selected pair', 'diag-selected-pair'),
        field('Bytes sent', 'diag-bytes-sent'),
        field('Bytes received', 'diag-bytes-received')),
      h('details', { class: 'diag-cands' }, h('summary', {}, 'Local candidates'), h('ul', { testid: 'diag-local-candidates' })),
      h('details', { class: 'diag-cands' }, h('summary', {}, 'Remote candidates'), h('ul', { testid: 'diag-remote-candidates' })),
    );
    setText(byTestId(el, 'diag-role'), peer.initiator ? 'initiator (sent the offer)' : 'responder (answered)');
    this.connList.append(el);
    const conn = { label, peer, el, last: null, closed: false };
    this.connections.push(conn);
    peer.addEventListener('candidate', (ev) => {
      const list = byTestId(el, ev.detail.side === 'local' ? 'diag-local-candidates' : 'diag-remote-candidates');
      list.append(h('li', {}, h('code', {}, ev.detail.candidate || '(end of candidates)')));
    });
    peer.addEventListener('state', (ev) => this._showStates(conn, ev.detail));
    peer.addEventListener('close', () => {
      // Keep what was last seen; the connection can no longer be asked for stats.
      this._showStates(conn, { ...peer.states(), connectionState: 'closed' });
      conn.closed = true;
    });
    this._showStates(conn, peer.states());
    return conn;
  }

  _showStates(conn, s) {
    const el = conn.el;
    setText(byTestId(el, 'diag-gathering-state'), s.iceGatheringState);
    setText(byTestId(el, 'diag-ice-state'), s.iceConnectionState);
    setText(byTestId(el, 'diag-dtls-state'), s.dtlsState);
    setText(byTestId(el, 'diag-connection-state'), s.connectionState);
    setText(byTestId(el, 'diag-signaling-pc-state'), s.signalingState);
  }

  async refresh() {
    if (this.signaling) setText(this.rtt, this.signaling.rttMs === null ? '—' : `${this.signaling.rttMs} ms`);
    for (const conn of this.connections) {
      if (conn.closed) continue;
      try {
        await this._refreshConnection(conn);
      } catch {
        /* the connection went away between checks */
      }
    }
  }

  async _refreshConnection(conn) {
    const { peer, el } = conn;
    if (peer.destroyed) return;
    this._showStates(conn, peer.states());
    const stats = await peer.pc.getStats();
    let transport = null;
    const pairs = new Map();
    const candidates = new Map();
    stats.forEach((r) => {
      if (r.type === 'transport') transport = r;
      else if (r.type === 'candidate-pair') pairs.set(r.id, r);
      else if (r.type === 'local-candidate' || r.type === 'remote-candidate') candidates.set(r.id, r);
    });
    let pair = transport?.selectedCandidatePairId ? pairs.get(transport.selectedCandidatePairId) : null;
    if (!pair) pair = [...pairs.values()].find((p) => p.state === 'succeeded' && p.nominated) ?? null;
    const fmt = (c) => (c ? `${c.address ?? c.ip}:${c.port} ${c.candidateType} ${c.protocol}` : '?');
    setText(byTestId(el, 'diag-selected-pair'), pair
      ? `${fmt(candidates.get(pair.localCandidateId))} ⇄ ${fmt(candidates.get(pair.remoteCandidateId))}${pair.currentRoundTripTime !== undefined ? `, RTT ${Math.round(pair.currentRoundTripTime * 1000)} ms` : ''}`
      : 'none yet');
    const source = transport ?? pair;
    const sent = source?.bytesSent ?? 0;
    const received = source?.bytesReceived ?? 0;
    const now = performance.now();
    let sentRate = 0;
    let receivedRate = 0;
    if (conn.last) {
      const dt = (now - conn.last.time) / 1000;
      if (dt > 0) {
        sentRate = (sent - conn.last.sent) / dt;
        receivedRate = (received - conn.last.received) / dt;
      }
    }
    conn.last = { time: now, sent, received };
    setText(byTestId(el, 'diag-bytes-sent'), `${formatBytes(sent)} (${formatBytes(Math.max(0, sentRate))}/s)`);
    setText(byTestId(el, 'diag-bytes-received'), `${formatBytes(received)} (${formatBytes(Math.max(0, receivedRate))}/s)`);
    byTestId(el, 'diag-bytes-sent').dataset.bytes = String(sent);
    byTestId(el, 'diag-bytes-received').dataset.bytes = String(received);
  }

  stop() {
    clearInterval(this._timer);
  }
}

/** A one-line summary of a signaling message for the log. */
function describe(msg) {
  if (typeof msg === 'string') return msg;
  if (!msg || typeof msg !== 'object') return String(msg);
  switch (msg.type) {
    case 'signal': {
      const who = msg.from ? `from ${msg.from}` : `to ${msg.to}`;
      return `signal ${who}: ${describeSignal(msg.data)}`;
    }
    case 'welcome':
      return `welcome: id ${msg.id}${msg.resumed ? ' (resumed)' : ''}, ${Array.isArray(msg.iceServers) ? msg.iceServers.length : 0} ICE server(s)`;
    case 'joined':
      return `joined ${msg.room}: ${(msg.peers ?? []).length} other peer(s)${(msg.peers ?? []).length ? ` (${msg.peers.join(', ')})` : ''}`;
    case 'join':
    case 'leave':
      return `${msg.type} ${msg.room}`;
    case 'left':
      return `left ${msg.room}`;
    case 'ping':
      return 'ping';
    case 'pong':
      return 'pong';
    case 'peer-joined':
      return `peer-joined ${msg.room}: ${msg.id}`;
    case 'peer-left':
      return `peer-left ${msg.room}: ${msg.id}`;
    case 'error':
      return `error ${msg.code}: ${msg.message ?? ''}${msg.ref !== undefined ? ` (ref ${msg.ref})` : ''}`;
    default:
      return JSON.stringify(msg);
  }
}

function describeSignal(data) {
  if (!data || typeof data !== 'object') return JSON.stringify(data);
  if (data.type === 'offer' || data.type === 'answer') return `${data.type} (SDP, ${String(data.sdp ?? '').length} characters)`;
  if (data.type === 'candidate') return `candidate ${data.candidate?.candidate ?? ''}`;
  return JSON.stringify(data).slice(0, 300);
}
