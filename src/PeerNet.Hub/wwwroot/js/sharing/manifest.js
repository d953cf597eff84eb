// The manifest (docs/sharing.md §2): UTF-8 JSON naming the item and its files, in payload order.
//
//   {"v":1,"name":"holiday","files":[{"path":"holiday/beach.jpg","size":2481152,
//                                      "type":"image/jpeg","mtime":1763950000000}, ...]}
//
// A downloader writes files under these paths, so every rule is checked before anything is
// created: a manifest that breaks one is 'bad-manifest' as a whole. Unknown fields are ignored.

import { utf8, utf8Strict, asBytes } from './bytes.js';
import { ManifestError } from './errors.js';

export const MANIFEST_VERSION = 1;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_FILES = 100000;
export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_TYPE_CHARS = 255;
export const MAX_SIZE = Number.MAX_SAFE_INTEGER; // 2^53 − 1

// C0, DEL and C1 controls (what .NET's char.IsControl calls control characters).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function fail(reason, message) {
  throw new ManifestError(reason, `The file list is invalid: ${message}.`);
}

/** UTF-8 length of a well-formed string. */
function utf8Length(s) {
  return utf8.encode(s).length;
}

/**
 * Checks one relative path against §2; throws ManifestError with reason 'bad-path'.
 * Exported so that anything building paths (folder sealing) can ask first.
 */
export function validatePath(path) {
  if (typeof path !== 'string') fail('bad-path', 'a path is not text');
  if (LONE_SURROGATE.test(path)) fail('bad-path', 'a path is not valid Unicode');
  const bytes = utf8Length(path);
  if (bytes < 1 || bytes > MAX_PATH_BYTES) fail('bad-path', `a path is ${bytes} bytes long (1–${MAX_PATH_BYTES} allowed)`);
  if (path.startsWith('/')) fail('bad-path', `the path “${path}” is absolute`);
  if (path.includes('\\')) fail('bad-path', `the path “${path}” contains a backslash`);
  if (CONTROL.test(path)) fail('bad-path', 'a path contains a control character');
  for (const segment of path.split('/')) {
    if (segment === '') fail('bad-path', `the path “${path}” has an empty segment`);
    if (segment === '.' || segment === '..') fail('bad-path', `the path “${path}” has a “${segment}” segment`);
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) fail('bad-path', `a name in “${path}” is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/**
 * The key under which two paths count as the same file: case folded code point by code point
 * with the simple (one-to-one) upper-case mapping, like .NET's OrdinalIgnoreCase.
 */
export function pathFoldKey(path) {
  let out = '';
  for (const ch of path) {
    const upper = ch.toUpperCase();
    out += upper.length === ch.length || [...upper].length === 1 ? upper : ch;
  }
  return out;
}

function validateFiles(files) {
  if (!Array.isArray(files)) fail('bad-files', '“files” is not a list');
  if (files.length < 1 || files.length > MAX_FILES) fail('bad-files', `it has ${files.length} files (1–${MAX_FILES} allowed)`);
  const seen = new Set();
  const out = [];
  let total = 0;
  for (const f of files) {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) fail('bad-file', 'a file entry is not an object');
    validatePath(f.path);
    const key = pathFoldKey(f.path);
    if (seen.has(key)) fail('duplicate-path', `“${f.path}” appears twice (names are compared ignoring case)`);
    seen.add(key);
    if (!Number.isSafeInteger(f.size) || f.size < 0) fail('bad-size', `the size of “${f.path}” is not an integer between 0 and 2^53−1`);
    total += f.size;
    if (total > MAX_SIZE) fail('bad-size', 'the sizes add up to more than 2^53−1 bytes');
    const entry = { path: f.path, size: f.size };
    if (f.type !== undefined) {
      if (typeof f.type !== 'string' || f.type.length > MAX_TYPE_CHARS || LONE_SURROGATE.test(f.type)) {
        fail('bad-type', `the type of “${f.path}” is not text of at most ${MAX_TYPE_CHARS} characters`);
      }
      entry.type = f.type;
    }
    if (f.mtime !== undefined) {
      if (!Number.isSafeInteger(f.mtime)) fail('bad-mtime', `the time of “${f.path}” is not an integer`);
      entry.mtime = f.mtime;
    }
    out.push(entry);
  }
  // A name used both as a file and as a folder ("a" and "a/b") cannot be written on any file
  // system; such a list could only come from a faulty or hostile sharer.
  for (const key of seen) {
    let slash = key.lastIndexOf('/');
    while (slash > 0) {
      const parent = key.slice(0, slash);
      if (seen.has(parent)) fail('path-conflict', `“${parent}” is both a file and a folder`);
      slash = parent.lastIndexOf('/');
    }
  }
  return { files: out, payloadLength: total };
}

/**
 * Validates a manifest object and returns its normalized form:
 * {v: 1, name, files: [{path, size, type?, mtime?}], payloadLength}.
 */
export function validateManifest(m) {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) fail('not-object', 'it is not a JSON object');
  if (m.v !== MANIFEST_VERSION) fail('bad-version', `its version is ${JSON.stringify(m.v)}, not 1`);
  if (typeof m.name !== 'string' || LONE_SURROGATE.test(m.name)) fail('bad-name', 'its name is not text');
  // Names are shown (and printed in terminals): no control characters, as in paths.
  if (CONTROL.test(m.name)) fail('bad-name', 'its name contains a control character');
  const { files, payloadLength } = validateFiles(m.files);
  return { v: MANIFEST_VERSION, name: m.name, files, payloadLength };
}

/** Parses and validates manifest JSON bytes (ManifestError 'bad-manifest' on any fault). */
export function parseManifest(bytes) {
  bytes = asBytes(bytes);
  if (bytes.length > MAX_MANIFEST_BYTES) fail('too-large', `it is ${bytes.length} bytes (at most ${MAX_MANIFEST_BYTES})`);
  let text;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    fail('bad-utf8', 'it is not UTF-8');
  }
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    fail('bad-json', 'it is not JSON');
  }
  return validateManifest(m);
}

/**
 * Builds a valid manifest from {name, files: [{path, size, type?, mtime?}]}; returns
 * {manifest, json} where json is its UTF-8 bytes (throws ManifestError if a rule is broken).
 */
export function buildManifest({ name, files }) {
  const clean = validateManifest({
    v: MANIFEST_VERSION,
    name,
    files: files.map((f) => ({
      path: f.path,
      size: f.size,
      ...(f.type ? { type: f.type } : {}),
      ...(Number.isSafeInteger(f.mtime) && f.mtime > 0 ? { mtime: f.mtime } : {}),
    })),
  });
  const json = utf8.encode(JSON.stringify({ v: clean.v, name: clean.name, files: clean.files }));
  if (json.length > MAX_MANIFEST_BYTES) fail('too-large', `it would be ${json.length} bytes (at most ${MAX_MANIFEST_BYTES})`);
  return { manifest: clean, json };
}
