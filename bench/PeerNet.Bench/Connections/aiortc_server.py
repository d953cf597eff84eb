"""The reference server of `PeerNet.Bench connections`: aiortc 1.4 holding many peer connections.

It speaks the benchmark's wire (one JSON line per loopback TCP connection, see SignalWire.cs):
  {"type":"offer","sdp":...}  -> {"sdp": the answer, candidates included (aiortc gathers before answering)}
  {"type":"stats"}            -> {"connections","openChannels","rssBytes","threads","cpuMs","udpPorts"}
  {"type":"closeAll"}         -> {"closed","ms"}
  {"type":"quit"}
Every data channel echoes what it receives. aiortc has no shared-port mode: each connection has its
own UDP socket (udpPorts counts them).
"""
import asyncio
import gc
import json
import os
import sys
import time

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription

# aioice leaves loopback out of its host addresses; the benchmark runs in a loopback-only namespace.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

connections = set()
open_channels = 0


def proc_status():
    rss, threads = 0, 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def udp_ports():
    # UDP sockets this process holds: its socket fds whose inode is in /proc/self/net/udp or udp6.
    inodes = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                inodes.add(line.split()[9])
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count


async def handle(request):
    global open_channels
    kind = request.get("type")
    if kind == "offer":
        pc = RTCPeerConnection()
        connections.add(pc)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed") and pc in connections:
                connections.discard(pc)
                await pc.close()

        @pc.on("datachannel")
        def on_datachannel(channel):
            global open_channels
            open_channels += 1

            @channel.on("message")
            def on_message(message):
                channel.send(message)

            @channel.on("close")
            def on_close():
                global open_channels
                open_channels -= 1

        await pc.setRemoteDescription(RTCSessionDescription(request["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return {"sdp": pc.localDescription.sdp}
    if kind == "stats":
        gc.collect()
        rss, threads = proc_status()
        return {"connections": len(connections), "openChannels": open_channels, "rssBytes": rss, "threads": threads,
                "cpuMs": time.process_time() * 1000, "udpPorts": udp_ports()}
    if kind == "closeAll":
        start = time.monotonic()
        closing = list(connections)
        connections.clear()
        await asyncio.gather(*(pc.close() for pc in closing), return_exceptions=True)
        return {"closed": len(closing), "ms": (time.monotonic() - start) * 1000}
    if kind == "quit":
        asyncio.get_running_loop().call_soon(stop.set)
        return {"ok": True}
    return {"error": "unknown request"}


async def serve(reader, writer):
    try:
        line = await reader.readline()
        if line:
            try:
                reply = await handle(json.loads(line))
            except Exception as e:  # the client reports it
                reply = {"error": repr(e)}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
    finally:
        writer.close()


async def main():
    global stop
    stop = asyncio.Event()
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(f"listening {server.sockets[0].getsockname()[1]} udp 0", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
