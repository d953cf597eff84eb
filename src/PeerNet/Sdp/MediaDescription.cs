using System.Text;

namespace PeerNet.Sdp;

/// <summary>
/// One m= section (RFC 8866 §5.14): <c>m=&lt;media&gt; &lt;port&gt;[/&lt;number of ports&gt;] &lt;proto&gt; &lt;fmt&gt; ...</c>
/// and the i=, c=, b=, k= and a= lines under it. Mutable, so JSEP code can build one.
/// </summary>
public sealed class MediaDescription
{
    private string _media;
    private int _port;
    private string _protocol;

    public MediaDescription(string media, int port, string protocol, IEnumerable<string> formats)
    {
        _media = SdpGrammar.EnsureToken(media, nameof(media));
        _port = EnsurePort(port, nameof(port));
        _protocol = EnsureProtocol(protocol, nameof(protocol));
        ArgumentNullException.ThrowIfNull(formats);
        Formats = [.. formats];
    }

    /// <summary>audio, video, text, application, message, or another token.</summary>
    public string Media
    {
        get => _media;
        set => _media = SdpGrammar.EnsureToken(value, nameof(value));
    }

    /// <summary>The transport port; 0 rejects the section (RFC 3264 §6) unless it is a=bundle-only (RFC 8843 §6).</summary>
    public int Port
    {
        get => _port;
        set => _port = EnsurePort(value, nameof(value));
    }

    /// <summary>The optional /&lt;number of ports&gt; after the port (RFC 8866 §5.14).</summary>
    public int? PortCount { get; set; }

    /// <summary>The transport protocol, e.g. UDP/DTLS/SCTP or UDP/TLS/RTP/SAVPF.</summary>
    public string Protocol
    {
        get => _protocol;
        set => _protocol = EnsureProtocol(value, nameof(value));
    }

    /// <summary>The fmt list: payload types for RTP, <c>webrtc-datachannel</c> for data (RFC 8841 §4.1).</summary>
    public List<string> Formats { get; }

    /// <summary>Lines kept but not interpreted: i=, k= and unknown types, in their original order.</summary>
    public List<SdpLine> OtherLines { get; } = [];

    /// <summary>The media-level c= line, if any.</summary>
    public SdpConnection? Connection { get; set; }

    public List<SdpBandwidth> Bandwidths { get; } = [];

    /// <summary>The a= lines, in order.</summary>
    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>The a=mid identification-tag (RFC 5888 §4), or null.</summary>
    public string? Mid => GetAttribute(SdpAttributeNames.Mid)?.Value;

    /// <summary>Port 0 without a=bundle-only: rejected or disabled (RFC 3264 §6, RFC 8843 §6).</summary>
    public bool IsRejected => Port == 0 && !HasAttribute(SdpAttributeNames.BundleOnly);

    /// <summary>The first a= line with this name, or null.</summary>
    public SdpAttribute? GetAttribute(string name) => SdpAttributeList.Find(Attributes, name);

    /// <summary>Every a= line with this name, in order.</summary>
    public IEnumerable<SdpAttribute> GetAttributes(string name) => SdpAttributeList.FindAll(Attributes, name);

    public bool HasAttribute(string name) => GetAttribute(name) is not null;

    /// <summary>Appends an a= line.</summary>
    public MediaDescription AddAttribute(string name, string? value = null)
    {
        Attributes.Add(new SdpAttribute(name, value));
        return this;
    }

    /// <summary>The m= line value, e.g. <c>application 9 UDP/DTLS/SCTP webrtc-datachannel</c>.</summary>
    public string MediaLine
    {
        get
        {
            var builder = new StringBuilder();
            builder.Append(Media).Append(' ').Append(Port);
            if (PortCount is { } count)
                builder.Append('/').Append(count);
            builder.Append(' ').Append(Protocol);
            foreach (string format in Formats)
                builder.Append(' ').Append(format);
            return builder.ToString();
        }
    }

    /// <summary>Writes this section in RFC 8866 §5 order: m, i, c, b, k (and unknown lines), a.</summary>
    internal void WriteTo(StringBuilder sdp)
    {
        if (Formats.Count == 0)
            throw new InvalidOperationException($"The m={Media} section has no formats (RFC 8866 §5.14 requires one).");
        foreach (string format in Formats)
            SdpGrammar.EnsureToken(format, nameof(Formats));
        SessionDescription.AppendLine(sdp, 'm', MediaLine);
        foreach (var line in OtherLines)
        {
            if (line.Type == 'i')
                SessionDescription.AppendLine(sdp, 'i', line.Value);
        }
        if (Connection is not null)
            SessionDescription.AppendLine(sdp, 'c', Connection.ToString());
        foreach (var bandwidth in Bandwidths)
            SessionDescription.AppendLine(sdp, 'b', bandwidth.ToString());
        foreach (var line in OtherLines)
        {
            if (line.Type != 'i')
                SessionDescription.AppendLine(sdp, line.Type, line.Value);
        }
        foreach (var attribute in Attributes)
            SessionDescription.AppendLine(sdp, 'a', attribute.ToString());
    }

    public override string ToString()
    {
        var builder = new StringBuilder();
        WriteTo(builder);
        return builder.ToString();
    }

    private static int EnsurePort(int port, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port, paramName);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535, paramName);
        return port;
    }

    private static string EnsureProtocol(string protocol, string paramName)
    {
        ArgumentNullException.ThrowIfNull(protocol, paramName);
        if (!SdpGrammar.IsProtocol(protocol))
            throw new ArgumentException($"'{SdpParseException.Quote(protocol)}' is not an SDP proto (RFC 8866 §9).", paramName);
        return protocol;
    }
}
