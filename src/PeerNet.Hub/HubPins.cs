using System.Security.Cryptography;
using System.Text;

namespace PeerNet.Hub;

/// <summary>What keeps replicas for a hub (<c>peernet serve --store</c>): pins items by content id.</summary>
public interface IHubPinService
{
    /// <summary>Starts keeping <paramref name="contentId"/> (a no-op if already kept); returns its state.</summary>
    HubPinStatus Pin(PeerNet.Sharing.ContentId contentId);

    /// <summary>Every item kept, with its progress.</summary>
    IReadOnlyList<HubPinStatus> List();
}

/// <summary>One kept item: <c>pinning</c> (fetching from the swarm), <c>complete</c> (serving everything), or <c>failed</c>.</summary>
public sealed record HubPinStatus(string ContentId, string State, int PiecesStored, int PieceCount, bool New = false);

/// <summary>
/// The hub's pinning endpoint (<c>POST /api/pins</c>, <c>GET /api/pins</c>; docs/sharing.md §7):
/// off until a store attaches with a bearer token. Requests carry a content id only — never a
/// link — so a key cannot reach the hub this way.
/// </summary>
public sealed class HubPins
{
    private volatile Attached? _attached;

    /// <summary>Whether a store accepts pins.</summary>
    public bool Enabled => _attached is not null;

    /// <summary>Turns the endpoint on: <paramref name="token"/> authorizes requests (Authorization: Bearer TOKEN).</summary>
    public void Attach(IHubPinService service, string token)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (string.IsNullOrWhiteSpace(token) || token.Length < 16) throw new ArgumentException("the pin token must be at least 16 characters", nameof(token));
        _attached = new Attached(service, Encoding.UTF8.GetBytes(token));
    }

    internal IHubPinService? Authorize(string? authorization)
    {
        var attached = _attached;
        if (attached is null || authorization is null) return null;
        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return null;
        var offered = Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(offered, attached.Token) ? attached.Service : null;
    }

    /// <summary>A fresh random token (32 bytes, base64url).</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record Attached(IHubPinService Service, byte[] Token);
}
