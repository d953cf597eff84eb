// Storage helpers of the web app. Downloads go to the Origin Private File System through
// sharing/store.js; a browser without it keeps them in memory, at most MEMORY_LIMIT_BYTES.

export const MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024; // 1 GiB

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

/** True when the user can pick a destination file (File System Access API). */
export function saveFilePickerAvailable() {
  return typeof window.showSaveFilePicker === 'function';
}
