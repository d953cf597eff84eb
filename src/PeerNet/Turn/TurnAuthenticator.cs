using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>Why a username got no key.</summary>
internal enum TurnKeyFailure : byte
{
    None,
    UnknownUser,
    Expired,
}

/// <summary>
/// Long-term keys for the users the server knows (RFC 8489 §9.2.2): static users, whose keys are
/// computed once, and "TURN REST API" users, whose password is derived from the shared secret on
/// each request. Lookups do not allocate.
/// </summary>
internal sealed class TurnAuthenticator
{
    private readonly Dictionary<string, StaticUser> _users;
    private readonly Dictionary<string, StaticUser>.AlternateLookup<ReadOnlySpan<char>> _usersBySpan;
    private readonly byte[]? _secret;
    private readonly byte[] _realm;

    public TurnAuthenticator(TurnServerOptions options)
    {
        _realm = Encoding.UTF8.GetBytes(SaslPrep.Prepare(options.Realm));
        _users = new Dictionary<string, StaticUser>(StringComparer.Ordinal);
        foreach (var (name, password) in options.Users)
        {
            _users[name] = new StaticUser(
                StunCredentials.ComputeLongTermKey(name, options.Realm, password, StunPasswordAlgorithm.Md5),
                StunCredentials.ComputeLongTermKey(name, options.Realm, password, StunPasswordAlgorithm.Sha256));
        }

        _usersBySpan = _users.GetAlternateLookup<ReadOnlySpan<char>>();
        _secret = string.IsNullOrEmpty(options.AuthSecret) ? null : Encoding.UTF8.GetBytes(options.AuthSecret);
    }

    /// <summary>The prepared realm, UTF-8.</summary>
    public ReadOnlySpan<byte> Realm => _realm;

    /// <summary>Whether any user can authenticate at all.</summary>
    public bool HasUsers => _users.Count > 0 || _secret is not null;

    /// <summary>
    /// Computes the key of <paramref name="username"/> for <paramref name="algorithm"/> into
    /// <paramref name="key"/> (32 bytes); <paramref name="quotaUser"/> is the part that quotas count
    /// (the name after the expiry for REST credentials).
    /// </summary>
    public TurnKeyFailure TryGetKey(ReadOnlySpan<byte> username, StunPasswordAlgorithm algorithm, long nowMs,
        Span<byte> key, out int keyLength, out ReadOnlySpan<byte> quotaUser)
    {
        keyLength = 0;
        quotaUser = username;
        if (username.IsEmpty || username.Length > StunMessageReader.MaxTextLength)
        {
            return TurnKeyFailure.UnknownUser;
        }

        if (_users.Count > 0)
        {
            Span<char> chars = stackalloc char[StunMessageReader.MaxTextLength];
            if (Utf8.ToUtf16(username, chars, out _, out var written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done
                && _usersBySpan.TryGetValue(chars[..written], out var user))
            {
                var stored = algorithm == StunPasswordAlgorithm.Sha256 ? user.Sha256Key : user.Md5Key;
                stored.CopyTo(key);
                keyLength = stored.Length;
                return TurnKeyFailure.None;
            }
        }

        if (_secret is null || !TurnRestCredentials.TryParseUsername(username, out var expiry, out var user2))
        {
            return TurnKeyFailure.UnknownUser;
        }

        if (expiry < nowMs / 1000)
        {
            return TurnKeyFailure.Expired;
        }

        quotaUser = user2.IsEmpty ? username : user2;
        Span<byte> password = stackalloc byte[TurnRestCredentials.PasswordLength];
        TurnRestCredentials.ComputePassword(_secret, username, password);
        keyLength = StunCredentials.ComputeLongTermKey(username, _realm, password, algorithm, key);
        CryptographicOperations.ZeroMemory(password);
        return TurnKeyFailure.None;
    }

    private sealed record StaticUser(byte[] Md5Key, byte[] Sha256Key);
}
