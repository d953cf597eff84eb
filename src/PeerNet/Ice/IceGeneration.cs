using System.Text;

namespace PeerNet.Ice;

/// <summary>
/// One set of ICE credentials, local and remote, and the usernames and keys made from them. An ICE
/// restart (RFC 8445 §9) starts a new generation; the previous one lives on for the selected pair
/// (its consent checks and the peer's) until a pair of the new generation is selected.
/// </summary>
internal sealed class IceGeneration
{
    public IceGeneration(string localUfrag, string localPassword)
    {
        LocalUfrag = localUfrag;
        LocalPassword = localPassword;
        LocalKey = Encoding.ASCII.GetBytes(localPassword);
        LocalUfragColon = Encoding.ASCII.GetBytes(localUfrag + ":");
    }

    public string LocalUfrag { get; }

    public string LocalPassword { get; }

    /// <summary>Authenticates what we answer and verifies what we are asked (short-term credential, RFC 8489 §9.1).</summary>
    public byte[] LocalKey { get; }

    /// <summary>"local:", the part of an incoming USERNAME known before the remote ufrag is.</summary>
    public byte[] LocalUfragColon { get; }

    public string? RemoteUfrag { get; private set; }

    public string? RemotePassword { get; private set; }

    /// <summary>Authenticates our requests and verifies their answers; null until the remote credentials are known.</summary>
    public byte[]? RemoteKey { get; private set; }

    /// <summary>"remote:local", the USERNAME of our requests (RFC 8445 §7.2.2).</summary>
    public byte[]? OutgoingUsername { get; private set; }

    /// <summary>"local:remote", the USERNAME of the peer's requests.</summary>
    public byte[]? IncomingUsername { get; private set; }

    public void SetRemote(string ufrag, string password)
    {
        RemoteUfrag = ufrag;
        RemotePassword = password;
        RemoteKey = Encoding.ASCII.GetBytes(password);
        OutgoingUsername = Encoding.ASCII.GetBytes(ufrag + ":" + LocalUfrag);
        IncomingUsername = Encoding.ASCII.GetBytes(LocalUfrag + ":" + ufrag);
    }

    /// <summary>Whether an incoming USERNAME belongs to this generation (before the remote ufrag is known, its first half).</summary>
    public bool MatchesIncoming(ReadOnlySpan<byte> username) => IncomingUsername is { } expected
        ? username.SequenceEqual(expected)
        : username.Length > LocalUfragColon.Length && username.StartsWith(LocalUfragColon);
}
