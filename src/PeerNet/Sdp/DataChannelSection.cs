namespace PeerNet.Sdp;

/// <summary>
/// What a description says about its data-channel m= section (RFC 8841): the ICE credentials and
/// options (RFC 8839), the DTLS fingerprints and role (RFC 8122, RFC 8842), the SCTP port and the
/// largest message the peer accepts. Media-level attributes override session-level ones.
/// </summary>
public sealed class DataChannelSection
{
    /// <summary>RFC 8841 §5.2: the SCTP port when a=sctp-port is absent.</summary>
    public const int DefaultSctpPort = 5000;

    /// <summary>RFC 8841 §6.1: the peer's limit when a=max-message-size is absent.</summary>
    public const long DefaultMaxMessageSize = 65536;

    private DataChannelSection() { }

    /// <summary>The index of the m= section (the W3C sdpMLineIndex).</summary>
    public int MediaIndex { get; private init; }

    /// <summary>The a=mid of the section, or null if it has none.</summary>
    public string? Mid { get; private init; }

    /// <summary>UDP/DTLS/SCTP, TCP/DTLS/SCTP, or the legacy DTLS/SCTP.</summary>
    public string Protocol { get; private init; } = "";

    /// <summary>True for the pre-RFC 8841 form <c>m=application 9 DTLS/SCTP 5000</c> + a=sctpmap.</summary>
    public bool IsLegacy => Protocol == SdpProtocols.LegacyDtlsSctp;

    public string IceUfrag { get; private init; } = "";

    public string IcePwd { get; private init; } = "";

    /// <summary>a=ice-lite at session level (RFC 8839 §5.3): the peer only answers checks.</summary>
    public bool IceLite { get; private init; }

    /// <summary>The a=ice-options tokens (RFC 8839 §5.6), e.g. "trickle".</summary>
    public IReadOnlyList<string> IceOptions { get; private init; } = [];

    /// <summary>a=ice-options includes "trickle" (RFC 8840 §4.1.1).</summary>
    public bool SupportsTrickle => IceOptions.Contains("trickle");

    /// <summary>The a=fingerprint values as written, e.g. "sha-256 AB:CD:..." (RFC 8122 §5); at least one.</summary>
    public IReadOnlyList<string> Fingerprints { get; private init; } = [];

    /// <summary>The a=setup role; Active when absent (RFC 4145 §4).</summary>
    public SdpSetupRole Setup { get; private init; }

    /// <summary>The peer's SCTP port: a=sctp-port (RFC 8841 §5.2), or the fmt of a legacy section.</summary>
    public int SctpPort { get; private init; }

    /// <summary>The largest message the peer accepts (RFC 8841 §6); 0 means no limit.</summary>
    public long MaxMessageSize { get; private init; }

    /// <summary>The a=candidate lines in W3C form, "candidate:..." (RFC 8839 §5.1).</summary>
    public IReadOnlyList<string> Candidates { get; private init; } = [];

    /// <summary>a=end-of-candidates at media or session level (RFC 8840 §8.2).</summary>
    public bool EndOfCandidates { get; private init; }

    /// <summary>
    /// True for an m= section this stack can carry data channels on: media "application", proto
    /// UDP/DTLS/SCTP or TCP/DTLS/SCTP with the single fmt "webrtc-datachannel" (RFC 8841 §4.1), or
    /// the legacy DTLS/SCTP &lt;port&gt; with an a=sctpmap for webrtc-datachannel.
    /// </summary>
    public static bool IsDataChannelMedia(MediaDescription media)
    {
        ArgumentNullException.ThrowIfNull(media);
        if (media.Media != SdpProtocols.Application || media.Formats.Count != 1)
            return false;
        if (media.Protocol is SdpProtocols.UdpDtlsSctp or SdpProtocols.TcpDtlsSctp)
            return media.Formats[0] == SdpProtocols.WebRtcDataChannel;
        return media.Protocol == SdpProtocols.LegacyDtlsSctp && LegacySctpMapPort(media) is not null;
    }

    /// <summary>
    /// The first data-channel m= section of <paramref name="description"/> that is not rejected.
    /// </summary>
    /// <exception cref="SdpNegotiationException">There is none, or it lacks something required.</exception>
    public static DataChannelSection Read(SessionDescription description, SdpType type)
    {
        ArgumentNullException.ThrowIfNull(description);
        bool sawRejected = false;
        for (int i = 0; i < description.Media.Count; i++)
        {
            var media = description.Media[i];
            if (!IsDataChannelMedia(media))
                continue;
            if (media.IsRejected)
            {
                sawRejected = true;
                continue;
            }
            return Read(description, i, type);
        }
        throw new SdpNegotiationException(sawRejected
            ? $"{type.Describe()} rejected its data channel m= section (port 0)"
            : $"{type.Describe()} has no data channel m= section (m=application ... UDP/DTLS/SCTP webrtc-datachannel)");
    }

    /// <summary>Reads the m= section at <paramref name="mediaIndex"/>, which must be a data-channel section.</summary>
    /// <exception cref="SdpNegotiationException">It is not one, or lacks something required.</exception>
    public static DataChannelSection Read(SessionDescription description, int mediaIndex, SdpType type)
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentOutOfRangeException.ThrowIfNegative(mediaIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(mediaIndex, description.Media.Count);
        var media = description.Media[mediaIndex];
        string? mid = media.Mid;
        string where = mid is null ? $"m= section {mediaIndex}" : $"mid {mid}";
        string who = type.Describe();
        if (!IsDataChannelMedia(media))
            throw new SdpNegotiationException($"{who} m= section '{SdpParseException.Quote(media.MediaLine)}' ({where}) is not a data channel section", mid);

        // Descriptions built in code never went through the parser: check what we read here too.
        foreach (var attribute in description.Attributes.Concat(media.Attributes))
        {
            if (SdpAttributeRules.Check(attribute.Name, attribute.Value) is { } reason)
                throw new SdpNegotiationException($"{who} has a bad a={attribute.Name} for {where}: {reason}", mid);
        }

        string Required(string name)
        {
            // RFC 8839 §5.4, RFC 8122 §5, RFC 8842 §5.1: media level wins over session level.
            return (media.GetAttribute(name) ?? description.GetAttribute(name))?.Value
                ?? throw new SdpNegotiationException($"{who} has no a={name} for {where}", mid);
        }

        var fingerprints = MediaOrSession(description, media, SdpAttributeNames.Fingerprint);
        if (fingerprints.Count == 0)
            throw new SdpNegotiationException($"{who} has no a=fingerprint for {where}", mid);

        var setupValue = (media.GetAttribute(SdpAttributeNames.Setup) ?? description.GetAttribute(SdpAttributeNames.Setup))?.Value;
        var setup = SdpSetupRole.Active; // RFC 4145 §4: absent means active.
        if (setupValue is not null)
            SdpSetupRoleNames.TryParse(setupValue, out setup);

        var iceOptions = (media.GetAttribute(SdpAttributeNames.IceOptions) ?? description.GetAttribute(SdpAttributeNames.IceOptions))?.Value;

        int sctpPort;
        if (media.Protocol == SdpProtocols.LegacyDtlsSctp)
        {
            sctpPort = LegacySctpMapPort(media)!.Value;
        }
        else
        {
            string? portValue = media.GetAttribute(SdpAttributeNames.SctpPort)?.Value;
            sctpPort = portValue is null ? DefaultSctpPort : int.Parse(portValue, System.Globalization.CultureInfo.InvariantCulture);
        }

        string? sizeValue = media.GetAttribute(SdpAttributeNames.MaxMessageSize)?.Value;
        long maxMessageSize = sizeValue is null ? DefaultMaxMessageSize : long.Parse(sizeValue, System.Globalization.CultureInfo.InvariantCulture);

        return new DataChannelSection
        {
            MediaIndex = mediaIndex,
            Mid = mid,
            Protocol = media.Protocol,
            IceUfrag = Required(SdpAttributeNames.IceUfrag),
            IcePwd = Required(SdpAttributeNames.IcePwd),
            IceLite = description.HasAttribute(SdpAttributeNames.IceLite),
            IceOptions = iceOptions is null ? [] : iceOptions.Split(' '),
            Fingerprints = fingerprints,
            Setup = setup,
            SctpPort = sctpPort,
            MaxMessageSize = maxMessageSize,
            Candidates = [.. media.GetAttributes(SdpAttributeNames.Candidate).Select(a => SdpAttributeNames.Candidate + ":" + a.Value)],
            EndOfCandidates = media.HasAttribute(SdpAttributeNames.EndOfCandidates) || description.HasAttribute(SdpAttributeNames.EndOfCandidates),
        };
    }

    /// <summary>All values of a repeatable attribute from the media level if it has any, else from the session level.</summary>
    private static List<string> MediaOrSession(SessionDescription description, MediaDescription media, string name)
    {
        var values = media.GetAttributes(name).Select(a => a.Value!).ToList();
        return values.Count > 0 ? values : [.. description.GetAttributes(name).Select(a => a.Value!)];
    }

    /// <summary>
    /// draft-ietf-mmusic-sctp-sdp-05 §4.1: the fmt is the SCTP port, and a=sctpmap:&lt;port&gt;
    /// webrtc-datachannel [&lt;streams&gt;] must name it.
    /// </summary>
    private static int? LegacySctpMapPort(MediaDescription media)
    {
        if (!SdpGrammar.TryParseDigits(media.Formats[0], out ulong port) || port is 0 or > 65535)
            return null;
        foreach (var map in media.GetAttributes(SdpAttributeNames.SctpMap))
        {
            if (map.Value is null)
                continue;
            string[] parts = map.Value.Split(' ');
            if (parts.Length >= 2 && parts[0] == media.Formats[0] && parts[1] == SdpProtocols.WebRtcDataChannel)
                return (int)port;
        }
        return null;
    }
}
