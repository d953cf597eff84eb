// Where received files go while they arrive.
//
// Files of several gigabytes must never sit in memory whole, so by default each file is
// streamed to the Origin Private File System (OPFS): a per-origin, disk-backed directory the
// page can write without asking. Once verified, the OPFS file is offered for saving through an
// object URL of its File (the browser reads it from disk when the user saves).
//
// If the browser has no OPFS writable streams, the fallback keeps the verified blocks as Blob
// parts, which lives in memory: it accepts at most MEMORY_LIMIT_BYTES in total and says so.

export const MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024; // 1 GiB
const INCOMING_DIR = 'peernet-incoming';
const STALE_AFTER_MS = 24 * 3600 * 1000;

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  // 2.86 MiB, 66.5 KiB, 1 GiB: three significant digits at most, no trailing zeros.
  return `${i === 0 ? n : Number(n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0))} ${units[i]}`;
}

/** True when this browser can stream files to OPFS from the page. */
export async function opfsAvailable() {
  try {
    if (!navigator.storage?.getDirectory) return false;
    if (typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype)) return false;
    await navigator.storage.getDirectory();
    return true;
  } catch {
    return false;
  }
}

/** True when the user can pick a destination file (File System Access API). */
export function saveFilePickerAvailable() {
  return typeof window.showSaveFilePicker === 'function';
}

/**
 * Creates the storage for one incoming transfer. `force` may be 'memory' to test the fallback.
 * Returns an object with kind, describe(), prepare(manifest) and createSink(index, meta).
 */
export async function createStorage(force) {
  if (force !== 'memory' && (await opfsAvailable())) {
    try {
      return await OpfsStorage.create();
    } catch (e) {
      console.warn('OPFS unusable, falling back to memory', e);
    }
  }
  return new MemoryStorage();
}

class OpfsStorage {
  static async create() {
    const root = await navigator.storage.getDirectory();
    const incoming = await root.getDirectoryHandle(INCOMING_DIR, { create: true });
    await removeStaleSessions(incoming);
    const name = `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
    const dir = await incoming.getDirectoryHandle(name, { create: true });
    return new OpfsStorage(incoming, name, dir);
  }

  constructor(parent, name, dir) {
    this.kind = 'opfs';
    this._parent = parent;
    this._name = name;
    this._dir = dir;
  }

  describe() {
    return 'Files are written to this browser’s private storage on disk as they arrive, then offered for saving.';
  }

  /** Throws an Error with a readable message if the files cannot be stored. */
  async prepare(manifest) {
    const total = manifest.files.reduce((s, f) => s + f.size, 0);
    if (navigator.storage?.estimate) {
      const { quota, usage } = await navigator.storage.estimate();
      if (Number.isFinite(quota) && Number.isFinite(usage) && total > quota - usage) {
        throw new Error(`Not enough browser storage: the files need ${formatBytes(total)}, this browser allows this site ${formatBytes(quota - usage)} more.`);
      }
    }
  }

  async createSink(index) {
    const handle = await this._dir.getFileHandle(`file-${index}`, { create: true });
    const writable = await handle.createWritable({ keepExistingData: false });
    return {
      async write(bytes) {
        await writable.write(bytes);
      },
      async close() {
        await writable.close();
        return handle.getFile(); // disk-backed File
      },
      async abort() {
        try { await writable.abort(); } catch { /* ignore */ }
      },
    };
  }

  /** Removes everything this transfer stored (best effort). */
  async dispose() {
    try {
      await this._parent.removeEntry(this._name, { recursive: true });
    } catch { /* the page may be going away */ }
  }
}

async function removeStaleSessions(incoming) {
  try {
    for await (const [name] of incoming.entries()) {
      const started = Number.parseInt(name, 10);
      if (!Number.isFinite(started) || Date.now() - started > STALE_AFTER_MS) {
        await incoming.removeEntry(name, { recursive: true }).catch(() => {});
      }
    }
  } catch { /* listing is optional */ }
}

class MemoryStorage {
  constructor() {
    this.kind = 'memory';
  }

  describe() {
    return `This browser cannot write to disk from a web page, so received files are kept in memory: at most ${formatBytes(MEMORY_LIMIT_BYTES)} in total.`;
  }

  async prepare(manifest) {
    const total = manifest.files.reduce((s, f) => s + f.size, 0);
    if (total > MEMORY_LIMIT_BYTES) {
      throw new Error(`These files (${formatBytes(total)}) are too large for this browser: without disk storage it can receive at most ${formatBytes(MEMORY_LIMIT_BYTES)}. Try a current Chrome, Edge, Firefox or Safari.`);
    }
  }

  async createSink(index, meta) {
    let parts = [];
    return {
      async write(bytes) {
        parts.push(new Blob([bytes]));
      },
      async close() {
        const blob = new Blob(parts, { type: meta?.type || 'application/octet-stream' });
        parts = [];
        return blob;
      },
      async abort() {
        parts = [];
      },
    };
  }

  async dispose() {}
}
