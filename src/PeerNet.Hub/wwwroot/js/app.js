// The PeerNet web app: share files (#/) or get them (#/get/CID#k=KEY), with the sharing
// protocol v1 (docs/sharing.md): the sharer seals the files once and seeds them into the swarm
// `share/CID`; every page that opens the link downloads from every peer in the swarm, verifies
// each piece against the link's content id, and serves what it has to the others.

import { SignalingClient } from './signaling.js';
import { Diagnostics } from './diagnostics.js';
import { RateMeter } from './rate.js';
import { Sha256 } from './sha256.js';
import { MEMORY_LIMIT_BYTES, formatBytes, saveFilePickerAvailable } from './storage.js';
import { h, byTestId, setText, formatDuration } from './dom.js';
import { parseRoute } from './sharing/link.js';
import { collectFiles, sealFiles } from './sharing/sealer.js';
import { Swarm } from './sharing/swarm.js';
import { SwarmRoom } from './sharing/room.js';
import { verifyInfo } from './sharing/info.js';
import { openItem, KeyedStorage, MemoryStore } from './sharing/item.js';
import { openStore, loadSavedInfo, storeSupported } from './sharing/store.js';
import { registerStreamWorker, MediaStreamer } from './sharing/stream.js';
import { SharingError } from './sharing/errors.js';
import { ERROR_CODES } from './sharing/wire.js';

const PREVIEW_MAX_BYTES = 20 * 1024 * 1024;
const RENDER_INTERVAL_MS = 200;
// How long a download may have no peer before the page says every peer left.
const NO_PEERS_GRACE_MS = 2000;
// How long a reconnect to a peer still in the room holds back the "peers left" error.
const RECONNECT_GRACE_MS = 10000;
const HASH_CHUNK = 4 * 1024 * 1024;

const errorBox = document.querySelector('[data-testid="error"]');
const params = new URLSearchParams(location.search);
// ?connectTimeout=SECONDS (1–120): how long to wait for a peer connection before calling it failed.
const CONNECT_TIMEOUT_MS = 1000 * Math.min(120, Math.max(1, Number(params.get('connectTimeout')) || 30));
// ?relay=1: connect only through the TURN relay (iceTransportPolicy "relay").
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

function clearError(code) {
  if (code && errorBox.dataset.code !== code) return;
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
    case 'checksum-mismatch': return 'Damaged data.';
    case 'bad-link': return 'Bad link.';
    case 'missing-key': return 'Key missing.';
    case 'wrong-key': return 'Wrong key.';
    case 'bad-manifest': return 'Invalid file list.';
    default: return 'Error.';
  }
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

/** Connects the page to the hub; null (after showing why) when it cannot. */
async function connectSignaling(what) {
  const sig = new SignalingClient();
  diagnostics.attachSignaling(sig);
  try {
    await sig.connect();
    return sig;
  } catch (e) {
    showError('signaling-disconnected', `Could not reach the hub ${what} (signaling disconnected): ${e.message}`);
    return null;
  }
}

// =============================================================================================
// Sharing
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
  const folder = byTestId(view, 'folder-input');
  const drop = byTestId(view, 'drop-zone');
  let started = false;

  const begin = async (source) => {
    if (started) return;
    let entries;
    try {
      entries = await collectFiles(source);
    } catch (e) {
      showError('error', `Could not read the chosen files: ${e.message}`);
      return;
    }
    if (entries.length === 0 || started) return;
    started = true;
    input.disabled = true;
    folder.disabled = true;
    drop.classList.add('used');
    shareFiles(view, entries).catch((e) => showError(e.code ?? 'error', e.message));
  };
  input.addEventListener('change', () => begin(input.files));
  folder.addEventListener('change', () => begin(folder.files));
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const files = [...(ev.dataTransfer?.files ?? [])].filter((f) => f instanceof File);
    if (files.length) begin(files);
  });
}

async function shareFiles(view, entries) {
  const list = byTestId(view, 'send-file-list');
  list.replaceChildren(...entries.map((e, i) => h('li', { class: 'file', testid: 'send-file', dataset: { index: i } },
    h('span', { class: 'name' }, e.path), ' ', h('span', { class: 'muted' }, formatBytes(e.file.size)))));
  const total = entries.reduce((s, e) => s + e.file.size, 0);
  const status = byTestId(view, 'send-status');
  const panel = byTestId(view, 'share-panel');
  const sealing = byTestId(view, 'seal-progress');
  sealing.hidden = false;
  const sealed = await sealFiles(entries, {
    onProgress: (done, all) => {
      sealing.value = percentOf(done, all);
      setText(status, `Sealing the files for sharing: ${percentOf(done, all)}%`);
    },
  });
  sealing.hidden = true;
  log(`sealed ${entries.length} file(s), ${sealed.layout.pieceCount} pieces, content id ${sealed.cidText}`);

  const sig = await connectSignaling('to share the files');
  if (!sig) return;
  const swarm = new Swarm({ cid: sealed.cid, info: sealed.info, storage: sealed, log });
  const room = new SwarmRoom({ swarm, signaling: sig, cidText: sealed.cidText, iceTransportPolicy: ICE_TRANSPORT_POLICY, connectTimeoutMs: CONNECT_TIMEOUT_MS, log });
  const waitingText = `Sharing ${entries.length} file${entries.length === 1 ? '' : 's'} (${formatBytes(total)}). Keep this page open: everyone who opens the link gets the files from this page and from each other.`;

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

  const rows = new Map(); // peer id → row
  let count = 0;
  const receiverList = byTestId(view, 'receiver-list');
  room.addEventListener('connection', (ev) => {
    const { id, peer } = ev.detail;
    // The same receiver connecting again (after a dropped connection) keeps its row.
    const previous = rows.get(id);
    const reuse = previous && !['complete', 'cancelled'].includes(previous.el.dataset.state);
    const row = reuse ? previous : newReceiverRow(id, ++count, sealed.layout.payloadLength);
    if (reuse) {
      row.reopen('Reconnecting…');
    } else {
      rows.set(id, row);
      byTestId(view, 'no-receivers').hidden = true;
      receiverList.append(row.el);
    }
    row.peer = peer;
    diagnostics.addConnection(`Peer ${count}`, peer);
    // A replaced connection's late events leave the row to the current one.
    peer.addEventListener('error', (e) => row.peer === peer && row.finish('failed', e.detail.wasConnected
      ? `The receiver left or went offline: ${e.detail.message}.`
      : `Connection failed: ${e.detail.message}`));
    peer.addEventListener('close', () => row.peer === peer && row.finish('failed', 'The receiver left before it had every piece (peer left).'));
    row.onCancel = () => {
      row.finish('cancelled', 'Cancelled.');
      if (row.session) row.session.fail(ERROR_CODES['shutting-down'], 'cancelled by the sender');
      else row.peer.destroy();
    };
  });
  swarm.addEventListener('peer-open', (ev) => {
    const row = rows.get(ev.detail.id);
    if (!row) return;
    row.session = ev.detail.session;
    row.setStatus('sending', 'Connected');
  });
  swarm.addEventListener('peer-closed', (ev) => {
    const row = rows.get(ev.detail.id);
    if (!row || row.session !== ev.detail.session) return;
    if (ev.detail.remoteError?.code === ERROR_CODES['corrupt-piece']) {
      row.finish('failed', `Checksum mismatch: the receiver found a damaged piece and disconnected (${ev.detail.remoteError.text}).`);
    } else {
      row.finish('failed', `The receiver left before it had every piece (${ev.detail.message}).`);
    }
  });
  // The receivers' progress: the pieces they announce (whoever they got them from).
  const refresh = setInterval(() => {
    for (const row of rows.values()) row.update(sealed.layout);
  }, 250);

  sig.addEventListener('state', (ev) => {
    if (ev.detail.state === 'reconnecting') setText(status, 'Lost the hub; reconnecting… (connections already made continue)');
    else if (ev.detail.state === 'open') {
      setText(status, waitingText);
      clearError('signaling-disconnected');
    }
  });
  sig.addEventListener('closed', (ev) => {
    if (ev.detail.reason === 'closed by the page') return;
    showError('signaling-disconnected', `Lost the connection to the hub (${ev.detail.reason}): new receivers cannot reach this page. Connections already made continue.`);
  });

  // In the swarm before the link is shown, so whoever opens it at once finds this page there.
  try {
    await room.join();
  } catch (e) {
    showError('error', `Could not join the swarm: ${e.message}`);
    return;
  }
  const link = sealed.link(location.origin);
  byTestId(view, 'share-link').value = link;
  byTestId(view, 'share-qr').src = `api/qr?text=${encodeURIComponent(link)}`;
  panel.dataset.senderId = sig.id;
  panel.dataset.cid = sealed.cidText;
  panel.hidden = false;
  setText(status, waitingText);

  window.addEventListener('beforeunload', (ev) => {
    if ([...rows.values()].some((r) => !r.done)) ev.preventDefault();
  });
  window.addEventListener('pagehide', () => {
    clearInterval(refresh);
    swarm.stop('the sharer closed the page');
    room.leave();
  });
}

function newReceiverRow(peerId, n, total) {
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
  let done = 0;
  const render = () => {
    const p = percentOf(done, total);
    bar.value = p;
    setText(percent, `${p}%`);
  };
  const r = {
    el, session: null, done: false, onCancel: null,
    setStatus(state, text) {
      if (r.done) return;
      el.dataset.state = state;
      setText(status, text);
    },
    /** Bytes the receiver has (from its haves); complete when it has every piece. */
    update(layout) {
      const s = r.session;
      if (r.done || !s || !s.remoteBits) return;
      const have = s.remoteHaveCount;
      done = have === layout.pieceCount ? total : Math.min(total, have * layout.pieceSize);
      meter.add(s.stats.bytesUp);
      setText(speed, s.stats.bytesUp > 0 ? `${formatBytes(meter.rate())}/s from this page` : '');
      render();
      if (have === layout.pieceCount) {
        const up = s.stats.bytesUp;
        r.finish('complete', `Has every file${up < total ? ` (${formatBytes(up)} from this page, the rest from other peers)` : ''}: every piece verified.`);
      } else {
        r.setStatus('sending', `Receiving: ${have} of ${layout.pieceCount} pieces`);
      }
    },
    /** The same receiver is connecting again: the row goes on from where it was. */
    reopen(text) {
      r.done = false;
      r.session = null;
      cancel.disabled = false;
      cancel.hidden = false;
      r.setStatus('connecting', text);
    },
    finish(state, text) {
      if (r.done) return;
      r.setStatus(state, text);
      r.done = true;
      if (state === 'complete') done = total;
      cancel.disabled = true;
      cancel.hidden = true;
      setText(speed, '');
      render();
    },
  };
  cancel.addEventListener('click', () => r.onCancel?.());
  return r;
}

// =============================================================================================
// Getting
// =============================================================================================

async function startGetView() {
  const view = document.getElementById('receive-view');
  view.hidden = false;
  const status = byTestId(view, 'receive-status');
  const list = byTestId(view, 'receive-file-list');
  let route;
  try {
    route = parseRoute(location.hash, { requireKey: true });
  } catch (e) {
    setText(status, 'Stopped.');
    showError(e.code ?? 'bad-link', e.code === 'missing-key'
      ? 'This link has no key (#k=…): it lets a peer keep a copy, not read the files. Ask the sender for the whole link.'
      : `This link is damaged: ${e.message}. Ask the sender for a new one.`);
    return;
  }
  const { cid, cidText, key } = route;
  // Registered right away, so it controls the page by the time the file list arrives.
  const streamWorker = registerStreamWorker(log);
  const useMemory = params.get('storage') === 'memory' || !(await storeSupported());
  view.dataset.storage = useMemory ? 'memory' : 'opfs';
  setText(byTestId(view, 'storage-note'), useMemory
    ? `This browser cannot write to disk from a web page, so received files are kept in memory: at most ${formatBytes(MEMORY_LIMIT_BYTES)} in total.`
    : 'Files are written to this browser’s private storage on disk as they arrive (a reload resumes), then offered for saving.');

  let finished = false;
  let swarm = null;
  let rows = [];
  let opened = null;
  let store = null;
  let streamer = null;
  let fileDone = [];
  const overallMeter = new RateMeter();
  const overallBar = byTestId(view, 'overall-progress');
  const overallPercent = byTestId(view, 'overall-percent');
  const peerCount = byTestId(view, 'peer-count');
  const speed = byTestId(view, 'download-speed');

  const fail = (code, message) => {
    if (finished) return;
    finished = true;
    setText(status, 'Stopped.');
    view.dataset.state = 'failed';
    showError(code, message);
    for (const row of rows) row.stop();
  };

  // Opens the item (the key must open its manifest) and prepares where its files go.
  const prepare = async (info) => {
    opened = await openItem(info, key);
    const { manifest, layout } = opened;
    if (useMemory && layout.payloadLength > MEMORY_LIMIT_BYTES) {
      throw new SharingError('too-large', `These files (${formatBytes(layout.payloadLength)}) are too large for this browser: without disk storage it can receive at most ${formatBytes(MEMORY_LIMIT_BYTES)}. Try a current Chrome, Edge, Firefox or Safari.`);
    }
    store = useMemory
      ? new MemoryStore(layout, manifest.files.map((f) => f.type))
      : await openStore({ cid, cidText, info, layout });
    fileDone = layout.fileSizes.map(() => 0);
    for (let i = 0; i < layout.pieceCount; i++) if (store.have[i >> 3] & (0x80 >> (i & 7))) countPiece(i);
    showFiles(manifest);
    // Audio and video play while they download once the streaming worker controls the page (it
    // never holds up the download itself).
    streamWorker.then((container) => {
      if (!container || finished) return;
      streamer = new MediaStreamer({ container, layout, store, files: manifest.files, log });
      if (swarm) streamer.attach(swarm);
      rows.forEach((row, f) => row.offerPlay(streamer.urlFor(f)));
    });
    store.onFileComplete = (f) => fileComplete(f);
    for (let f = 0; f < manifest.files.length; f++) if (store.complete[f]) fileComplete(f);
    return new KeyedStorage(opened, store);
  };

  const countPiece = (i) => {
    for (const r of opened.layout.fileRanges(i)) fileDone[r.file] += r.length;
  };

  const showFiles = (manifest) => {
    log(`file list: ${manifest.files.length} file(s), ${manifest.payloadLength} bytes`);
    setText(status, `Receiving ${manifest.files.length} file${manifest.files.length === 1 ? '' : 's'} (${formatBytes(manifest.payloadLength)})…`);
    setText(byTestId(view, 'item-name'), manifest.name);
    view.dataset.state = 'receiving';
    rows = manifest.files.map((f, i) => newFileRow(f, i));
    list.replaceChildren(...rows.map((r) => r.el));
    byTestId(view, 'overall').hidden = false;
    render();
  };

  const render = throttle(() => {
    if (!opened) return;
    const total = opened.layout.payloadLength;
    const done = fileDone.reduce((a, b) => a + b, 0);
    overallMeter.add(done);
    const p = percentOf(done, total);
    overallBar.value = p;
    setText(overallPercent, `${p}%`);
    setText(speed, swarm?.complete ? '' : speedText(overallMeter, done, total));
    rows.forEach((row, f) => row.progress(fileDone[f]));
  });

  const fileComplete = async (f) => {
    const row = rows[f];
    if (!row || row.verifying) return;
    row.verifying = true;
    const file = await store.file(f);
    // The pieces were verified against the content id; the SHA-256 is for the person to compare.
    const hash = new Sha256();
    for (let off = 0; off < file.size; off += HASH_CHUNK) hash.update(new Uint8Array(await file.slice(off, off + HASH_CHUNK).arrayBuffer()));
    row.verified(hash.hex(), file);
  };

  const sig = await connectSignaling('to find the swarm');
  if (!sig) return;
  view.dataset.myId = sig.id;
  sig.addEventListener('closed', (ev) => {
    if (ev.detail.reason === 'closed by the page' || swarm?.connectionCount > 0) return;
    fail('signaling-disconnected', `Lost the connection to the hub before reaching any peer (${ev.detail.reason}).`);
  });

  // A reload resumes: the info block and the pieces recorded before are still on disk.
  let storage = null;
  let info = null;
  if (!useMemory) {
    const saved = await loadSavedInfo(cidText);
    if (saved) {
      try {
        info = await verifyInfo(saved, cid);
        storage = await prepare(info);
        log(`resuming: ${store.have.reduce((n, b) => n + popcount(b), 0)} pieces already stored`);
      } catch (e) {
        log(`saved state unusable (${e.message}); starting afresh`);
        info = null;
        storage = null;
      }
    }
  }
  swarm = new Swarm(info ? { cid, info, storage, log } : { cid, prepare, log });
  if (streamer && !streamer.swarm) streamer.attach(swarm);
  const room = new SwarmRoom({ swarm, signaling: sig, cidText, iceTransportPolicy: ICE_TRANSPORT_POLICY, connectTimeoutMs: CONNECT_TIMEOUT_MS, log });
  let everConnected = false;
  let lastClose = null;
  let noPeersTimer = null;
  let connections = 0;
  room.addEventListener('connection', (ev) => {
    connections++;
    diagnostics.addConnection(connections === 1 ? 'Sender' : `Peer ${connections}`, ev.detail.peer);
    ev.detail.peer.addEventListener('error', (e) => {
      if (!e.detail.wasConnected && !everConnected && swarm.connectionCount === 0 && !swarm.complete) {
        fail('connection-failed', `Could not connect to the sender: ${e.detail.message}.`);
      }
    });
  });
  swarm.addEventListener('peers', (ev) => {
    setText(peerCount, `${ev.detail.count} peer${ev.detail.count === 1 ? '' : 's'}`);
    if (ev.detail.count > 0) {
      everConnected = true;
      clearError('sender-offline');
      clearError('peer-left');
      if (!opened) setText(status, 'Connected. Getting the file list…');
      clearTimeout(noPeersTimer);
    } else if (everConnected && !swarm.complete && swarm.state === 'running') {
      // A moment without peers (one closes as another connects) is not worth an alarm.
      clearTimeout(noPeersTimer);
      const since = performance.now();
      const check = () => {
        if (swarm.connectionCount !== 0 || swarm.complete || swarm.state !== 'running') return;
        // A peer still in the room is being reconnected to: not gone yet, for a while (one that
        // closed its page without a goodbye stays a member until the hub notices).
        if (room.connecting && performance.now() - since < RECONNECT_GRACE_MS) noPeersTimer = setTimeout(check, NO_PEERS_GRACE_MS);
        else noPeersLeft();
      };
      noPeersTimer = setTimeout(check, NO_PEERS_GRACE_MS);
    }
  });
  swarm.addEventListener('peer-closed', (ev) => {
    lastClose = ev.detail;
    log(`peer ${ev.detail.id} closed: ${ev.detail.reason ?? (ev.detail.remoteError ? `their error ${ev.detail.remoteError.name}: ${ev.detail.remoteError.text}` : 'closed')}${ev.detail.message ? ` (${ev.detail.message})` : ''}`);
  });
  swarm.addEventListener('peer-dropped', (ev) => {
    if (!ev.detail.corrupt) log(`peer ${ev.detail.id} dropped: ${ev.detail.reason}${ev.detail.message ? ` (${ev.detail.message})` : ''}`);
    if (ev.detail.corrupt) {
      log(`peer ${ev.detail.id} sent damaged data and was dropped: ${ev.detail.message}`);
      if (swarm.connectionCount === 0) {
        for (const row of rows) row.markDamaged();
        showError('checksum-mismatch', `A peer sent damaged data (${ev.detail.message}), so it was dropped; nothing damaged was kept. The download continues when another peer has the files.`);
      }
    }
  });
  const noPeersLeft = () => {
    const remote = lastClose?.remoteError;
    if (remote && remote.code === ERROR_CODES['shutting-down'] && /cancel/i.test(remote.text)) {
      showError('cancelled', 'The sender cancelled this transfer.');
    } else if (!(errorBox.dataset.code === 'checksum-mismatch')) {
      showError('peer-left', 'Every peer that had the files left before the download finished (the sender closed the page or lost their connection). It continues if one of them comes back.');
    }
  };
  swarm.addEventListener('have', (ev) => {
    countPiece(ev.detail.piece);
    render();
  });
  swarm.addEventListener('complete', () => {
    log('all pieces verified');
    view.dataset.state = 'complete';
    setText(status, 'Done. This page keeps sharing the files with others while it stays open.');
    byTestId(view, 'receive-done').hidden = false;
    render();
  });
  swarm.addEventListener('error', (ev) => {
    const e = ev.detail.error;
    fail(e.code === 'wrong-key' || e.code === 'bad-manifest' ? e.code : 'error', e.code === 'wrong-key'
      ? 'The link’s key does not open these files: the link is damaged or was changed. Ask the sender for it again.'
      : e.message);
  });
  if (swarm.complete) swarm.dispatchEvent(new CustomEvent('complete'));

  window.addEventListener('beforeunload', (ev) => {
    if (!swarm.complete && swarm.state === 'running' && opened) ev.preventDefault();
  });
  window.addEventListener('pagehide', () => {
    swarm.stop('the page closed');
    room.leave();
    sig.close();
    store?.close();
  });

  setText(status, 'Looking for peers…');
  let members;
  try {
    members = await room.join();
  } catch (e) {
    fail('error', `Could not join the swarm: ${e.message}`);
    return;
  }
  if (members === 0 && !swarm.complete) {
    showError('sender-offline', 'The sender is not online: nobody who has these files is in the swarm right now. This page waits and starts as soon as someone shares them.');
  } else {
    setText(status, `Connecting to ${members} peer${members === 1 ? '' : 's'}…`);
  }
}

function popcount(b) {
  let n = 0;
  for (; b; b &= b - 1) n++;
  return n;
}

function newFileRow(meta, index) {
  const name = meta.path.split('/').pop();
  const bar = progressBar('file-progress', `Progress of ${name}`);
  const percent = h('span', { class: 'percent', testid: 'file-percent' }, '0%');
  const speed = h('span', { class: 'muted', testid: 'file-speed' });
  const status = h('span', { class: 'row-status', testid: 'file-status', role: 'status' }, 'Waiting');
  const sha = h('code', { class: 'sha', testid: 'file-sha256' });
  const save = h('a', { class: 'button primary small', testid: 'file-save', download: name, hidden: true }, 'Save');
  const saveAs = h('button', { type: 'button', class: 'button small', testid: 'file-save-as', hidden: true }, 'Save to…');
  const play = h('button', { type: 'button', class: 'button small', testid: 'file-play', hidden: true }, 'Play');
  const preview = h('div', { class: 'preview', testid: 'file-preview-box', hidden: true });
  const mediaKind = playableKind(meta.type);
  let player = null;
  const showPlayer = (url) => {
    player = h(mediaKind, { controls: true, preload: 'auto', src: url, testid: 'file-player', 'aria-label': `Player for ${name}` });
    preview.replaceChildren(player);
    preview.hidden = false;
    play.hidden = true;
    player.play().catch(() => { /* the person presses play on the controls */ });
  };
  play.addEventListener('click', () => { if (!player && play.dataset.url) showPlayer(play.dataset.url); });
  const el = h('li', { class: 'file', testid: 'file-row', dataset: { index, state: 'waiting' } },
    h('div', { class: 'row-head' },
      h('span', { class: 'name', testid: 'file-name', title: meta.path }, meta.path),
      h('span', { class: 'muted' }, formatBytes(meta.size))),
    h('div', { class: 'row-progress' }, bar, percent),
    h('div', { class: 'row-meta' }, status, ' ', speed),
    h('div', { class: 'row-sha', hidden: true }, h('span', { class: 'muted small' }, 'SHA-256 '), sha),
    h('div', { class: 'row-actions' }, save, saveAs, play),
    preview);
  const meter = new RateMeter();
  let received = 0;
  let state = 'waiting';
  const render = () => {
    const p = state === 'verified' ? 100 : Math.min(99, percentOf(received, meta.size));
    bar.value = p;
    setText(percent, `${p}%`);
    setText(speed, state === 'receiving' ? speedText(meter, received, meta.size) : '');
  };
  const setState = (s, text) => {
    state = s;
    el.dataset.state = s;
    setText(status, text);
  };
  return {
    el,
    verifying: false,
    /** Offers to play an audio or video file from url (a stream, or the finished file). */
    offerPlay(url) {
      if (!mediaKind || player) return;
      play.dataset.url = url;
      play.hidden = false;
    },
    progress(bytes) {
      if (state === 'verified' || state === 'failed') return;
      if (state === 'waiting' && bytes > 0) setState('receiving', 'Receiving…');
      received = bytes;
      meter.add(bytes);
      render();
    },
    verified(hex, file) {
      received = meta.size;
      setState('verified', 'Every piece verified');
      setText(sha, hex);
      sha.parentElement.hidden = false;
      sha.title = 'SHA-256 of the received file';
      render();
      const url = URL.createObjectURL(file);
      save.href = url;
      save.hidden = false;
      if (saveFilePickerAvailable()) {
        saveAs.hidden = false;
        saveAs.addEventListener('click', () => saveWithPicker(name, file, saveAs));
      }
      if (mediaKind && !player && !play.dataset.url) this.offerPlay(url);
      if ((meta.type ?? '').startsWith('image/') && meta.size <= PREVIEW_MAX_BYTES) {
        preview.replaceChildren(h('img', { src: url, alt: `Preview of ${name}`, testid: 'file-preview' }));
        preview.hidden = false;
      }
    },
    markDamaged() {
      if (state !== 'verified') setState('failed', 'Damaged data from a peer: discarded, waiting for another peer');
    },
    stop() {
      if (state !== 'verified') setState('failed', 'Not received');
      render();
    },
  };
}

/** 'video' or 'audio' when this browser can play the type, else null. */
function playableKind(type) {
  const kind = (type ?? '').split('/')[0];
  if (kind !== 'video' && kind !== 'audio') return null;
  return document.createElement(kind).canPlayType(type) ? kind : null;
}

async function saveWithPicker(name, file, button) {
  try {
    const handle = await window.showSaveFilePicker({ suggestedName: name });
    const writable = await handle.createWritable();
    setText(button, 'Saving…');
    await file.stream().pipeTo(writable); // streams from disk; closes the file when done
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
  if (hash.startsWith('/get')) startGetView().catch((e) => showError(e.code ?? 'error', e.message));
  else startSendView();
}

// Each view holds live connections, so switching views starts afresh.
window.addEventListener('hashchange', () => location.reload());
route();
