import asyncio, sys
from aiortc import RTCPeerConnection, RTCSessionDescription
import aioice.ice
# loopback only namespace; aioice skips 127.0.0.1, so override
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
async def main():
    pc = RTCPeerConnection()
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    print(pc.localDescription.sdp, end="")
    await pc.close()
asyncio.run(main())
