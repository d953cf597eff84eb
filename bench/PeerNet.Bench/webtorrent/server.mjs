// The WebTorrent side of the sharing-browser benchmark: one HTTP server on 127.0.0.1 that is
// both the WebSocket tracker (npm bittorrent-tracker, the signaling WebTorrent peers use to find
// each other and exchange WebRTC offers) and the static server of the benchmark's page and of
// WebTorrent's browser bundle. Run from the cache directory the benchmark installs it into:
//   node server.mjs <page.html>
// Prints one JSON line {"port": N} once listening; stops when its standard input closes.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Server from 'bittorrent-tracker/server'

const here = path.dirname(fileURLToPath(import.meta.url))
const pagePath = process.argv[2]
if (!pagePath) {
  console.error('usage: node server.mjs <page.html>')
  process.exit(2)
}

const files = {
  '/': { file: pagePath, type: 'text/html; charset=utf-8' },
  '/webtorrent.min.js': { file: path.join(here, 'node_modules', 'webtorrent', 'dist', 'webtorrent.min.js'), type: 'text/javascript; charset=utf-8' },
}

// No HTTP or UDP tracker, no stats page: only the WebSocket tracker browsers speak.
const tracker = new Server({ http: false, udp: false, ws: true, stats: false })
tracker.on('error', (err) => {
  console.error(`tracker error: ${err.message}`)
  process.exit(1)
})
tracker.on('warning', (err) => console.error(`tracker warning: ${err.message}`))

// The tracker answers requests it sees after this tick; ours come first (it skips a request
// whose headers are already sent), so they are answered synchronously, from memory.
for (const entry of Object.values(files)) entry.body = fs.readFileSync(entry.file)
tracker.http.on('request', (req, res) => {
  const entry = files[new URL(req.url, 'http://127.0.0.1').pathname]
  if (!entry) return
  res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' })
  res.end(entry.body)
})

tracker.on('listening', () => {
  console.log(JSON.stringify({ port: tracker.http.address().port }))
})
tracker.listen(0, '127.0.0.1')

process.stdin.on('end', () => tracker.close(() => process.exit(0)))
process.stdin.resume()
