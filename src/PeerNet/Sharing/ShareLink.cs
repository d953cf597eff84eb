using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PeerNet.Sharing;

/// <summary>
/// A sharing link, docs/sharing.md §1: <c>https://HUB/#/get/CID#k=KEY</c>, or without <c>#k=KEY</c> a
/// pin link that lets a peer fetch, verify, store and serve the sealed item without reading it.
/// Everything after the first <c>#</c> is the URL's fragment, which browsers never send to the server.
/// Only this shape parses: <c>https</c> (or <c>http</c>, which a hub serves on loopback only), a host
/// with an optional port and no user, path or query, then the fragment.
/// </summary>
public sealed class ShareLink
{
    private const string GetPrefix = "/#/get/";
    private const string KeyPrefix = "#k=";

    /// <summary>A link to <paramref name="id"/> on the hub at <paramref name="hub"/>.</summary>
    /// <param name="hub">The hub's authority: <c>host</c> or <c>host:port</c> (IPv6 in brackets).</param>
    /// <param name="id">The content id.</param>
    /// <param name="key">The content key, or null for a pin link.</param>
    /// <param name="scheme"><c>https</c> (default) or <c>http</c>.</param>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadLink"/>: not a host[:port] or not http(s).</exception>
    public ShareLink(string hub, ContentId id, ContentKey? key = null, string scheme = "https")
    {
        scheme = scheme.ToLowerInvariant();
        if (scheme is not ("https" or "http"))
        {
            throw new SharingException(SharingErrorCode.BadLink, "A link is https (or http on loopback).");
        }

        if (!IsAuthority(hub))
        {
            throw new SharingException(SharingErrorCode.BadLink, "The hub is not a host with an optional port.");
        }

        Scheme = scheme;
        Hub = hub;
        ContentId = id;
        Key = key;
    }

    /// <summary><c>https</c> or <c>http</c>.</summary>
    public string Scheme { get; }

    /// <summary>The hub's authority (<c>host</c> or <c>host:port</c>), as written in the link.</summary>
    public string Hub { get; }

    /// <summary>The hub's base address, <c>https://HUB/</c>.</summary>
    public Uri HubUri => new($"{Scheme}://{Hub}/");

    /// <summary>The content id: the swarm is the hub room <c>share/CID</c>.</summary>
    public ContentId ContentId { get; }

    /// <summary>The content key; null for a pin link.</summary>
    public ContentKey? Key { get; }

    /// <summary>True when the link carries no key.</summary>
    public bool IsPinLink => Key is null;

    /// <summary>The same link without its key: what a replica needs.</summary>
    public ShareLink ToPinLink() => new(Hub, ContentId, null, Scheme);

    /// <summary>The key, for when reading is asked for.</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.MissingKey"/>: a pin link.</exception>
    public ContentKey RequireKey() => Key ?? throw new SharingException(SharingErrorCode.MissingKey,
        "This link has no key (#k=...): it can pin the content but not read it.");

    /// <summary>Parses a link (surrounding white space is ignored).</summary>
    /// <exception cref="SharingException"><see cref="SharingErrorCode.BadLink"/>: not this shape.</exception>
    public static ShareLink Parse(string text) => TryParse(text, out var link, out var reason)
        ? link
        : throw new SharingException(SharingErrorCode.BadLink, $"Not a PeerNet link ({reason}). A link looks like https://HUB/#/get/CID#k=KEY.");

    /// <summary>Parses a link; false when it is not this shape.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ShareLink? link) => TryParse(text, out link, out _);

    private static bool TryParse(string? text, [NotNullWhen(true)] out ShareLink? link, out string reason)
    {
        link = null;
        var s = (text ?? "").AsSpan().Trim();
        string scheme;
        if (s.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "https";
            s = s[8..];
        }
        else if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "http";
            s = s[7..];
        }
        else
        {
            reason = "not https://";
            return false;
        }

        var slash = s.IndexOf('/');
        if (slash <= 0 || !IsAuthority(s[..slash]))
        {
            reason = "no hub host";
            return false;
        }

        var hub = s[..slash].ToString();
        s = s[slash..];
        if (!s.StartsWith(GetPrefix, StringComparison.Ordinal))
        {
            reason = "no #/get/";
            return false;
        }

        s = s[GetPrefix.Length..];
        if (s.Length < Base64UrlText.Length32 || !ContentId.TryParse(s[..Base64UrlText.Length32], out var id))
        {
            reason = "the content id is not 43 characters of base64url";
            return false;
        }

        s = s[Base64UrlText.Length32..];
        ContentKey? key = null;
        if (!s.IsEmpty)
        {
            if (!s.StartsWith(KeyPrefix, StringComparison.Ordinal))
            {
                reason = "unexpected text after the content id";
                return false;
            }

            if (!ContentKey.TryParse(s[KeyPrefix.Length..], out key))
            {
                reason = "the key is not 43 characters of base64url";
                return false;
            }
        }

        link = new ShareLink(hub, id, key, scheme);
        reason = "";
        return true;
    }

    /// <summary>The link: <c>https://HUB/#/get/CID#k=KEY</c>, or without the key for a pin link.</summary>
    public override string ToString() => Key is null
        ? $"{Scheme}://{Hub}{GetPrefix}{ContentId}"
        : $"{Scheme}://{Hub}{GetPrefix}{ContentId}{KeyPrefix}{Key.ToBase64Url()}";

    // host[:port] with host a DNS name, an IPv4 address or a bracketed IPv6 address; nothing else
    // (no user info, no percent-escapes), so the link's text is unambiguous.
    private static bool IsAuthority(ReadOnlySpan<char> authority)
    {
        if (authority.IsEmpty || authority.Length > 260)
        {
            return false;
        }

        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port = default;
        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']');
            if (close < 0 || !IPAddress.TryParse(authority[1..close], out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }

            host = authority[..(close + 1)];
            var rest = authority[(close + 1)..];
            if (!rest.IsEmpty)
            {
                if (rest[0] != ':')
                {
                    return false;
                }

                port = rest[1..];
                if (port.IsEmpty)
                {
                    return false;
                }
            }
        }
        else
        {
            var colon = authority.IndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            if (colon >= 0)
            {
                port = authority[(colon + 1)..];
                if (port.IsEmpty)
                {
                    return false;
                }
            }

            foreach (var c in host)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
                {
                    return false;
                }
            }

            if (host.IsEmpty || Uri.CheckHostName(host.ToString()) is UriHostNameType.Unknown or UriHostNameType.Basic)
            {
                return false;
            }
        }

        if (!port.IsEmpty)
        {
            foreach (var c in port)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }
            }

            if (port.Length > 5 || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                return false;
            }
        }

        return true;
    }
}
