namespace PeerNet.Rtc;

/// <summary>W3C <c>RTCPeerConnectionState</c>: the aggregate of the ICE and DTLS transports.</summary>
public enum RtcPeerConnectionState { New, Connecting, Connected, Disconnected, Failed, Closed }

/// <summary>W3C <c>RTCIceConnectionState</c>.</summary>
public enum RtcIceConnectionState { New, Checking, Connected, Completed, Disconnected, Failed, Closed }

/// <summary>W3C <c>RTCIceGatheringState</c>.</summary>
public enum RtcIceGatheringState { New, Gathering, Complete }

/// <summary>W3C <c>RTCSignalingState</c> (JSEP, RFC 8829 §3.2).</summary>
public enum RtcSignalingState { Stable, HaveLocalOffer, HaveRemoteOffer, HaveLocalPranswer, HaveRemotePranswer, Closed }

/// <summary>W3C <c>RTCDataChannelState</c>.</summary>
public enum RtcDataChannelState { Connecting, Open, Closing, Closed }

/// <summary>W3C <c>RTCDtlsTransportState</c>.</summary>
public enum RtcDtlsTransportState { New, Connecting, Connected, Closed, Failed }
