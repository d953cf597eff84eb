"""One side of `PeerNet.Bench throughput`: aiortc 1.4 over the hub's signaling (docs/signaling.md).

The same wire as ThroughputPeer.cs and throughput.html: --role send offers to the peer already in
--room on one reliable ordered channel "bulk" and, on "go" from stdin, sends --bytes in --chunk-byte
messages, each while bufferedAmount <= --hwm (waiting for bufferedamountlow at hwm/2 otherwise);
--role receive answers, checks every message (length, and its sequence number in the first and
last 4 bytes) and counts the bytes. Events are JSON lines on stdout; times are wall-clock ms.
"""
import argparse
import asyncio
import json
import os
import struct
import sys
import time

import aioice.ice
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def wall_ms():
    return time.time() * 1000.0


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hub", required=True, help="ws://host:port/signal")
    parser.add_argument("--room", required=True)
    parser.add_argument("--role", choices=["send", "receive"], required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--hwm", type=int, default=1 << 20)
    parser.add_argument("--address", default="127.0.0.1", help="the one host address to gather")
    args = parser.parse_args()

    # aioice leaves loopback out of its host addresses; the bench names the one address to use.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [args.address]
    total, chunk, hwm = args.bytes, args.chunk, args.hwm
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async with websockets.connect(args.hub, max_size=None) as ws:
        pc = RTCPeerConnection()
        remote = None
        done = asyncio.Event()

        async def signal(data):
            await ws.send(json.dumps({"type": "signal", "to": remote, "data": data}))

        def receive(channel):
            state = {"received": 0, "seq": 0, "errors": 0, "first": 0.0}

            @channel.on("message")
            def on_message(message):
                n = len(message)
                if state["seq"] == 0:
                    state["first"] = wall_ms()
                expected = min(chunk, total - state["received"])
                seq = state["seq"] & 0xFFFFFFFF
                if n != expected or n < 8 or struct.unpack_from(">I", message, 0)[0] != seq or struct.unpack_from(">I", message, n - 4)[0] != seq:
                    state["errors"] += 1
                state["seq"] += 1
                state["received"] += n
                if state["received"] >= total:
                    emit("done", bytes=state["received"], messages=state["seq"], errors=state["errors"],
                         firstByteMs=state["first"], lastByteMs=wall_ms())
                    done.set()

            emit("open")

        async def send(channel):
            channel.bufferedAmountLowThreshold = hwm // 2
            low = asyncio.Event()
            channel.on("bufferedamountlow", low.set)
            payload = bytearray(os.urandom(chunk))
            first = wall_ms()
            sent, seq = 0, 0
            while sent < total:
                if channel.bufferedAmount > hwm:
                    low.clear()
                    await low.wait()
                n = min(chunk, total - sent)
                struct.pack_into(">I", payload, 0, seq & 0xFFFFFFFF)
                struct.pack_into(">I", payload, n - 4, seq & 0xFFFFFFFF)
                channel.send(bytes(payload[:n]))
                sent += n
                seq += 1
            emit("sent", messages=seq, firstSendMs=first, lastSendMs=wall_ms())

        async def commands(channel):
            while True:
                line = await stdin.readline()
                if not line or line.strip() == b"quit":
                    done.set()
                    return
                if line.strip() == b"go":
                    asyncio.ensure_future(send(channel))

        @pc.on("datachannel")
        def on_datachannel(channel):
            receive(channel)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState == "failed":
                emit("error", message="connection failed")

        async def signaling():
            nonlocal remote
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "welcome":
                    await ws.send(json.dumps({"type": "join", "room": args.room}))
                elif kind == "joined":
                    emit("joined", peers=message["peers"])
                    if args.role == "send":
                        if not message["peers"]:
                            emit("error", message="nobody in the room to send to")
                            done.set()
                            return
                        remote = message["peers"][0]
                        channel = pc.createDataChannel("bulk")
                        channel.on("open", lambda: emit("open"))
                        asyncio.ensure_future(commands(channel))
                        # aiortc gathers before it resolves: the offer carries every candidate.
                        await pc.setLocalDescription(await pc.createOffer())
                        await signal({"type": "offer", "sdp": pc.localDescription.sdp})
                elif kind == "signal":
                    remote = message["from"]
                    data = message["data"]
                    if data.get("type") == "offer":
                        await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                        await pc.setLocalDescription(await pc.createAnswer())
                        await signal({"type": "answer", "sdp": pc.localDescription.sdp})
                    elif data.get("type") == "answer":
                        await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))
                    elif data.get("type") == "candidate":
                        init = data.get("candidate") or {}
                        text = init.get("candidate") or ""
                        if text:
                            candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
                            candidate.sdpMid = init.get("sdpMid")
                            candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                            await pc.addIceCandidate(candidate)

        task = asyncio.ensure_future(signaling())
        await done.wait()
        # Stay until told to quit, so the sender is not cut off while it drains (the bench kills us after).
        if args.role == "receive":
            while (await stdin.readline()).strip() not in (b"quit", b""):
                pass
        task.cancel()
        await pc.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        pass
