using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace PeerNet.Turn;

/// <summary>
/// Configuration of a STUN/TURN server (<see cref="TurnServer"/>, <see cref="TurnServerHost"/>).
/// The defaults are the secure ones: nothing is relayed without long-term or time-limited
/// credentials, and peers in loopback, private, link-local, multicast and other special ranges are
/// refused unless listed in <see cref="AllowedPeerRanges"/>.
/// </summary>
public sealed class TurnServerOptions
{
    /// <summary>The IANA port for STUN and TURN over UDP and TCP.</summary>
    public const int DefaultPort = 3478;

    /// <summary>The IANA port for STUN and TURN over TLS.</summary>
    public const int DefaultTlsPort = 5349;

    /// <summary>UDP listening endpoints, one socket each (port 0 picks a free port; the host reports it).</summary>
    public IList<IPEndPoint> UdpEndPoints { get; set; } = [];

    /// <summary>TCP listening endpoints (STUN and ChannelData framed on the stream, RFC 8656 §12.5).</summary>
    public IList<IPEndPoint> TcpEndPoints { get; set; } = [];

    /// <summary>TLS listening endpoints; they need <see cref="TlsCertificate"/>.</summary>
    public IList<IPEndPoint> TlsEndPoints { get; set; } = [];

    /// <summary>The server certificate (with its private key) for <see cref="TlsEndPoints"/>.</summary>
    public X509Certificate2? TlsCertificate { get; set; }

    /// <summary>The REALM of the long-term credentials (RFC 8489 §9.2). Keep it short: it is in every 401.</summary>
    public string Realm { get; set; } = "peernet";

    /// <summary>Static users: name → password (the CLI's <c>--user NAME:PASSWORD</c>).</summary>
    public IDictionary<string, string> Users { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The shared secret of the "TURN REST API" time-limited credentials (coturn's
    /// <c>use-auth-secret</c>/<c>static-auth-secret</c>): username <c>expiry:user</c>, password
    /// base64(HMAC-SHA1(secret, username)). See <see cref="TurnRestCredentials"/>.
    /// </summary>
    public string? AuthSecret { get; set; }

    /// <summary>
    /// Offer SHA-256 long-term keys (RFC 8489 §9.2: PASSWORD-ALGORITHMS in the 401 and the
    /// "obMatJos2" nonce cookie). Off by default: no common client uses it and it makes every 401 25
    /// bytes larger. MESSAGE-INTEGRITY-SHA256 over an MD5 key is accepted either way.
    /// </summary>
    public bool OfferSha256PasswordAlgorithm { get; set; }

    /// <summary>
    /// Addresses relay sockets bind to, at most one per family (an IPv6 one enables IPv6 and dual
    /// allocations). Empty: the specific addresses among the listening endpoints (the host picks an
    /// interface address for a wildcard one).
    /// </summary>
    public IList<IPAddress> RelayAddresses { get; set; } = [];

    /// <summary>Lowest relay port; with <see cref="RelayPortMax"/>, a range to take relay ports from. 0: ephemeral ports.</summary>
    public int RelayPortMin { get; set; }

    /// <summary>Highest relay port (inclusive). 0: ephemeral ports.</summary>
    public int RelayPortMax { get; set; }

    /// <summary>Allocation lifetime when the client asks for none or for less (RFC 8656 §7.2: 10 minutes).</summary>
    public TimeSpan DefaultAllocationLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest allocation lifetime granted (RFC 8656 suggests one hour).</summary>
    public TimeSpan MaxAllocationLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Permission lifetime (RFC 8656 §9: 5 minutes, fixed by the RFC).</summary>
    public TimeSpan PermissionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Channel binding lifetime (RFC 8656 §12: 10 minutes, fixed by the RFC).</summary>
    public TimeSpan ChannelLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a NONCE stays valid before requests get 438 Stale Nonce.</summary>
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an EVEN-PORT reservation (RESERVATION-TOKEN) is held (RFC 8656 §7.2: about 30 s).</summary>
    public TimeSpan ReservationLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Allocations one user may hold at once; more get 486 Allocation Quota Reached. 0: no limit.</summary>
    public int MaxAllocationsPerUser { get; set; } = 32;

    /// <summary>Allocations the whole server holds at once; more get 486. 0: no limit.</summary>
    public int MaxAllocations { get; set; } = 10_000;

    /// <summary>Permissions one allocation may hold; more get 508 Insufficient Capacity.</summary>
    public int MaxPermissionsPerAllocation { get; set; } = 256;

    /// <summary>
    /// Accept channel numbers 0x5000–0x7FFF too, as RFC 5766 did (coturn accepts them, and its
    /// <c>turnutils_uclient</c> picks channels at random from 0x4000–0x7FFF). RFC 8656 §12 allows
    /// only 0x4000–0x4FFF so that RFC 7983 demultiplexing keeps working; off by default.
    /// </summary>
    public bool AllowRfc5766ChannelNumbers { get; set; }

    /// <summary>Relayed bytes per second per allocation, both directions together; the excess is dropped. 0: no limit.</summary>
    public long MaxBandwidthPerAllocation { get; set; }

    /// <summary>
    /// Peer ranges allowed despite being special (loopback, private, link-local...): the CLI's
    /// <c>--allow-peer CIDR</c>. Peers outside the special ranges are always allowed.
    /// </summary>
    public IList<IPNetwork> AllowedPeerRanges { get; set; } = [];

    /// <summary>
    /// Extra peer ranges to refuse on top of the special ones (checked before <see cref="AllowedPeerRanges"/>).
    /// </summary>
    public IList<IPNetwork> DeniedPeerRanges { get; set; } = [];

    /// <summary>SOFTWARE in responses (only where it keeps responses to unauthenticated requests no larger than the request). Null: none.</summary>
    public string? Software { get; set; } = "PeerNet";

    /// <summary>
    /// RFC 5780 NAT behaviour discovery: a second IP address of this host. With it, the host also
    /// listens (UDP) on the alternate address and port, Binding responses carry OTHER-ADDRESS and
    /// RESPONSE-ORIGIN, and CHANGE-REQUEST is honoured. Needs a specific (not wildcard) first
    /// <see cref="UdpEndPoints"/> entry of the same family.
    /// </summary>
    public IPAddress? AlternateAddress { get; set; }

    /// <summary>The alternate port for RFC 5780 (0: a free one).</summary>
    public int AlternatePort { get; set; }

    /// <summary>
    /// Over UDP a response to an unauthenticated request never carries optional attributes
    /// (SOFTWARE, FINGERPRINT) beyond the request's size; when even the mandatory ones (a 401's REALM
    /// and NONCE, a Binding's XOR-MAPPED-ADDRESS) make it larger than the request, at most this many
    /// such responses per second go to one source IP address (a spoofed victim), the rest are
    /// dropped. 0: never answer with a larger response (strict, but a 20-byte Binding request then gets
    /// no answer).
    /// </summary>
    public int OversizeResponsesPerSecondPerAddress { get; set; } = 50;

    /// <summary>Largest datagram accepted from a peer on a relay socket (bigger ones are dropped).</summary>
    public int MaxRelayedDatagramSize { get; set; } = 8192;

    /// <summary>
    /// Threads that serve the UDP listeners and relay sockets on Linux (64-bit x86 or ARM): each waits
    /// on epoll and moves datagrams in batches (<c>recvmmsg</c>/<c>sendmmsg</c>), and sockets are
    /// spread over them. 0 uses the portable asynchronous socket loops instead, which is also what
    /// other systems always get. One thread is about what one core can push; the server state
    /// behind them is shared under one lock.
    /// </summary>
    public int UdpIoThreads { get; set; } = 1;

    /// <summary>
    /// With <see cref="UdpIoThreads"/>: send runs of equal-sized datagrams of one flow (one socket,
    /// one destination) as one segmented send (Linux UDP_SEGMENT), which the kernel cuts into the
    /// same datagrams after one trip down the stack. Turned off by itself where the kernel or the
    /// device refuses it; turn it off by hand for a path that mishandles it.
    /// </summary>
    public bool UdpSegmentationOffload { get; set; } = true;

    /// <summary>Most TCP and TLS client connections at once; more are closed on accept.</summary>
    public int MaxStreamConnections { get; set; } = 4096;

    /// <summary>A TCP/TLS connection without an allocation is closed after this long without a message.</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time allowed for a TLS handshake.</summary>
    public TimeSpan TlsHandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Messages queued toward one TCP/TLS client before further relayed data is dropped.</summary>
    public int StreamSendQueueLength { get; set; } = 512;

    /// <summary>Where to log (bad input once per client and kind, allocations, errors). Null: nowhere.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>Checks the values that cannot work; throws <see cref="ArgumentException"/> with the reason.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Realm))
        {
            throw new ArgumentException("A realm is required.", nameof(Realm));
        }

        if (Realm.Length > 127)
        {
            throw new ArgumentException("The realm must be shorter than 128 characters.", nameof(Realm));
        }

        if (DefaultAllocationLifetime <= TimeSpan.Zero || MaxAllocationLifetime < DefaultAllocationLifetime)
        {
            throw new ArgumentException("Allocation lifetimes must be positive and the maximum at least the default.", nameof(MaxAllocationLifetime));
        }

        if (PermissionLifetime <= TimeSpan.Zero || ChannelLifetime <= TimeSpan.Zero || NonceLifetime <= TimeSpan.Zero || ReservationLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("Lifetimes must be positive.");
        }

        if (RelayPortMin != 0 || RelayPortMax != 0)
        {
            if (RelayPortMin is < 1 or > 65535 || RelayPortMax is < 1 or > 65535 || RelayPortMax < RelayPortMin)
            {
                throw new ArgumentException("The relay port range must be within 1-65535, lowest first.", nameof(RelayPortMin));
            }
        }

        if (MaxAllocationsPerUser < 0 || MaxAllocations < 0 || MaxPermissionsPerAllocation < 1 || MaxBandwidthPerAllocation < 0
            || OversizeResponsesPerSecondPerAddress < 0)
        {
            throw new ArgumentException("Quotas must not be negative.");
        }

        if (MaxRelayedDatagramSize is < 576 or > 65535)
        {
            throw new ArgumentException("MaxRelayedDatagramSize must be within 576-65535.", nameof(MaxRelayedDatagramSize));
        }

        if (UdpIoThreads is < 0 or > 64)
        {
            throw new ArgumentException("UdpIoThreads must be within 0-64.", nameof(UdpIoThreads));
        }

        if (TlsEndPoints.Count > 0 && TlsCertificate is null)
        {
            throw new ArgumentException("TLS listening endpoints need a certificate.", nameof(TlsCertificate));
        }

        if (RelayAddresses.GroupBy(a => a.AddressFamily).Any(g => g.Count() > 1))
        {
            throw new ArgumentException("At most one relay address per address family.", nameof(RelayAddresses));
        }

        foreach (var (name, password) in Users)
        {
            if (string.IsNullOrEmpty(name) || password is null)
            {
                throw new ArgumentException("Users need a name and a password.", nameof(Users));
            }
        }

        if (AlternatePort is < 0 or > 65535)
        {
            throw new ArgumentException("The alternate port must be within 0-65535.", nameof(AlternatePort));
        }
    }
}
