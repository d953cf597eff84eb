// The streaming service worker: answers the <video>/<audio> element's requests for
// /stream/TOKEN/FILE/NAME by asking the page that owns TOKEN (js/sharing/stream.js) for the bytes,
// which it reads from its store as verified pieces arrive. This is what lets a video play while it
// downloads: the media element sees an ordinary HTTP resource with byte ranges (RFC 9110 §14),
// the page fetches the pieces it asks for first. It lives at the site's root so its scope covers
// /stream/; every other request goes to the network untouched.

const PREFIX = '/stream/';
const ASK_TIMEOUT_MS = 10000;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
// The page pings while a stream is open, which keeps this worker alive between pulls.
self.addEventListener('message', () => {});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  event.respondWith(serve(event, url).catch((e) => text(500, `stream failed: ${e.message}`)));
});

async function serve(event, url) {
  const [token, fileText] = url.pathname.slice(PREFIX.length).split('/');
  const file = Number(fileText);
  if (!token || !Number.isInteger(file) || file < 0) return text(404, 'no such stream');
  const range = parseRange(event.request.headers.get('range'));
  if (range === 'bad') return text(416, 'unsupported Range header');

  const owner = await findOwner(event.clientId, token);
  if (!owner) return text(404, 'the page playing this stream is gone');
  const channel = new MessageChannel();
  const ask = replies(channel.port1);
  owner.postMessage({ type: 'peernet-stream', token, file, start: range?.start ?? 0, end: range?.end ?? null }, [channel.port2]);
  const head = await ask(null);
  if (!head.ok) {
    channel.port1.close();
    if (head.status === 416) {
      return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${head.size}` } });
    }
    return text(head.status ?? 404, head.message ?? 'no such stream');
  }

  const length = head.end - head.start + 1;
  const body = length === 0 ? null : new ReadableStream({
    async pull(controller) {
      const r = await ask({ op: 'pull' });
      if (r.error) {
        controller.error(new Error(r.error));
        channel.port1.close();
        return;
      }
      if (r.chunk) controller.enqueue(new Uint8Array(r.chunk));
      if (r.done) {
        controller.close();
        channel.port1.close();
      }
    },
    cancel() {
      channel.port1.postMessage({ op: 'cancel' });
      channel.port1.close();
    },
  }, { highWaterMark: 1 });
  const headers = {
    'Content-Type': head.type || 'application/octet-stream',
    'Content-Length': String(length),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
  };
  if (!range) return new Response(body, { status: 200, headers });
  headers['Content-Range'] = `bytes ${head.start}-${head.end}/${head.size}`;
  return new Response(body, { status: 206, headers });
}

/** "bytes=A-" or "bytes=A-B" (one range; media elements send no other kind); null without one. */
function parseRange(value) {
  if (!value) return null;
  const m = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(value.trim());
  if (!m) return 'bad';
  const start = Number(m[1]);
  const end = m[2] === '' ? null : Number(m[2]);
  if (end !== null && end < start) return 'bad';
  return { start, end };
}

/** The window that registered token: normally the one asking; otherwise whichever claims it. */
async function findOwner(clientId, token) {
  const candidates = [];
  if (clientId) {
    const c = await self.clients.get(clientId);
    if (c) candidates.push(c);
  }
  for (const c of await self.clients.matchAll({ type: 'window' })) if (!candidates.includes(c)) candidates.push(c);
  for (const c of candidates) {
    const channel = new MessageChannel();
    c.postMessage({ type: 'peernet-stream-probe', token }, [channel.port2]);
    const r = await replies(channel.port1)(null, 2000).catch(() => null);
    channel.port1.close();
    if (r?.ok) return c;
  }
  return null;
}

/** A request/reply helper over a port: one question at a time, replies in order. */
function replies(port) {
  const waiting = [];
  port.onmessage = (ev) => waiting.shift()?.resolve(ev.data);
  return (message, timeoutMs = ASK_TIMEOUT_MS) => new Promise((resolve, reject) => {
    const entry = { resolve: (v) => { clearTimeout(timer); resolve(v); } };
    const timer = timeoutMs > 0 && message === null
      ? setTimeout(() => { waiting.splice(waiting.indexOf(entry), 1); reject(new Error('the page did not answer')); }, timeoutMs)
      : 0;
    waiting.push(entry);
    if (message !== null) port.postMessage(message);
  });
}

function text(status, message) {
  return new Response(message, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
