using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace PeerNet.Sdp;

/// <summary>
/// JSEP offer/answer for a data-channel-only peer (RFC 8829 §5): builds offers with one data m=
/// section, and answers that accept the first usable data section of an offer and reject every
/// other m= section (audio, video, extra data sections) until this stack carries media.
/// </summary>
public static class Jsep
{
    /// <summary>The discard port JSEP writes in m= lines before a default candidate exists (RFC 8829 §5.2.1).</summary>
    public const int DiscardPort = 9;

    /// <summary>
    /// An offer with a=group:BUNDLE and one m=application UDP/DTLS/SCTP webrtc-datachannel section
    /// (RFC 8829 §5.2.1, RFC 8841 §4.1).
    /// </summary>
    public static SessionDescription CreateOffer(JsepParameters parameters)
    {
        Validate(parameters);
        var setup = parameters.Setup ?? SdpSetupRole.ActPass;
        if (setup == SdpSetupRole.HoldConn)
            throw new ArgumentException("An offer may not use a=setup:holdconn (RFC 8842 §5.2).", nameof(parameters));
        SdpGrammar.EnsureToken(parameters.Mid, nameof(parameters.Mid));

        var offer = NewDescription(parameters);
        offer.AddAttribute(SdpAttributeNames.Group, "BUNDLE " + parameters.Mid);
        offer.Media.Add(CreateDataSection(SdpProtocols.UdpDtlsSctp, parameters, setup, parameters.Mid));
        return offer;
    }

    /// <summary>
    /// The answer to <paramref name="remoteOffer"/> (RFC 8829 §5.3.1): the first data-channel m=
    /// section that is not rejected is accepted with the same proto and mid; every other m=
    /// section is answered with port 0 (RFC 3264 §6) and left out of a=group:BUNDLE (RFC 8843 §7.3.3).
    /// </summary>
    /// <exception cref="SdpNegotiationException">The offer has no usable data section, lacks ICE or DTLS parameters, or asks for holdconn.</exception>
    public static SessionDescription CreateAnswer(SessionDescription remoteOffer, JsepParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(remoteOffer);
        Validate(parameters);
        var remote = DataChannelSection.Read(remoteOffer, SdpType.Offer);
        var setup = AnswerSetup(remote, parameters.Setup);

        var answer = NewDescription(parameters);
        string? mid = remote.Mid;
        if (mid is not null && remoteOffer.BundleGroup.Contains(mid))
            answer.AddAttribute(SdpAttributeNames.Group, "BUNDLE " + mid);

        for (int i = 0; i < remoteOffer.Media.Count; i++)
        {
            var offered = remoteOffer.Media[i];
            answer.Media.Add(i == remote.MediaIndex
                ? CreateDataSection(offered.Protocol, parameters, setup, mid)
                : Reject(offered));
        }
        return answer;
    }

    /// <summary>
    /// The answerer's DTLS role (RFC 8842 §5.3, RFC 4145 §4): actpass gets active (JSEP's choice,
    /// RFC 8829 §5.3.1) or the role asked for; active gets passive; passive gets active.
    /// </summary>
    public static SdpSetupRole AnswerSetup(DataChannelSection remoteOffer, SdpSetupRole? wanted = null)
    {
        ArgumentNullException.ThrowIfNull(remoteOffer);
        var role = remoteOffer.Setup switch
        {
            SdpSetupRole.ActPass => wanted ?? SdpSetupRole.Active,
            SdpSetupRole.Active => SdpSetupRole.Passive,
            SdpSetupRole.Passive => SdpSetupRole.Active,
            _ => throw new SdpNegotiationException(
                $"the offer asks for a=setup:holdconn for {Where(remoteOffer)}; a DTLS association needs active or passive (RFC 8842 §5.3)", remoteOffer.Mid),
        };
        if (role is not (SdpSetupRole.Active or SdpSetupRole.Passive) || (wanted is { } w && w != role))
            throw new SdpNegotiationException(
                $"the answer cannot use a=setup:{(wanted ?? role).ToSdpValue()} when the offer has a=setup:{remoteOffer.Setup.ToSdpValue()} for {Where(remoteOffer)} (RFC 8842 §5.3)", remoteOffer.Mid);
        return role;
    }

    /// <summary>
    /// Adds a trickled local candidate, W3C form "candidate:..." (RFC 8840 §4.4), to the m= section
    /// with <paramref name="mid"/>, or to the first data-channel section when it is null.
    /// </summary>
    public static void AddCandidate(SessionDescription description, string candidate, string? mid = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var media = FindSection(description, mid);
        if (media.HasAttribute(SdpAttributeNames.EndOfCandidates))
            throw new InvalidOperationException("The m= section already has a=end-of-candidates (RFC 8840 §8.2).");
        var attribute = CandidateAttribute(candidate, nameof(candidate));
        int last = media.Attributes.FindLastIndex(a => a.Name == SdpAttributeNames.Candidate);
        media.Attributes.Insert(last < 0 ? media.Attributes.Count : last + 1, attribute);
    }

    /// <summary>Adds a=end-of-candidates (RFC 8840 §8.2) to the section, once.</summary>
    public static void AddEndOfCandidates(SessionDescription description, string? mid = null)
    {
        var media = FindSection(description, mid);
        if (!media.HasAttribute(SdpAttributeNames.EndOfCandidates))
            media.AddAttribute(SdpAttributeNames.EndOfCandidates);
    }

    /// <summary>A random sess-id below 2^62, so it fits a signed 64-bit integer (RFC 8829 §5.2.1).</summary>
    public static ulong NewSessionId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) & ((1UL << 62) - 1);
    }

    /// <summary>v=0, o=- &lt;sess-id&gt; &lt;sess-version&gt; IN IP4 127.0.0.1, s=-, t=0 0 (RFC 8829 §5.2.1).</summary>
    private static SessionDescription NewDescription(JsepParameters parameters)
    {
        var description = new SessionDescription(new SdpOrigin("-", parameters.SessionId ?? NewSessionId(), parameters.SessionVersion));
        if (parameters.IceLite)
            description.AddAttribute(SdpAttributeNames.IceLite);
        return description;
    }

    /// <summary>The data m= section (RFC 8829 §5.2.1, RFC 8841 §4.1, §5.2, §6).</summary>
    private static MediaDescription CreateDataSection(string protocol, JsepParameters parameters, SdpSetupRole setup, string? mid)
    {
        string sctpPort = parameters.SctpPort.ToString(CultureInfo.InvariantCulture);
        bool legacy = protocol == SdpProtocols.LegacyDtlsSctp;
        var media = new MediaDescription(SdpProtocols.Application, DiscardPort, protocol,
            [legacy ? sctpPort : SdpProtocols.WebRtcDataChannel])
        {
            Connection = SdpConnection.Unspecified,
        };
        var candidates = parameters.Candidates.Select(c => CandidateAttribute(c, nameof(parameters.Candidates))).ToList();
        // RFC 8839 §4.3: with candidates known, m= and c= carry a default candidate.
        if (candidates.Count > 0 && DefaultCandidate(candidates[0].Value!) is var (address, port))
        {
            media.Port = port;
            media.Connection = new SdpConnection("IN", address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IP6" : "IP4", address.ToString());
        }
        media.AddAttribute(SdpAttributeNames.IceUfrag, parameters.IceUfrag)
             .AddAttribute(SdpAttributeNames.IcePwd, parameters.IcePwd)
             .AddAttribute(SdpAttributeNames.IceOptions, "trickle");
        foreach (string fingerprint in parameters.Fingerprints)
            media.AddAttribute(SdpAttributeNames.Fingerprint, fingerprint);
        media.AddAttribute(SdpAttributeNames.Setup, setup.ToSdpValue());
        if (mid is not null)
            media.AddAttribute(SdpAttributeNames.Mid, mid);
        if (legacy)
            media.AddAttribute(SdpAttributeNames.SctpMap, $"{sctpPort} {SdpProtocols.WebRtcDataChannel} 65535");
        else
            media.AddAttribute(SdpAttributeNames.SctpPort, sctpPort);
        media.AddAttribute(SdpAttributeNames.MaxMessageSize, parameters.MaxMessageSize.ToString(CultureInfo.InvariantCulture));
        media.Attributes.AddRange(candidates);
        if (parameters.EndOfCandidates)
            media.AddAttribute(SdpAttributeNames.EndOfCandidates);
        return media;
    }

    /// <summary>
    /// A rejected m= section (RFC 3264 §6, RFC 8829 §5.3.1): same media, proto and formats, port 0,
    /// and only its a=mid. c=IN IP4 0.0.0.0 keeps the section valid SDP (RFC 8866 §5.7 needs a c=
    /// in every section when the session has none).
    /// </summary>
    private static MediaDescription Reject(MediaDescription offered)
    {
        var rejected = new MediaDescription(offered.Media, 0, offered.Protocol, offered.Formats)
        {
            Connection = SdpConnection.Unspecified,
        };
        if (offered.Mid is { } mid)
            rejected.AddAttribute(SdpAttributeNames.Mid, mid);
        return rejected;
    }

    /// <summary>The address and port of a candidate: fields 5 and 6 (RFC 8839 §5.1), when the address is an IP literal.</summary>
    private static (IPAddress Address, int Port)? DefaultCandidate(string candidateValue)
    {
        string[] fields = candidateValue.Split(' ');
        if (fields.Length >= 6 && IPAddress.TryParse(fields[4], out var address) &&
            int.TryParse(fields[5], NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535)
            return (address, port);
        return null;
    }

    /// <summary>"candidate:..." (the W3C RTCIceCandidate.candidate form) to an a=candidate line.</summary>
    private static SdpAttribute CandidateAttribute(string candidate, string paramName)
    {
        const string Prefix = SdpAttributeNames.Candidate + ":";
        string text = candidate.StartsWith("a=", StringComparison.Ordinal) ? candidate[2..] : candidate;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
            throw new ArgumentException($"A candidate must start with 'candidate:' (got '{SdpParseException.Quote(candidate)}').", paramName);
        string value = text[Prefix.Length..];
        string? reason = value.AsSpan().IndexOfAny('\0', '\r', '\n') >= 0 ? "it contains control characters"
            : SdpAttributeRules.Check(SdpAttributeNames.Candidate, value);
        if (reason is not null)
            throw new ArgumentException($"Bad candidate '{SdpParseException.Quote(candidate)}': {reason}.", paramName);
        return new SdpAttribute(SdpAttributeNames.Candidate, value);
    }

    private static MediaDescription FindSection(SessionDescription description, string? mid)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (mid is not null)
            return description.FindMedia(mid) ?? throw new ArgumentException($"The description has no m= section with mid '{SdpParseException.Quote(mid)}'.", nameof(mid));
        foreach (var media in description.Media)
        {
            if (DataChannelSection.IsDataChannelMedia(media) && !media.IsRejected)
                return media;
        }
        throw new ArgumentException("The description has no data channel m= section.", nameof(description));
    }

    private static void Validate(JsepParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Check(SdpAttributeNames.IceUfrag, parameters.IceUfrag);
        Check(SdpAttributeNames.IcePwd, parameters.IcePwd);
        if (parameters.Fingerprints is null || parameters.Fingerprints.Count == 0)
            throw new ArgumentException("At least one fingerprint is required (RFC 8122 §5, RFC 8827 §6.5).", nameof(parameters));
        foreach (string fingerprint in parameters.Fingerprints)
            Check(SdpAttributeNames.Fingerprint, fingerprint);
        Check(SdpAttributeNames.SctpPort, parameters.SctpPort.ToString(CultureInfo.InvariantCulture));
        if (parameters.MaxMessageSize < 0)
            throw new ArgumentException("MaxMessageSize must be 0 (no limit) or positive (RFC 8841 §6).", nameof(parameters));
        ArgumentNullException.ThrowIfNull(parameters.Candidates);

        static void Check(string name, string? value)
        {
            string? reason = value is null ? "it is missing"
                : value.AsSpan().IndexOfAny('\0', '\r', '\n') >= 0 ? "it contains control characters"
                : SdpAttributeRules.Check(name, value);
            if (reason is not null)
                throw new ArgumentException($"Bad {name} '{SdpParseException.Quote(value ?? "")}': {reason}.", nameof(parameters));
        }
    }

    private static string Where(DataChannelSection section) =>
        section.Mid is null ? $"m= section {section.MediaIndex}" : $"mid {section.Mid}";
}
