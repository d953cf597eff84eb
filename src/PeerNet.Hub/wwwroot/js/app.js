// The PeerNet web app: send files (#/) or receive them (#/get/<room>/<senderId>).

import { SignalingClient } from './signaling.js';
import { Peer } from './peer.js';
import { FileSender, FileReceiver, RateMeter } from './transfer.js';
import { createStorage, formatBytes, saveFilePickerAvailable } from './storage.js';
import { Diagnostics } from './diagnostics.js';
import { h, byTestId, setText, formatDuration } from './dom.js';

const PREVIEW_MAX_BYTES = 20 * 1024 * 1024;
const RENDER_INTERVAL_MS = 200;
// How long an offer from a peer not (yet) seen in the room waits for its peer-joined.
const UNKNOWN_OFFER_WAIT_MS = 3000;
const MANIFEST_TIMEOUT_MS = 30000;

const errorBox = document.querySelector('[data-testid="error"]');
const params = new URLSearchParams(location.search);
// ?connectTimeout=SECONDS (1–120): how long to wait for a peer connection before calling it failed.
const CONNECT_TIMEOUT_MS = 1000 * Math.min(120, Math.max(1, Number(params.get('connectTimeout')) || 30));
// ?relay=1: connect only through the TURN relay (iceTransportPolicy "relay"), e.g. to hide one's
// address from the other peer, or to check the relay works.
const ICE_TRANSPORT_POLICY = params.get('relay') === '1' ? 'relay' : 'all';
const diagnostics = new Diagnostics(document.getElementById('diagnostics-root'));

function log(...args) {
  console.info('[peernet]', ...args);
}

/** Shows a failure, explained in words. `code` is kept in data-code for tests and styling. */
function showError(code, message) {
  errorBox.dataset.code = code;
  errorBox.replaceChildren(h('strong', {}, titleFor(code)), ' ', message);
  errorBox.hidden = false;
  log(`error ${code}: ${message}`);
}

function clearError() {
  errorBox.hidden = true;
  delete errorBox.dataset.code;
  errorBox.replaceChildren();
}

function titleFor(code) {
  switch (code) {
    case 'peer-left': return 'Peer left.';
    case 'cancelled': return 'Cancelled.';
    case 'sender-offline': return 'Sender offline.';
    case 'connection-failed': return 'Connection failed.';
    case 'signaling-disconnected': return 'Signaling disconnected.';
    case 'checksum-mismatch': return 'Checksum mismatch.';
    case 'bad-link': return 'Bad link.';
    default: return 'Error.';
  }
}

function randomRoom() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function percentOf(done, total) {
  if (total <= 0) return done >= total ? 100 : 0;
  return Math.min(100, Math.floor((done * 100) / total));
}

function speedText(meter, done, total) {
  const rate = meter.rate();
  if (rate <= 0) return '';
  const eta = (total - done) / rate;
  return `${formatBytes(rate)}/s · ${done >= total ? 'done' : `${formatDuration(eta)} left`}`;
}

/** Calls fn at most every RENDER_INTERVAL_MS (and once more after the last call). */
function throttle(fn) {
  let timer = null;
  let last = 0;
  return () => {
    const wait = RENDER_INTERVAL_MS - (performance.now() - last);
    if (wait <= 0) {
      clearTimeout(timer);
      timer = null;
      last = performance.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        fn();
      }, wait);
    }
  };
}

function progressBar(testid, label) {
  return h('progress', { max: 100, value: 0, testid, 'aria-label': label });
}

// =============================================================================================
// Sending
// =============================================================================================

function startSendView() {
  const view = document.getElementById('send-view');
  view.hidden = false;
  byTestId(view, 'send-other').addEventListener('click', (ev) => {
    ev.preventDefault();
    location.hash = '#/';
    location.reload();
  });
  const input = byTestId(view, 'file-input');
  const drop = byTestId(view, 'drop-zone');
  let started = false;

  const begin = (fileList) => {
    const files = [...fileList].filter((f) => f instanceof File);
    if (started || files.length === 0) return;
    started = true;
    input.disabled = true;
    drop.classList.add('used');
    shareFiles(view, files).catch((e) => showError('error', e.message));
  };
  input.addEventListener('change', () => begin(input.files));
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer?.files) begin(ev.dataTransfer.files);
  });
}

async function shareFiles(view, files) {
  const list = byTestId(view, 'send-file-list');
  list.replaceChildren(...files.map((f, i) => h('li', { class: 'file', testid: 'send-file', dataset: { index: i } },
    h('span', { class: 'name' }, f.name), ' ', h('span', { class: 'muted' }, formatBytes(f.size)))));
  const total = files.reduce((s, f) => s + f.size, 0);
  const status = byTestId(view, 'send-status');
  const panel = byTestId(view, 'share-panel');

  const sig = new SignalingClient();
  diagnostics.attachSignaling(sig);
  try {
    await sig.connect();
  } catch (e) {
    showError('signaling-disconnected', `Could not reach the hub to create a link (${e.message}).`);
    return;
  }
  const room = randomRoom();
  let members;
  try {
    members = new Set(await sig.join(room));
  } catch (e) {
    showError('error', `Could not create the share room: ${e.message}`);
    return;
  }

  const showLink = () => {
    const link = `${location.origin}/#/get/${room}/${sig.id}`;
    byTestId(view, 'share-link').value = link;
    byTestId(view, 'share-qr').src = `api/qr?text=${encodeURIComponent(link)}`;
    panel.dataset.senderId = sig.id;
    return link;
  };
  showLink();
  panel.hidden = false;
  const waitingText = `Ready: ${files.length} file${files.length === 1 ? '' : 's'} (${formatBytes(total)}). Keep this page open while people download.`;
  setText(status, waitingText);

  byTestId(view, 'copy-link').addEventListener('click', async (ev) => {
    const field = byTestId(view, 'share-link');
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand?.('copy');
    }
    setText(ev.target, 'Copied');
    setTimeout(() => setText(ev.target, 'Copy'), 1500);
  });

  const receivers = new Map(); // peer id -> Receiver row state
  let receiverCount = 0;
  const receiverList = byTestId(view, 'receiver-list');

  const acceptOffer = (from, data) => {
    const existing = receivers.get(from);
    if (existing && !existing.done) {
      existing.peer.signal(data);
      return;
    }
    receiverCount++;
    const r = newReceiverRow(from, receiverCount, files);
    receivers.set(from, r);
    byTestId(view, 'no-receivers').hidden = true;
    receiverList.append(r.el);
    const peer = new Peer({ initiator: false, iceServers: sig.iceServers, iceTransportPolicy: ICE_TRANSPORT_POLICY, remoteId: from, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    r.peer = peer;
    diagnostics.addConnection(`Receiver ${receiverCount}`, peer);
    peer.addEventListener('signal', (ev) => sig.signal(from, ev.detail));
    log(`receiver ${from}: offer received`);
    peer.addEventListener('error', (ev) => {
      log(`receiver ${from}: ${ev.detail.code}: ${ev.detail.message}`);
      r.finish('failed', ev.detail.wasConnected
        ? `The receiver left or went offline before the transfer finished: ${ev.detail.message}.`
        : `Connection failed: ${ev.detail.message}`);
    });
    peer.addEventListener('close', () => r.finish('failed', 'The receiver left before the transfer finished (peer left).'));
    peer.addEventListener('connect', () => {
      log(`receiver ${from}: connected, sending`);
      r.setStatus('sending', 'Sending…');
      const sender = new FileSender(peer, files);
      r.sender = sender;
      sender.addEventListener('progress', (ev) => r.progress(ev.detail.bytesAcked, ev.detail.totalBytes));
      const started = performance.now();
      sender.addEventListener('complete', () => {
        const seconds = (performance.now() - started) / 1000;
        log(`receiver ${from}: delivered in ${seconds.toFixed(1)} s`);
        r.finish('complete', `Delivered in ${formatDuration(seconds)} (${formatBytes(total / Math.max(seconds, 0.001))}/s): every file arrived and was verified.`);
        setTimeout(() => peer.destroy(), 1000);
      });
      sender.addEventListener('error', (ev) => log(`receiver ${from}: transfer failed: ${ev.detail.code}: ${ev.detail.message}`));
      sender.addEventListener('error', (ev) => r.finish('failed', ev.detail.code === 'peer-closed'
        ? 'The receiver left before the transfer finished (peer left).'
        : `Failed: ${ev.detail.message}`));
      sender.addEventListener('cancelled', () => r.finish('cancelled', 'Cancelled.'));
      sender.start();
    });
    r.onCancel = () => {
      if (r.sender) r.sender.cancel();
      else {
        r.finish('cancelled', 'Cancelled.');
        peer.destroy();
      }
    };
    peer.signal(data);
  };

  const pendingOffers = new Map(); // id -> {data, timer}
  sig.addEventListener('signal', (ev) => {
    const { from, data } = ev.detail;
    if (!data || typeof data !== 'object') return;
    if (receivers.has(from) && !receivers.get(from).done) {
      receivers.get(from).peer.signal(data);
    } else if (data.type === 'offer') {
      if (members.has(from)) {
        acceptOffer(from, data);
      } else {
        // Only peers in the share room may receive. Its peer-joined normally comes first; wait
        // a moment in case it does not.
        clearTimeout(pendingOffers.get(from)?.timer);
        const timer = setTimeout(() => pendingOffers.delete(from), UNKNOWN_OFFER_WAIT_MS);
        pendingOffers.set(from, { data, timer, candidates: [] });
      }
    } else if (data.type === 'candidate' && pendingOffers.has(from)) {
      pendingOffers.get(from).candidates.push(data);
    }
  });
  sig.addEventListener('peer-joined', (ev) => {
    if (ev.detail.room !== room) return;
    members.add(ev.detail.id);
    const pending = pendingOffers.get(ev.detail.id);
    if (pending) {
      pendingOffers.delete(ev.detail.id);
      clearTimeout(pending.timer);
      acceptOffer(ev.detail.id, pending.data);
      for (const c of pending.candidates) receivers.get(ev.detail.id)?.peer.signal(c);
    }
  });
  sig.addEventListener('peer-left', (ev) => {
    if (ev.detail.room !== room) return;
    members.delete(ev.detail.id);
    const r = receivers.get(ev.detail.id);
    if (r && !r.done) {
      r.finish('failed', 'The receiver left before the transfer finished (peer left).');
      r.peer?.destroy(); // its transfer stops when the connection closes
    }
  });
  sig.addEventListener('state', (ev) => {
    if (ev.detail.state === 'reconnecting') setText(status, 'Lost the hub; reconnecting… (transfers already running continue)');
    else if (ev.detail.state === 'open') {
      setText(status, waitingText);
      if (errorBox.dataset.code === 'signaling-disconnected') clearError();
    }
  });
  sig.addEventListener('welcome', (ev) => {
    if (ev.detail.idChanged) {
      showLink();
      setText(status, 'The hub gave this page a new address: the link changed, share the new one.');
    }
  });
  sig.addEventListener('closed', (ev) => {
    if (ev.detail.reason === 'closed by the page') return;
    showError('signaling-disconnected', `Lost the connection to the hub (${ev.detail.reason}): new receivers cannot reach this page. Transfers already running continue.`);
  });

  // Closing the page ends the share: ask first while someone is still downloading.
  window.addEventListener('beforeunload', (ev) => {
    if ([...receivers.values()].some((r) => !r.done)) ev.preventDefault();
  });
  // Leaving the room right away tells receivers "peer left" without waiting for the hub's grace period.
  window.addEventListener('pagehide', () => {
    sig.leaveAllNow();
    for (const r of receivers.values()) r.peer?.destroy();
  });
}

function newReceiverRow(peerId, n, files) {
  const bar = progressBar('receiver-progress', `Progress of receiver ${n}`);
  const percent = h('span', { class: 'percent', testid: 'receiver-percent' }, '0%');
  const speed = h('span', { class: 'muted', testid: 'receiver-speed' });
  const status = h('span', { class: 'row-status', testid: 'receiver-status', role: 'status' }, 'Connecting…');
  const cancel = h('button', { type: 'button', class: 'button small', testid: 'cancel-receiver' }, 'Cancel');
  const el = h('li', { class: 'receiver', testid: 'receiver-row', dataset: { peerId, state: 'connecting' } },
    h('div', { class: 'row-head' },
      h('span', { class: 'name' }, `Receiver ${n} `, h('code', { class: 'muted' }, peerId.slice(0, 8))),
      cancel),
    h('div', { class: 'row-progress' }, bar, percent),
    h('div', { class: 'row-meta' }, status, ' ', speed));
  const meter = new RateMeter();
  const total = files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  const render = throttle(() => {
    const p = percentOf(done, total);
    bar.value = p;
    setText(percent, `${p}%`);
    setText(speed, r.done ? '' : speedText(meter, done, total));
  });
  const r = {
    el, peer: null, sender: null, done: false, onCancel: null,
    setStatus(state, text) {
      el.dataset.state = state;
      setText(status, text);
    },
    progress(bytes) {
      done = bytes;
      meter.add(bytes);
      render();
    },
    finish(state, text) {
      if (r.done) return;
      r.done = true;
      if (state === 'complete') done = total;
      r.setStatus(state, text);
      cancel.disabled = true;
      cancel.hidden = true;
      render();
    },
  };
  cancel.addEventListener('click', () => r.onCancel?.());
  return r;
}

// =============================================================================================
// Receiving
// =============================================================================================

async function startReceiveView(room, senderId) {
  const view = document.getElementById('receive-view');
  view.hidden = false;
  const status = byTestId(view, 'receive-status');
  const list = byTestId(view, 'receive-file-list');
  let finished = false;
  let connected = false;
  let receiver = null;
  let peer = null;
  const rows = [];

  const fail = (code, message) => {
    if (finished) return;
    finished = true;
    setText(status, 'Stopped.');
    view.dataset.state = 'failed';
    showError(code, message);
    for (const row of rows) row.stop();
    // A moment for any last message (e.g. a checksum error) to reach the sender.
    setTimeout(() => peer?.destroy(), 500);
  };

  const storage = await createStorage(params.get('storage'));
  setText(byTestId(view, 'storage-note'), storage.describe());
  view.dataset.storage = storage.kind;
  const sig = new SignalingClient();
  diagnostics.attachSignaling(sig);
  window.addEventListener('beforeunload', (ev) => {
    if (receiver?.state === 'receiving') ev.preventDefault();
  });
  window.addEventListener('pagehide', () => {
    peer?.destroy();
    sig.close();
    storage.dispose?.();
  });
  sig.addEventListener('closed', (ev) => {
    if (ev.detail.reason === 'closed by the page' || connected) return;
    fail('signaling-disconnected', `Lost the connection to the hub before reaching the sender (${ev.detail.reason}).`);
  });
  try {
    await sig.connect();
  } catch (e) {
    fail('signaling-disconnected', `Could not reach the hub (signaling disconnected): ${e.message}`);
    return;
  }
  view.dataset.myId = sig.id;

  let peers;
  try {
    peers = await sig.join(room);
  } catch (e) {
    fail('error', `Could not join the share: ${e.message}`);
    return;
  }
  if (!peers.includes(senderId)) {
    fail('sender-offline', 'The sender is not online (they closed the page or the link expired).');
    return;
  }
  setText(status, 'Connecting to the sender…');

  peer = new Peer({ initiator: true, iceServers: sig.iceServers, iceTransportPolicy: ICE_TRANSPORT_POLICY, remoteId: senderId, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  diagnostics.addConnection('Sender', peer);
  receiver = new FileReceiver(peer, storage);
  peer.addEventListener('signal', (ev) => sig.signal(senderId, ev.detail));
  sig.addEventListener('signal', (ev) => {
    // Only the sender may steer this connection; the hub guarantees `from` is genuine.
    if (ev.detail.from === senderId) peer.signal(ev.detail.data);
  });
  sig.addEventListener('peer-left', (ev) => {
    if (ev.detail.room === room && ev.detail.id === senderId && !receiver.finished) {
      fail('peer-left', 'The sender left before the transfer finished: they closed the page or lost their connection.');
    }
  });
  peer.addEventListener('connect', () => {
    log('connected to the sender');
    connected = true;
    setText(status, 'Connected. Waiting for the file list…');
    setTimeout(() => {
      if (!receiver.manifest && !finished) {
        fail('error', 'Connected, but the sender sent no file list within 30 s (is it running a different version of PeerNet?).');
      }
    }, MANIFEST_TIMEOUT_MS);
  });
  peer.addEventListener('error', (ev) => {
    if (receiver.finished) return;
    if (ev.detail.wasConnected) {
      // Once connected, a connection that dies means the sender went away (closed the page
      // without a goodbye, slept, or lost the network): from here these look the same.
      fail('peer-left', `The sender left or went offline before the transfer finished: ${ev.detail.message}.`);
    } else {
      fail('connection-failed', `Could not connect to the sender: ${ev.detail.message}.`);
    }
  });
  peer.addEventListener('close', () => {
    if (receiver.finished || finished) return;
    fail('peer-left', connected
      ? 'The sender left before the transfer finished (the connection was closed: they closed the page or lost their connection).'
      : 'The sender closed the connection before it was established.');
  });

  receiver.addEventListener('manifest', (ev) => {
    const files = ev.detail.files;
    const total = files.reduce((s, f) => s + f.size, 0);
    log(`file list: ${files.length} file(s), ${total} bytes`);
    setText(status, `Receiving ${files.length} file${files.length === 1 ? '' : 's'} (${formatBytes(total)})…`);
    view.dataset.state = 'receiving';
    rows.length = 0;
    rows.push(...files.map((f, i) => newFileRow(f, i)));
    list.replaceChildren(...rows.map((r) => r.el));
  });
  receiver.addEventListener('file-progress', (ev) => rows[ev.detail.file]?.progress(ev.detail.received));
  receiver.addEventListener('file-verified', (ev) => rows[ev.detail.file]?.verified(ev.detail.sha256, ev.detail.blob));
  receiver.addEventListener('complete', () => {
    log('all files verified');
    finished = true;
    view.dataset.state = 'complete';
    setText(status, 'Done.');
    byTestId(view, 'receive-done').hidden = false;
  });
  receiver.addEventListener('cancelled', () => fail('cancelled', 'The sender cancelled this transfer.'));
  receiver.addEventListener('error', (ev) => {
    const code = ev.detail.code === 'checksum-mismatch' ? 'checksum-mismatch' : 'error';
    if (code === 'checksum-mismatch') {
      for (const row of rows) row.markMismatch();
    }
    fail(code, ev.detail.message);
  });
}

function newFileRow(meta, index) {
  const bar = progressBar('file-progress', `Progress of ${meta.name}`);
  const percent = h('span', { class: 'percent', testid: 'file-percent' }, '0%');
  const speed = h('span', { class: 'muted', testid: 'file-speed' });
  const status = h('span', { class: 'row-status', testid: 'file-status', role: 'status' }, 'Waiting');
  const sha = h('code', { class: 'sha', testid: 'file-sha256' });
  const save = h('a', { class: 'button primary small', testid: 'file-save', download: meta.name, hidden: true }, 'Save');
  const saveAs = h('button', { type: 'button', class: 'button small', testid: 'file-save-as', hidden: true }, 'Save to…');
  const preview = h('div', { class: 'preview', testid: 'file-preview-box', hidden: true });
  const el = h('li', { class: 'file', testid: 'file-row', dataset: { index, state: 'waiting' } },
    h('div', { class: 'row-head' },
      h('span', { class: 'name', testid: 'file-name' }, meta.name),
      h('span', { class: 'muted' }, formatBytes(meta.size))),
    h('div', { class: 'row-progress' }, bar, percent),
    h('div', { class: 'row-meta' }, status, ' ', speed),
    h('div', { class: 'row-sha', hidden: true }, h('span', { class: 'muted small' }, 'SHA-256 '), sha),
    h('div', { class: 'row-actions' }, save, saveAs),
    preview);
  const meter = new RateMeter();
  let received = 0;
  let state = 'waiting';
  const render = throttle(() => {
    const p = state === 'verified' ? 100 : Math.min(99, percentOf(received, meta.size));
    bar.value = p;
    setText(percent, `${p}%`);
    setText(speed, state === 'receiving' ? speedText(meter, received, meta.size) : '');
  });
  const setState = (s, text) => {
    state = s;
    el.dataset.state = s;
    setText(status, text);
  };
  return {
    el,
    progress(bytes) {
      if (state === 'waiting') setState('receiving', 'Receiving…');
      received = bytes;
      meter.add(bytes);
      render();
    },
    verified(hex, blob) {
      received = meta.size;
      setState('verified', 'SHA-256 verified');
      setText(sha, hex);
      sha.parentElement.hidden = false;
      sha.title = 'SHA-256 of the received file; it matches the sender’s';
      render();
      const url = URL.createObjectURL(blob);
      save.href = url;
      save.hidden = false;
      if (saveFilePickerAvailable()) {
        saveAs.hidden = false;
        saveAs.addEventListener('click', () => saveWithPicker(meta, blob, saveAs));
      }
      if (meta.type.startsWith('image/') && meta.size <= PREVIEW_MAX_BYTES) {
        preview.replaceChildren(h('img', { src: url, alt: `Preview of ${meta.name}`, testid: 'file-preview' }));
        preview.hidden = false;
      }
    },
    markMismatch() {
      if (state !== 'verified') setState('failed', 'Checksum mismatch: not saved');
    },
    stop() {
      if (state !== 'verified') setState('failed', 'Not received');
      render();
    },
  };
}

async function saveWithPicker(meta, blob, button) {
  try {
    const handle = await window.showSaveFilePicker({ suggestedName: meta.name });
    const writable = await handle.createWritable();
    setText(button, 'Saving…');
    await blob.stream().pipeTo(writable); // streams from disk; closes the file when done
    setText(button, 'Saved');
  } catch (e) {
    if (e.name !== 'AbortError') setText(button, `Could not save: ${e.message}`);
  }
}

// =============================================================================================
// Routing
// =============================================================================================

function route() {
  const hash = location.hash.replace(/^#/, '');
  const get = /^\/get\/([^/]+)\/([^/?]+)\/?$/.exec(hash);
  if (get) {
    let room;
    let sender;
    try {
      room = decodeURIComponent(get[1]);
      sender = decodeURIComponent(get[2]);
    } catch {
      showError('bad-link', 'This link is damaged. Ask the sender for a new one.');
      return;
    }
    startReceiveView(room, sender).catch((e) => showError('error', e.message));
  } else if (hash.startsWith('/get')) {
    showError('bad-link', 'This link is incomplete. Ask the sender for the whole link.');
  } else {
    startSendView();
  }
}

// Each view holds live connections, so switching views starts afresh.
window.addEventListener('hashchange', () => location.reload());
route();
