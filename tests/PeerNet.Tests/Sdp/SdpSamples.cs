namespace PeerNet.Tests.Sdp;

/// <summary>
/// Real session descriptions captured from the stacks PeerNet must talk to (not hand-written).
/// Captured on 2026-11-24 inside a loopback-only network namespace
/// (<c>ip netns add pn-sdp; ip -n pn-sdp link set lo up; ip netns exec pn-sdp ...</c>):
/// Chromium 156.0.8078.79 (Debian) headless (<c>--headless --no-sandbox --enable-logging=stderr</c>, the page
/// printed each SDP with console.log) and aiortc 1.4.0 under /usr/bin/python3. Stored with LF line
/// endings here; <see cref="Crlf"/> gives the CRLF text the stacks produced, byte for byte.
/// </summary>
internal static class SdpSamples
{
    /// <summary>The text as the stack sent it: CRLF line endings, one after the last line too.</summary>
    public static string Crlf(string lf) => lf.ReplaceLineEndings("\r\n") + "\r\n";

    /// <summary>Chromium 156: createDataChannel('x'); createOffer() (before setLocalDescription, so no candidates).</summary>
    public static string ChromiumDataOffer => Crlf("""
        v=0
        o=- 5898213133976403702 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag:5bRm
        a=ice-pwd:95IVq+XYyCS5s4x/GpCy7lvB
        a=ice-options:trickle
        a=fingerprint:sha-256 A9:54:33:46:3D:B6:76:C3:D2:AE:50:2B:3E:D2:35:FA:EC:1C:A7:33:D9:E0:16:32:C2:D8:C0:2A:F8:35:B4:0C
        a=setup:actpass
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144
        """);

    /// <summary>Chromium 156: the same peer's second offer after setLocalDescription and gathering in a loopback-only netns
    /// (--allow-loopback-in-peer-connection, mDNS off). Chromium renumbered the mid to 1 and wrote no a=end-of-candidates.</summary>
    public static string ChromiumDataOfferWithCandidates => Crlf("""
        v=0
        o=- 5898213133976403702 3 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 1
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 54200 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 127.0.0.1
        a=candidate:1155467407 1 udp 2122260223 127.0.0.1 54200 typ host generation 0 network-id 1 network-cost 50
        a=candidate:3128286235 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50
        a=ice-ufrag:FXmg
        a=ice-pwd:bIF4j+FkBN24jr1uLLUBY1JS
        a=ice-options:trickle
        a=fingerprint:sha-256 A9:54:33:46:3D:B6:76:C3:D2:AE:50:2B:3E:D2:35:FA:EC:1C:A7:33:D9:E0:16:32:C2:D8:C0:2A:F8:35:B4:0C
        a=setup:actpass
        a=mid:1
        a=sctp-port:5000
        a=max-message-size:262144
        """);

    /// <summary>Chromium 156: addTransceiver('audio'), addTransceiver('video'), createDataChannel('x'); offer after gathering.</summary>
    public static string ChromiumAudioVideoDataOffer => Crlf("""
        v=0
        o=- 2246663422123795910 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1 2
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=audio 56930 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
        c=IN IP4 127.0.0.1
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1047296948 1 udp 2122260223 127.0.0.1 56930 typ host generation 0 network-id 1 network-cost 50
        a=candidate:3234246432 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50
        a=ice-ufrag:t2Yh
        a=ice-pwd:UzVVpmdv8T+rPertYaSWOA+/
        a=ice-options:trickle
        a=fingerprint:sha-256 1A:97:D1:1B:07:A1:BD:7E:64:E5:33:2B:F7:1A:B4:88:44:51:B5:4D:14:3F:79:B2:A3:DB:4C:FF:C5:00:F4:03
        a=setup:actpass
        a=mid:0
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=sendrecv
        a=msid:- 9991584d-5f45-4952-8720-4a431dda0d11
        a=rtcp-mux
        a=rtcp-rsize
        a=rtcp-xr:rcvr-rtt=all
        a=rtpmap:111 opus/48000/2
        a=rtcp-fb:111 transport-cc
        a=fmtp:111 minptime=10;useinbandfec=1
        a=rtpmap:63 red/48000/2
        a=fmtp:63 111/111
        a=rtpmap:9 G722/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:13 CN/8000
        a=rtpmap:110 telephone-event/48000
        a=rtpmap:126 telephone-event/8000
        a=ssrc:1598970563 cname:UXuAdSG2I5phbde2
        a=ssrc:1598970563 msid:- 9991584d-5f45-4952-8720-4a431dda0d11
        m=video 44314 UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 100 101 118 119 120
        c=IN IP4 127.0.0.1
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1047296948 1 udp 2122260223 127.0.0.1 44314 typ host generation 0 network-id 1 network-cost 50
        a=candidate:3234246432 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50
        a=ice-ufrag:t2Yh
        a=ice-pwd:UzVVpmdv8T+rPertYaSWOA+/
        a=ice-options:trickle
        a=fingerprint:sha-256 1A:97:D1:1B:07:A1:BD:7E:64:E5:33:2B:F7:1A:B4:88:44:51:B5:4D:14:3F:79:B2:A3:DB:4C:FF:C5:00:F4:03
        a=setup:actpass
        a=mid:1
        a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:13 urn:3gpp:video-orientation
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
        a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
        a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
        a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
        a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
        a=sendrecv
        a=msid:- a7d2988e-d030-49ec-9110-9d8419931b7d
        a=rtcp-mux
        a=rtcp-rsize
        a=rtcp-xr:rcvr-rtt=all
        a=rtpmap:96 VP8/90000
        a=rtcp-fb:96 goog-remb
        a=rtcp-fb:96 transport-cc
        a=rtcp-fb:96 ccm fir
        a=rtcp-fb:96 nack
        a=rtcp-fb:96 nack pli
        a=rtpmap:97 rtx/90000
        a=fmtp:97 apt=96
        a=rtpmap:102 H264/90000
        a=rtcp-fb:102 goog-remb
        a=rtcp-fb:102 transport-cc
        a=rtcp-fb:102 ccm fir
        a=rtcp-fb:102 nack
        a=rtcp-fb:102 nack pli
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
        a=rtpmap:103 rtx/90000
        a=fmtp:103 apt=102
        a=rtpmap:104 H264/90000
        a=rtcp-fb:104 goog-remb
        a=rtcp-fb:104 transport-cc
        a=rtcp-fb:104 ccm fir
        a=rtcp-fb:104 nack
        a=rtcp-fb:104 nack pli
        a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
        a=rtpmap:107 rtx/90000
        a=fmtp:107 apt=104
        a=rtpmap:108 H264/90000
        a=rtcp-fb:108 goog-remb
        a=rtcp-fb:108 transport-cc
        a=rtcp-fb:108 ccm fir
        a=rtcp-fb:108 nack
        a=rtcp-fb:108 nack pli
        a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
        a=rtpmap:109 rtx/90000
        a=fmtp:109 apt=108
        a=rtpmap:114 H264/90000
        a=rtcp-fb:114 goog-remb
        a=rtcp-fb:114 transport-cc
        a=rtcp-fb:114 ccm fir
        a=rtcp-fb:114 nack
        a=rtcp-fb:114 nack pli
        a=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
        a=rtpmap:115 rtx/90000
        a=fmtp:115 apt=114
        a=rtpmap:116 H264/90000
        a=rtcp-fb:116 goog-remb
        a=rtcp-fb:116 transport-cc
        a=rtcp-fb:116 ccm fir
        a=rtcp-fb:116 nack
        a=rtcp-fb:116 nack pli
        a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
        a=rtpmap:117 rtx/90000
        a=fmtp:117 apt=116
        a=rtpmap:39 H264/90000
        a=rtcp-fb:39 goog-remb
        a=rtcp-fb:39 transport-cc
        a=rtcp-fb:39 ccm fir
        a=rtcp-fb:39 nack
        a=rtcp-fb:39 nack pli
        a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
        a=rtpmap:40 rtx/90000
        a=fmtp:40 apt=39
        a=rtpmap:45 AV1/90000
        a=rtcp-fb:45 goog-remb
        a=rtcp-fb:45 transport-cc
        a=rtcp-fb:45 ccm fir
        a=rtcp-fb:45 nack
        a=rtcp-fb:45 nack pli
        a=fmtp:45 level-idx=5;profile=0;tier=0
        a=rtpmap:46 rtx/90000
        a=fmtp:46 apt=45
        a=rtpmap:98 VP9/90000
        a=rtcp-fb:98 goog-remb
        a=rtcp-fb:98 transport-cc
        a=rtcp-fb:98 ccm fir
        a=rtcp-fb:98 nack
        a=rtcp-fb:98 nack pli
        a=fmtp:98 profile-id=0
        a=rtpmap:99 rtx/90000
        a=fmtp:99 apt=98
        a=rtpmap:100 VP9/90000
        a=rtcp-fb:100 goog-remb
        a=rtcp-fb:100 transport-cc
        a=rtcp-fb:100 ccm fir
        a=rtcp-fb:100 nack
        a=rtcp-fb:100 nack pli
        a=fmtp:100 profile-id=2
        a=rtpmap:101 rtx/90000
        a=fmtp:101 apt=100
        a=rtpmap:118 red/90000
        a=rtpmap:119 rtx/90000
        a=fmtp:119 apt=118
        a=rtpmap:120 ulpfec/90000
        a=ssrc-group:FID 1612016615 3157296484
        a=ssrc:1612016615 cname:UXuAdSG2I5phbde2
        a=ssrc:1612016615 msid:- a7d2988e-d030-49ec-9110-9d8419931b7d
        a=ssrc:3157296484 cname:UXuAdSG2I5phbde2
        a=ssrc:3157296484 msid:- a7d2988e-d030-49ec-9110-9d8419931b7d
        m=application 45035 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 127.0.0.1
        a=candidate:1047296948 1 udp 2122260223 127.0.0.1 45035 typ host generation 0 network-id 1 network-cost 50
        a=candidate:3234246432 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50
        a=ice-ufrag:t2Yh
        a=ice-pwd:UzVVpmdv8T+rPertYaSWOA+/
        a=ice-options:trickle
        a=fingerprint:sha-256 1A:97:D1:1B:07:A1:BD:7E:64:E5:33:2B:F7:1A:B4:88:44:51:B5:4D:14:3F:79:B2:A3:DB:4C:FF:C5:00:F4:03
        a=setup:actpass
        a=mid:2
        a=sctp-port:5000
        a=max-message-size:262144
        """);

    /// <summary>Chromium 156: answer to another Chromium's data-only offer.</summary>
    public static string ChromiumDataAnswer => Crlf("""
        v=0
        o=- 7950581890558521327 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag:lVLP
        a=ice-pwd:mD3IPSXB/ZpMjS9hFCMXFvPX
        a=ice-options:trickle
        a=fingerprint:sha-256 93:3E:D9:3D:57:C2:05:02:6E:48:E5:04:19:15:04:46:64:55:B6:12:22:B6:90:C3:C0:83:B3:7B:12:72:6F:13
        a=setup:active
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144
        """);

    /// <summary>Chromium 156: answer to AiortcLegacyOffer; Chromium keeps the legacy DTLS/SCTP form.</summary>
    public static string ChromiumAnswerToLegacyOffer => Crlf("""
        v=0
        o=- 7837046625324445028 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic: WMS
        m=application 9 DTLS/SCTP 5000
        c=IN IP4 0.0.0.0
        a=ice-ufrag:uWM3
        a=ice-pwd:VUpj+QiIVqQ/dqq1o1h8P7wZ
        a=ice-options:trickle
        a=fingerprint:sha-256 B2:EB:EA:06:50:71:10:77:81:C8:CC:D4:3C:D3:B8:ED:D0:DC:7D:CE:FE:6E:7D:0D:1B:51:2A:1D:5C:E6:50:9F
        a=setup:active
        a=mid:0
        a=sctpmap:5000 webrtc-datachannel 65535
        """);

    /// <summary>aiortc 1.4.0 (Debian python3-aiortc): createDataChannel('x'); setLocalDescription(createOffer()) in a
    /// loopback-only netns with aioice.ice.get_host_addresses patched to 127.0.0.1. aiortc 1.4 offers the legacy DTLS/SCTP form.</summary>
    public static string AiortcLegacyOffer => Crlf("""
        v=0
        o=- 4004522657 4004522657 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic:WMS *
        m=application 60875 DTLS/SCTP 5000
        c=IN IP4 127.0.0.1
        a=mid:0
        a=sctpmap:5000 webrtc-datachannel 65535
        a=max-message-size:65536
        a=candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 60875 typ host
        a=end-of-candidates
        a=ice-ufrag:uoEa
        a=ice-pwd:KgcZaJN42l2qZUpBJURzYh
        a=fingerprint:sha-256 0B:25:82:4F:E7:45:D5:47:06:8F:49:B4:B7:1F:F1:BC:22:5D:EB:7E:E9:8B:EC:FD:E3:19:54:0C:0F:5A:4C:1E
        a=setup:actpass
        """);

    /// <summary>aiortc 1.4.0: answer to an offer made by Jsep.CreateOffer (it accepted it: signalingState stable).</summary>
    public static string AiortcAnswer => Crlf("""
        v=0
        o=- 4004523232 4004523232 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic:WMS *
        m=application 49546 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 127.0.0.1
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:65536
        a=candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 49546 typ host
        a=end-of-candidates
        a=ice-ufrag:ZlNY
        a=ice-pwd:xb3Vzu7yES4kP7xTiZN4vz
        a=fingerprint:sha-256 45:36:CC:0B:86:86:B1:B0:08:6F:64:DF:60:5A:A9:66:49:50:5E:B0:33:1D:1B:41:D8:25:09:C8:C2:8C:BD:3A
        a=setup:active
        """);

    /// <summary>Chromium 156: answer to an offer made by Jsep.CreateOffer (setRemoteDescription accepted it).</summary>
    public static string ChromiumAnswerToPeerNetOffer => Crlf("""
        v=0
        o=- 6052602354854004055 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=msid-semantic: WMS
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag:wcAm
        a=ice-pwd:M/7fTVS00qDSXzyCM3YcgmNh
        a=ice-options:trickle
        a=fingerprint:sha-256 DB:03:C7:62:FB:D9:EB:6B:D5:52:6A:CC:D5:D4:3D:F6:F5:0C:50:29:30:A4:D9:F2:28:BD:62:CB:CD:C3:32:BB
        a=setup:active
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144
        """);
}
