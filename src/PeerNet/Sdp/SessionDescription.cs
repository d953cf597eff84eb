using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace PeerNet.Sdp;

/// <summary>
/// An SDP session description (RFC 8866): the v=, o=, s=, c=, b=, t= and a= lines of the session
/// and its m= sections. <see cref="Parse(string)"/> reads one (CRLF or LF line endings), keeping
/// lines and attributes it does not interpret; <see cref="ToString"/> writes it back with CRLF in
/// the order of RFC 8866 §5. Mutable, so JSEP code can build one.
/// </summary>
public sealed class SessionDescription
{
    public SessionDescription(SdpOrigin origin)
    {
        Origin = origin ?? throw new ArgumentNullException(nameof(origin));
    }

    /// <summary>v= (RFC 8866 §5.1): always 0.</summary>
    public int Version => 0;

    /// <summary>o= (RFC 8866 §5.2).</summary>
    public SdpOrigin Origin { get; set; }

    /// <summary>s= (RFC 8866 §5.3); JSEP writes "-" (RFC 8829 §5.2.1).</summary>
    public string SessionName
    {
        get => _sessionName;
        set => _sessionName = SdpGrammar.EnsureLineSafe(value, nameof(value));
    }

    private string _sessionName = "-";

    /// <summary>Lines kept but not interpreted: i=, u=, e=, p=, z=, k= and unknown types, in their original order.</summary>
    public List<SdpLine> OtherLines { get; } = [];

    /// <summary>The session-level c= line, if any (RFC 8866 §5.7).</summary>
    public SdpConnection? Connection { get; set; }

    public List<SdpBandwidth> Bandwidths { get; } = [];

    /// <summary>The t= lines (at least one when written; RFC 8866 §5.9). Starts as <c>t=0 0</c>.</summary>
    public List<SdpTiming> Timings { get; } = [SdpTiming.Unbounded];

    /// <summary>The session-level a= lines, in order.</summary>
    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>The m= sections, in order; their index is the W3C sdpMLineIndex.</summary>
    public List<MediaDescription> Media { get; } = [];

    /// <summary>The first session-level a= line with this name, or null.</summary>
    public SdpAttribute? GetAttribute(string name) => SdpAttributeList.Find(Attributes, name);

    /// <summary>Every session-level a= line with this name, in order.</summary>
    public IEnumerable<SdpAttribute> GetAttributes(string name) => SdpAttributeList.FindAll(Attributes, name);

    public bool HasAttribute(string name) => GetAttribute(name) is not null;

    /// <summary>Appends a session-level a= line.</summary>
    public SessionDescription AddAttribute(string name, string? value = null)
    {
        Attributes.Add(new SdpAttribute(name, value));
        return this;
    }

    /// <summary>The m= section with this a=mid, or null.</summary>
    public MediaDescription? FindMedia(string mid)
    {
        foreach (var media in Media)
        {
            if (media.Mid == mid)
                return media;
        }
        return null;
    }

    /// <summary>
    /// The identification-tags of the first a=group:BUNDLE (RFC 8843 §7), empty if there is none.
    /// </summary>
    public IReadOnlyList<string> BundleGroup
    {
        get
        {
            foreach (var group in GetAttributes(SdpAttributeNames.Group))
            {
                if (group.Value is null)
                    continue;
                string[] parts = group.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 0 && parts[0] == "BUNDLE")
                    return parts[1..];
            }
            return [];
        }
    }

    /// <summary>Reads a session description with the default <see cref="SdpParseOptions"/>.</summary>
    /// <exception cref="SdpParseException">The text is not a valid session description; the message names the line.</exception>
    public static SessionDescription Parse(string sdp) => SdpParser.Parse(sdp, SdpParseOptions.Default);

    /// <summary>Reads a session description within the given limits.</summary>
    /// <exception cref="SdpParseException">The text is not a valid session description; the message names the line.</exception>
    public static SessionDescription Parse(string sdp, SdpParseOptions options) => SdpParser.Parse(sdp, options);

    /// <summary>Reads a session description, or returns false with the reason in <paramref name="error"/>.</summary>
    public static bool TryParse(string sdp, [NotNullWhen(true)] out SessionDescription? description,
        [NotNullWhen(false)] out SdpParseException? error)
    {
        try
        {
            description = SdpParser.Parse(sdp, SdpParseOptions.Default);
            error = null;
            return true;
        }
        catch (SdpParseException e)
        {
            description = null;
            error = e;
            return false;
        }
    }

    /// <summary>
    /// Writes the description with CRLF line endings in RFC 8866 §5 order:
    /// v, o, s, i, u, e, p, c, b, t (r), z, k (and unknown lines), a, then each m= section.
    /// </summary>
    public override string ToString()
    {
        if (Timings.Count == 0)
            throw new InvalidOperationException("A session description needs at least one t= line (RFC 8866 §5.9).");
        var sdp = new StringBuilder(512);
        AppendLine(sdp, 'v', "0");
        AppendLine(sdp, 'o', Origin.ToString());
        AppendLine(sdp, 's', SessionName);
        foreach (var line in OtherLines)
        {
            if (line.IsSessionInformation)
                AppendLine(sdp, line.Type, line.Value);
        }
        if (Connection is not null)
            AppendLine(sdp, 'c', Connection.ToString());
        foreach (var bandwidth in Bandwidths)
            AppendLine(sdp, 'b', bandwidth.ToString());
        foreach (var timing in Timings)
        {
            AppendLine(sdp, 't', timing.ToString());
            foreach (string repeat in timing.RepeatTimes)
                AppendLine(sdp, 'r', repeat);
        }
        foreach (var line in OtherLines)
        {
            if (!line.IsSessionInformation)
                AppendLine(sdp, line.Type, line.Value);
        }
        foreach (var attribute in Attributes)
            AppendLine(sdp, 'a', attribute.ToString());
        foreach (var media in Media)
            media.WriteTo(sdp);
        return sdp.ToString();
    }

    /// <summary>RFC 8866 §5: <c>&lt;type&gt;=&lt;value&gt;</c> CRLF.</summary>
    internal static void AppendLine(StringBuilder sdp, char type, string value) =>
        sdp.Append(type).Append('=').Append(value).Append("\r\n");
}
