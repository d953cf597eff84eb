// Added to the downloading page of the PeerNet case of the sharing-browser benchmark (an init
// script: it runs before the web app's modules). It changes nothing in the app; it watches the
// get view's data-* hooks (the ones the integration tests read) and reports each step once, as a
// console line "bench {json}" with ms = performance.now(), milliseconds since the page's
// navigation started — the same clock the WebTorrent page reports on.
(() => {
  const seen = new Set();
  const emit = (event, extra = {}) => {
    if (seen.has(event)) return;
    seen.add(event);
    console.log('bench ' + JSON.stringify({ event, ms: performance.now(), ...extra }));
  };
  const check = () => {
    const view = document.getElementById('receive-view');
    if (!view) return;
    const peers = view.querySelector('[data-testid=peer-count]');
    if (peers && /^[1-9]/.test(peers.textContent ?? '')) emit('connected');
    // 'receiving': the info block arrived, the link's key opened the manifest, the store is ready.
    if (view.dataset.state === 'receiving') emit('info', { store: view.dataset.storage ?? '' });
    // 'complete': every piece verified against the content id, opened and written to the store.
    if (view.dataset.state === 'complete') emit('complete', { store: view.dataset.storage ?? '' });
    // The file's row says 'verified' once the app has also computed the SHA-256 it shows.
    const row = view.querySelector('[data-testid=file-row][data-index="0"]');
    if (row?.dataset.state === 'verified' && !seen.has('checked')) {
      emit('checked', { sha256: row.querySelector('[data-testid=file-sha256]')?.textContent?.trim() ?? '' });
      // Where the bytes went: the origin's storage use (OPFS counts in it).
      navigator.storage.estimate().then((e) => emit('storage', { usage: e.usage ?? 0 }), () => {});
    }
    // A failed download stops the run; an error the app shows and may clear again (sender
    // offline, a peer left) is only reported.
    const error = document.querySelector('[data-testid=error]');
    const message = `${error?.dataset.code ?? 'failed'}: ${error?.textContent ?? ''}`;
    if (view.dataset.state === 'failed') emit('error', { message });
    else if (error && !error.hidden && error.dataset.code) emit(`warning ${error.dataset.code}`, { message });
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state', 'data-code', 'hidden'],
  });
})();
