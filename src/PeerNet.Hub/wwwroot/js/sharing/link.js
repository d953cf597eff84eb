// The link of a shared item (docs/sharing.md §1):
//
//   https://HUB/#/get/CID#k=KEY      read link: the content id and the content key
//   https://HUB/#/get/CID            pin link: fetch, verify and serve, but not read
//
// Everything after the first '#' is the URL's fragment, which browsers never send to a server.
// CID and KEY are canonical base64url of 32 bytes (43 characters). The web app's own options
// may sit in the query (`/?relay=1#/get/...`); they are not part of the item.

import { b64uDecode, b64uEncode } from './bytes.js';
import { LinkError } from './errors.js';

export const CID_BYTES = 32;
export const KEY_BYTES = 32;

const ROUTE = /^#?\/get\/([^#]*)(?:#(.*))?$/s;

function decode32(text, what) {
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(text) ? b64uDecode(text) : null;
  if (!bytes || bytes.length !== 32) {
    throw new LinkError('bad-link', `the link's ${what} is damaged: it must be 43 base64url characters`);
  }
  return bytes;
}

/**
 * Parses the fragment part (`#/get/CID#k=KEY`, with or without its leading '#').
 * Returns {cid, cidText, key, keyText}; key and keyText are null for a pin link.
 * With requireKey, a pin link throws LinkError 'missing-key'.
 */
export function parseRoute(fragment, { requireKey = false } = {}) {
  if (typeof fragment !== 'string') throw new LinkError('bad-link', 'not a link');
  const m = ROUTE.exec(fragment);
  if (!m) throw new LinkError('bad-link', 'this is not a PeerNet share link (it must end in #/get/CID#k=KEY)');
  const cidText = m[1];
  const cid = decode32(cidText, 'content id');
  let key = null;
  let keyText = null;
  if (m[2] !== undefined) {
    const k = /^k=(.*)$/s.exec(m[2]);
    if (!k) throw new LinkError('bad-link', 'the link\'s key part is damaged: it must be #k=KEY');
    keyText = k[1];
    key = decode32(keyText, 'key');
  }
  if (requireKey && !key) {
    throw new LinkError('missing-key', 'the link has no key (#k=…): it lets you keep a copy, not read the files. Ask for the whole link.');
  }
  return { cid, cidText, key, keyText };
}

/**
 * Parses a whole link (`https://HUB/#/get/CID#k=KEY`). Returns {hub, cid, cidText, key, keyText}
 * where hub is the origin (e.g. https://hub.example:8443).
 */
export function parseLink(text, options = {}) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    throw new LinkError('bad-link', 'this is not a link (not a URL)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new LinkError('bad-link', `a share link starts with https://, not ${url.protocol}`);
  if (url.pathname !== '/' || url.username || url.password) throw new LinkError('bad-link', 'a share link is the hub\'s address followed by #/get/…');
  return { hub: url.origin, ...parseRoute(url.hash, options) };
}

/** The read link, or the pin link when key is null. `hub` is an origin such as location.origin. */
export function formatLink(hub, cid, key = null) {
  const origin = String(hub).replace(/\/+$/, '');
  return `${origin}/${formatRoute(cid, key)}`;
}

/** Just the fragment: `#/get/CID#k=KEY` (or `#/get/CID`). */
export function formatRoute(cid, key = null) {
  if (!(cid instanceof Uint8Array) || cid.length !== 32) throw new TypeError('cid must be 32 bytes');
  if (key !== null && (!(key instanceof Uint8Array) || key.length !== 32)) throw new TypeError('key must be 32 bytes');
  return `#/get/${b64uEncode(cid)}${key ? `#k=${b64uEncode(key)}` : ''}`;
}

/** The hub room of a swarm (§4). */
export function swarmRoom(cid) {
  return `share/${typeof cid === 'string' ? cid : b64uEncode(cid)}`;
}
