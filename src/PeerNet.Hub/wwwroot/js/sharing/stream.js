// Streaming while downloading (docs/sharing.md §7, sequential priority): a media element plays
// /stream/TOKEN/FILE/NAME, the service worker (/stream-sw.js) forwards its byte-range requests
// here, and this page answers from its store, piece by piece, as verified pieces arrive. While a
// stream waits, the swarm fetches the pieces just ahead of it first (Swarm.setPriority).

/** How far ahead of the reading position the swarm is asked to fetch first, in bytes. */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;
const MIN_WINDOW_PIECES = 4;
const KEEPALIVE_MS = 10000;

/**
 * Registers the streaming service worker and waits until it controls this page. Returns null
 * where there is none to be had (no service workers, or an insecure origin such as plain http on
 * a LAN address): the caller then plays files once they are complete.
 */
export async function registerStreamWorker(log = () => {}) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return null;
  try {
    await navigator.serviceWorker.register('/stream-sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      // A first visit: the worker claims the page when it activates.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the service worker did not take control')), 5000);
        navigator.serviceWorker.addEventListener('controllerchange', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
    return navigator.serviceWorker;
  } catch (e) {
    log(`streaming unavailable: ${e.message}`);
    return null;
  }
}

/**
 * Serves one item's files to the service worker. store = {have, readPiece(i)} (store.js's
 * OpfsStore or item.js's MemoryStore); swarm is attached when there is one (a resumed download
 * opens its store before its swarm exists).
 */
export class MediaStreamer {
  constructor({ container, layout, store, files, log = () => {} }) {
    this.layout = layout;
    this.store = store;
    this.files = files; // [{path, type}]
    this.log = log;
    this.token = randomToken();
    this.swarm = null;
    this._container = container;
    this._waiters = new Map(); // piece → [resolve]
    this._readers = new Set();
    this._failure = null;
    this._keepalive = 0;
    this._onMessage = (ev) => this._message(ev);
    container.addEventListener('message', this._onMessage);
    container.startMessages?.();
  }

  /** The URL a media element plays file f from. */
  urlFor(f) {
    const name = this.files[f].path.split('/').pop();
    return `/stream/${this.token}/${f}/${encodeURIComponent(name)}`;
  }

  attach(swarm) {
    this.swarm = swarm;
    swarm.addEventListener('have', (ev) => this._arrived(ev.detail.piece));
    const stop = (why) => this._fail(why);
    swarm.addEventListener('error', (ev) => stop(ev.detail.error?.message ?? 'the download failed'));
  }

  close() {
    this._container.removeEventListener('message', this._onMessage);
    this._fail('the page closed the stream');
  }

  _message(ev) {
    const d = ev.data;
    if (!d || d.token !== this.token || !ev.ports[0]) return;
    const port = ev.ports[0];
    if (d.type === 'peernet-stream-probe') port.postMessage({ ok: true });
    else if (d.type === 'peernet-stream') this._open(d, port);
  }

  _open({ file, start, end }, port) {
    const size = this.layout.fileSizes[file];
    if (size === undefined) {
      port.postMessage({ ok: false, status: 404, message: 'no such file' });
      return;
    }
    if (start >= size && !(size === 0 && start === 0)) {
      port.postMessage({ ok: false, status: 416, size });
      return;
    }
    const last = size === 0 ? -1 : Math.min(end ?? size - 1, size - 1);
    port.postMessage({ ok: true, size, type: this.files[file].type, start, end: last });
    if (start > last) {
      port.close(); // an empty file: nothing will be pulled
      return;
    }
    const reader = { file, pos: start, last, port, closed: false };
    this._readers.add(reader);
    this._keepAlive();
    port.onmessage = async (m) => {
      if (m.data?.op === 'cancel') {
        this._close(reader);
        return;
      }
      if (m.data?.op !== 'pull' || reader.closed) return;
      try {
        if (reader.pos > reader.last) {
          port.postMessage({ done: true });
          this._close(reader);
          return;
        }
        const chunk = await this._read(reader);
        if (reader.closed) return;
        reader.pos += chunk.length;
        const done = reader.pos > reader.last;
        port.postMessage({ chunk: chunk.buffer, done }, [chunk.buffer]);
        if (done) this._close(reader);
      } catch (e) {
        if (!reader.closed) port.postMessage({ error: e.message });
        this._close(reader);
      }
    };
  }

  /** The rest of the piece holding the reader's position (within its range), once verified. */
  async _read(reader) {
    const { layout } = this;
    const offset = layout.fileOffsets[reader.file] + reader.pos;
    const piece = layout.pieceAt(offset);
    this._prioritize(piece);
    await this._have(piece);
    const plain = await this.store.readPiece(piece);
    const from = offset - layout.pieceRange(piece).start;
    const length = Math.min(plain.length - from, reader.last - reader.pos + 1);
    return plain.slice(from, from + length);
  }

  _prioritize(piece) {
    if (!this.swarm) return;
    const count = Math.max(MIN_WINDOW_PIECES, Math.ceil(READ_AHEAD_BYTES / this.layout.pieceSize));
    const p = this.swarm.priority;
    if (p && p.from === piece && p.count === count) return;
    this.swarm.setPriority(piece, count);
  }

  _have(piece) {
    if (this.store.have[piece >> 3] & (0x80 >> (piece & 7))) return Promise.resolve();
    if (this._failure) return Promise.reject(new Error(this._failure));
    return new Promise((resolve, reject) => {
      let list = this._waiters.get(piece);
      if (!list) this._waiters.set(piece, (list = []));
      list.push({ resolve, reject });
    });
  }

  _arrived(piece) {
    const list = this._waiters.get(piece);
    if (!list) return;
    this._waiters.delete(piece);
    for (const w of list) w.resolve();
  }

  _fail(why) {
    this._failure = why;
    for (const list of this._waiters.values()) for (const w of list) w.reject(new Error(why));
    this._waiters.clear();
    for (const r of [...this._readers]) this._close(r);
  }

  _close(reader) {
    if (reader.closed) return;
    reader.closed = true;
    try { reader.port.close(); } catch { /* already closed */ }
    this._readers.delete(reader);
    if (this._readers.size === 0) {
      clearInterval(this._keepalive);
      this._keepalive = 0;
      // Nobody is watching: back to rarest first.
      if (this.swarm?.priority) this.swarm.setPriority(null);
    }
  }

  _keepAlive() {
    if (this._keepalive) return;
    this._keepalive = setInterval(() => this._container.controller?.postMessage({ type: 'keepalive' }), KEEPALIVE_MS);
  }
}

function randomToken() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
