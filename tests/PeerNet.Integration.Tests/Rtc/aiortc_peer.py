"""An aiortc 1.4 peer that speaks PeerNet signaling v1 (docs/signaling.md), for interop tests.

It joins a room on the hub and, by --role, either offers to the peer already there (the
newcomer convention) or waits for an offer. It echoes every data-channel message back on the
channel it came from, and obeys text commands sent on a channel:
  "__cmd:close"            close this channel from this side
  "__cmd:open:<json>"      open a new channel, <json> = {"label":..,"ordered":..,"maxRetransmits":..}
Events are printed to stdout as JSON lines for the test to follow.
"""
import argparse
import asyncio
import json
import re
import ssl
import sys

import aioice.ice
import websockets
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp


# aioice leaves loopback out of its host addresses, and these tests run in a loopback-only
# network namespace: without this, aiortc would have no candidate at all.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def forge_fingerprint(sdp):
    # Flip the last hex digit of every fingerprint: still well-formed, no longer ours.
    def flip(match):
        value = match.group(2)
        last = "0" if value[-1] != "0" else "1"
        return match.group(1) + value[:-1] + last
    return re.sub(r"(a=fingerprint:\S+ )([0-9A-Fa-f:]+)", flip, sdp)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hub", required=True, help="wss://host:port/signal")
    parser.add_argument("--room", required=True)
    parser.add_argument("--role", choices=["offer", "answer"], required=True)
    parser.add_argument("--channels", default='[{"label":"data"}]', help="channels the offerer opens (JSON list)")
    parser.add_argument("--forge-fingerprint", action="store_true")
    parser.add_argument("--turn", action="store_true", help="use the hub's STUN/TURN entries from its welcome")
    args = parser.parse_args()

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ssl_arg = ctx if args.hub.startswith("wss:") else None

    async with websockets.connect(args.hub, ssl=ssl_arg, max_size=None) as ws:
        pc = None
        remote_id = None
        channels = []

        async def send_signal(data):
            await ws.send(json.dumps({"type": "signal", "to": remote_id, "data": data}))

        def wire(channel):
            channels.append(channel)

            @channel.on("open")
            def on_open():
                emit("open", label=channel.label, id=channel.id)

            @channel.on("close")
            def on_close():
                emit("close", label=channel.label, id=channel.id)

            @channel.on("message")
            def on_message(message):
                if isinstance(message, str) and message.startswith("__cmd:"):
                    command = message[len("__cmd:"):]
                    if command == "close":
                        emit("closing", label=channel.label)
                        channel.close()
                    elif command.startswith("open:"):
                        spec = json.loads(command[len("open:"):])
                        wire(open_channel(spec))
                    return
                channel.send(message)

            if channel.readyState == "open":
                emit("open", label=channel.label, id=channel.id)

        def open_channel(spec):
            options = {k: spec[k] for k in ("ordered", "maxRetransmits", "maxPacketLifeTime", "protocol", "negotiated", "id") if k in spec}
            return pc.createDataChannel(spec["label"], **options)

        def create_connection(servers):
            connection = RTCPeerConnection(RTCConfiguration(iceServers=servers)) if servers else RTCPeerConnection()

            @connection.on("datachannel")
            def on_datachannel(channel):
                emit("datachannel", label=channel.label, id=channel.id, ordered=channel.ordered,
                     maxRetransmits=channel.maxRetransmits, protocol=channel.protocol)
                wire(channel)

            @connection.on("connectionstatechange")
            async def on_state():
                emit("connectionstatechange", state=connection.connectionState)

            return connection

        async def make_offer():
            for spec in json.loads(args.channels):
                wire(open_channel(spec))
            await pc.setLocalDescription(await pc.createOffer())
            sdp = pc.localDescription.sdp
            if args.forge_fingerprint:
                sdp = forge_fingerprint(sdp)
            await send_signal({"type": "offer", "sdp": sdp})
            emit("offered", to=remote_id)

        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "welcome":
                emit("welcome", id=message["id"])
                servers = []
                if args.turn:
                    # aiortc 1.4 has no iceTransportPolicy: it gathers host and relayed candidates.
                    for entry in message.get("iceServers", []):
                        urls = [u for u in entry.get("urls", []) if u.startswith(("stun:", "turn:")) and "transport=tcp" not in u]
                        if urls:
                            servers.append(RTCIceServer(urls=urls, username=entry.get("username"), credential=entry.get("credential")))
                pc = create_connection(servers)
                await ws.send(json.dumps({"type": "join", "room": args.room}))
            elif kind == "joined":
                emit("joined", peers=message["peers"])
                if args.role == "offer":
                    if not message["peers"]:
                        emit("error", message="nobody in the room to offer to")
                        return 2
                    remote_id = message["peers"][0]
                    await make_offer()
            elif kind == "signal":
                remote_id = message["from"]
                data = message["data"]
                if data.get("type") == "offer":
                    await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                    await pc.setLocalDescription(await pc.createAnswer())
                    sdp = pc.localDescription.sdp
                    if args.forge_fingerprint:
                        sdp = forge_fingerprint(sdp)
                    await send_signal({"type": "answer", "sdp": sdp})
                    emit("answered", to=remote_id)
                elif data.get("type") == "answer":
                    await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))
                    emit("answer-applied")
                elif data.get("type") == "candidate":
                    init = data.get("candidate") or {}
                    text = init.get("candidate") or ""
                    if text:
                        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
                        candidate.sdpMid = init.get("sdpMid")
                        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                        await pc.addIceCandidate(candidate)
            elif kind == "peer-left":
                emit("peer-left", id=message["id"])
            elif kind == "error":
                emit("signaling-error", code=message.get("code"), message=message.get("message"))
        if pc is not None:
            await pc.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        pass
