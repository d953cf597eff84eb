using System.CommandLine;
using PeerNet.Hub;

namespace PeerNet.Cli;

/// <summary>The STUN/TURN flags shared by <c>serve</c> (prefixed) and <c>turn</c>.</summary>
internal sealed class TurnOptions
{
    private Option<int?> _port = null!;
    private Option<int?> _tlsPort = null!;
    private readonly Option<string?> _realm = new("--realm") { Description = "realm of the long-term credentials (default peernet)" };
    private readonly Option<string[]> _users = new("--user") { Description = "a static TURN user, NAME:PASSWORD (repeatable)" };
    private readonly Option<string?> _secret = new("--auth-secret") { Description = "shared secret of time-limited (TURN REST API) credentials; default: generated once in the data directory" };
    private readonly Option<string[]> _allowPeers = new("--allow-peer") { Description = "relay to peers in this CIDR range even if loopback/private/link-local (repeatable)" };
    private readonly Option<string?> _relayAddress = new("--relay-address") { Description = "the address relays bind to and advertise (default: from the listening address)" };
    private readonly Option<string?> _alternateAddress = new("--alternate-address") { Description = "a second local IP for NAT behaviour discovery (RFC 5780; default: off)" };
    private readonly Option<int?> _minPort = new("--min-port") { Description = "lowest relay port (with --max-port; default: ephemeral ports)" };
    private readonly Option<int?> _maxPort = new("--max-port") { Description = "highest relay port" };
    private readonly Option<string?> _publicHost = new("--public-host") { Description = "host name put in the stun:/turn: URLs handed out (default: the host the client used)" };

    public static TurnOptions Create() => new();

    public void AddTo(Command command, string portName, string tlsPortName)
    {
        _port = new Option<int?>(portName) { Description = "STUN/TURN port, UDP and TCP (default 3478)" };
        _tlsPort = new Option<int?>(tlsPortName) { Description = "TURN over TLS port, on the hub's certificate (default: off)" };
        command.Add(_port);
        command.Add(_tlsPort);
        command.Add(_realm);
        command.Add(_users);
        command.Add(_secret);
        command.Add(_allowPeers);
        command.Add(_relayAddress);
        command.Add(_publicHost);
        command.Add(_alternateAddress);
        command.Add(_minPort);
        command.Add(_maxPort);
    }

    public void Apply(ParseResult result, HubTurnOptions turn)
    {
        if (result.GetValue(_port) is { } port) turn.Port = port;
        if (result.GetValue(_tlsPort) is { } tls) turn.TlsPort = tls;
        if (result.GetValue(_realm) is { } realm) turn.Realm = realm;
        turn.Users.AddRange(result.GetValue(_users) ?? []);
        if (result.GetValue(_secret) is { } secret) turn.AuthSecret = secret;
        turn.AllowPeers.AddRange(result.GetValue(_allowPeers) ?? []);
        if (result.GetValue(_relayAddress) is { } relay) turn.RelayAddress = relay;
        if (result.GetValue(_publicHost) is { } host) turn.PublicHost = host;
        if (result.GetValue(_alternateAddress) is { } alternate) turn.AlternateAddress = alternate;
        if (result.GetValue(_minPort) is { } min) turn.RelayPortMin = min;
        if (result.GetValue(_maxPort) is { } max) turn.RelayPortMax = max;
    }
}
