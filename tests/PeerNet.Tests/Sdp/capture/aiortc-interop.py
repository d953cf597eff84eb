import asyncio, subprocess, sys
from aiortc import RTCPeerConnection, RTCSessionDescription
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
TOOL = ["dotnet", "/tmp/sdpcheck/out/sdpcheck.dll"]
async def main():
    # (a) aiortc answers PeerNet's offer
    pc = RTCPeerConnection()
    offer = subprocess.run(TOOL + ["offer"], capture_output=True, text=True, check=True).stdout
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    open("aiortc-answerToPeerNet.sdp", "w", newline="").write(pc.localDescription.sdp)
    print("aiortc answered PeerNet's offer:", pc.signalingState)
    await pc.close()
    # (b) PeerNet answers aiortc's (legacy) offer; aiortc accepts the answer
    pc = RTCPeerConnection()
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    answer = subprocess.run(TOOL + ["answer"], input=pc.localDescription.sdp, capture_output=True, text=True, check=True).stdout
    print(answer)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    print("aiortc accepted PeerNet's answer:", pc.signalingState, "remote sctp port", pc.sctp._remote_port if pc.sctp else None, "remote max", pc.sctp._remote_max_message_size if hasattr(pc.sctp, '_remote_max_message_size') else '?')
    await pc.close()
asyncio.run(main())
