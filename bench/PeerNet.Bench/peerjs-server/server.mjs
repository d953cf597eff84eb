// The PeerJS reference signaling server (npm package `peer`), as the signaling benchmark runs it:
// node server.mjs <port>. Loopback only, path '/', key 'peerjs', no per-connection logging, and a
// concurrent limit high enough for the largest run. Prints "listening <port>" once it accepts.
import { PeerServer } from 'peer';
const port = Number(process.argv[2]);
PeerServer({ host: '127.0.0.1', port, path: '/', key: 'peerjs', concurrent_limit: 1_000_000 },
  () => console.log(`listening ${port}`));
