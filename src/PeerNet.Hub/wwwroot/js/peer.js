// A small simple-peer-like wrapper over RTCPeerConnection with one data channel.
//
// The initiator creates the data channel and sends the offer; the other side answers.
// ICE candidates trickle. Signal data uses exactly these shapes (docs/signaling.md):
//   {"type":"offer","sdp":"…"}   {"type":"answer","sdp":"…"}
//   {"type":"candidate","candidate":{"candidate":"…","sdpMid":"0","sdpMLineIndex":0}}
//
// Events (CustomEvent, payload in `detail`):
//   signal   data to forward to the other peer through signaling
//   connect  the data channel is open
//   data     {data}  a message (string or ArrayBuffer)
//   state    {iceGatheringState, iceConnectionState, connectionState, signalingState, dtlsState}
//   candidate {side: 'local'|'remote', candidate}
//   error    {code, message, iceConnectionState, connectionState, dtlsState, wasConnected}
//   close    {}  the connection is over (after an error too)

export const CHANNEL_LABEL = 'files';
// Messages kept while a channel that already receives has not reported 'open' yet.
const MAX_EARLY_MESSAGES = 1024;

export class Peer extends EventTarget {
  constructor(options = {}) {
    super();
    this.initiator = !!options.initiator;
    this.remoteId = options.remoteId ?? null;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30000;
    // A connection that stays 'disconnected' this long is given up (Chromium takes longer to say 'failed').
    this.disconnectTimeoutMs = options.disconnectTimeoutMs ?? 10000;
    this.channelLabel = options.channelLabel ?? CHANNEL_LABEL;
    this.destroyed = false;
    this.connected = false;
    this.channel = null;
    this.localCandidates = [];
    this.remoteCandidates = [];

    this._pendingCandidates = [];
    this._remoteDescriptionSet = false;

    const pc = new RTCPeerConnection({
      iceServers: options.iceServers ?? [],
      iceTransportPolicy: options.iceTransportPolicy === 'relay' ? 'relay' : 'all',
    });
    this.pc = pc;

    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return; // end of candidates: nothing to send
      const c = ev.candidate;
      const candidate = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      this.localCandidates.push(candidate.candidate);
      this._emit('candidate', { side: 'local', candidate: candidate.candidate });
      this._emit('signal', { type: 'candidate', candidate });
    };
    pc.onicegatheringstatechange = () => this._emitState();
    pc.onsignalingstatechange = () => this._emitState();
    pc.oniceconnectionstatechange = () => {
      this._emitState();
      const state = pc.iceConnectionState;
      if (state === 'failed') {
        this._fail('ice-failed', this.connected
          ? 'the connection was lost (ICE consent checks went unanswered)'
          : 'ICE failed: no network path between the two browsers worked');
      } else if (state === 'disconnected') {
        if (!this._disconnectTimer) {
          this._disconnectTimer = setTimeout(() => {
            this._disconnectTimer = null;
            if (pc.iceConnectionState === 'disconnected') {
              this._fail('ice-disconnected', `the connection was lost (no answer from the other side for ${Math.round(this.disconnectTimeoutMs / 1000)} s)`);
            }
          }, this.disconnectTimeoutMs);
        }
      } else {
        clearTimeout(this._disconnectTimer);
        this._disconnectTimer = null;
      }
    };
    pc.onconnectionstatechange = () => {
      this._emitState();
      if (pc.connectionState === 'failed') {
        this._fail('connection-failed', 'the connection failed');
      }
    };

    if (this.initiator) {
      this._setupChannel(pc.createDataChannel(this.channelLabel, { ordered: true }));
      this._makeOffer();
    } else {
      pc.ondatachannel = (ev) => {
        if (ev.channel.label === this.channelLabel && !this.channel) this._setupChannel(ev.channel);
      };
    }

    this._connectTimer = setTimeout(() => {
      if (!this.connected) {
        this._fail('connect-timeout', `no connection after ${Math.round(this.connectTimeoutMs / 1000)} s`);
      }
    }, this.connectTimeoutMs);
  }

  /** Applies signal data received from the other peer. */
  async signal(data) {
    if (this.destroyed || !data || typeof data !== 'object') return;
    try {
      if (data.type === 'offer' || data.type === 'answer') {
        if (data.type === 'offer' && this.initiator) return; // we offer; never accept crossing offers
        if (data.type === 'answer' && !this.initiator) return;
        if (typeof data.sdp !== 'string') return;
        await this.pc.setRemoteDescription({ type: data.type, sdp: data.sdp });
        this._remoteDescriptionSet = true;
        for (const c of this._pendingCandidates.splice(0)) await this._addCandidate(c);
        if (data.type === 'offer') {
          const answer = await this.pc.createAnswer();
          await this.pc.setLocalDescription(answer);
          this._emit('signal', { type: 'answer', sdp: this.pc.localDescription.sdp });
        }
      } else if (data.type === 'candidate' && data.candidate && typeof data.candidate.candidate === 'string') {
        if (this._remoteDescriptionSet) await this._addCandidate(data.candidate);
        else this._pendingCandidates.push(data.candidate);
      }
    } catch (e) {
      this._fail('signal-failed', `could not apply the ${data.type} from the other peer: ${e.message}`);
    }
  }

  /** Sends a string or binary message on the data channel. */
  send(data) {
    if (!this.channel || this.channel.readyState !== 'open') throw new Error('the data channel is not open');
    this.channel.send(data);
  }

  /** Snapshot of all the states, for error messages and diagnostics. */
  states() {
    const pc = this.pc;
    return {
      iceGatheringState: pc.iceGatheringState,
      iceConnectionState: pc.iceConnectionState,
      connectionState: pc.connectionState,
      signalingState: pc.signalingState,
      dtlsState: pc.sctp?.transport?.state ?? 'new',
    };
  }

  /** Closes everything. With an error, emits 'error' first. */
  destroy(error) {
    if (this.destroyed) return;
    this.destroyed = true;
    clearTimeout(this._connectTimer);
    clearTimeout(this._disconnectTimer);
    if (error) this._emit('error', { ...error, wasConnected: this.connected });
    try { this.channel?.close(); } catch { /* ignore */ }
    try { this.pc.close(); } catch { /* ignore */ }
    this._emit('close', {});
  }

  // --- internals ---------------------------------------------------------------------------

  async _makeOffer() {
    try {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this._emit('signal', { type: 'offer', sdp: this.pc.localDescription.sdp });
    } catch (e) {
      this._fail('offer-failed', `could not create an offer: ${e.message}`);
    }
  }

  async _addCandidate(c) {
    this.remoteCandidates.push(c.candidate);
    this._emit('candidate', { side: 'remote', candidate: c.candidate });
    if (!c.candidate) return;
    try {
      await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
    } catch (e) {
      // One unusable candidate is no reason to give up: the others may work.
      this._emit('candidate', { side: 'remote', candidate: `(rejected: ${e.message})` });
    }
  }

  _setupChannel(channel) {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    // Chromium can deliver a message before the channel's 'open' event, while readyState still
    // says 'connecting' (sending would throw): such messages wait here and follow 'connect'.
    let early = [];
    const opened = () => {
      if (this.destroyed || this.connected) return;
      this.connected = true;
      clearTimeout(this._connectTimer);
      this._emitState();
      this._emit('connect', {});
      const waiting = early;
      early = null;
      for (const data of waiting) {
        if (this.destroyed) return;
        this._emit('data', { data });
      }
    };
    channel.onopen = opened;
    // The answering side may get the channel from 'datachannel' already open, and then no
    // 'open' event follows.
    if (channel.readyState === 'open') queueMicrotask(opened);
    channel.onmessage = (ev) => {
      if (this.destroyed) return;
      if (!this.connected) {
        if (early.length >= MAX_EARLY_MESSAGES) {
          this._fail('channel-error', `more than ${MAX_EARLY_MESSAGES} messages before the data channel opened`);
          return;
        }
        early.push(ev.data);
        if (channel.readyState === 'open') opened();
        return;
      }
      this._emit('data', { data: ev.data });
    };
    channel.onclose = () => {
      if (this.destroyed) return;
      this.destroyed = true;
      clearTimeout(this._connectTimer);
      clearTimeout(this._disconnectTimer);
      try { this.pc.close(); } catch { /* ignore */ }
      this._emit('close', { remote: true });
    };
    channel.onerror = (ev) => {
      const err = ev.error;
      // Chromium reports a remote close/abort as an error ("User-Initiated Abort" / "Close called"),
      // followed by close; only a real failure is worth reporting.
      if (err && err.sctpCauseCode && err.sctpCauseCode !== 12) {
        this._fail('channel-error', `data channel error: ${err.message}`);
      }
    };
  }

  _fail(code, message) {
    if (this.destroyed) return;
    const s = this.states();
    this.destroy({
      code,
      message: `${message} (ICE connection state: ${s.iceConnectionState}, connection state: ${s.connectionState}, DTLS state: ${s.dtlsState})`,
      ...s,
    });
  }

  _emitState() {
    this._emit('state', this.states());
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
