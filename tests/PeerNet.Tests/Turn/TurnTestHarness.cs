using System.Net;
using System.Text;
using PeerNet.Stun;
using PeerNet.Turn;

namespace PeerNet.Tests.Turn;

/// <summary>Adds attributes to a request being built.</summary>
internal delegate void AttributeWriter(ref StunMessageWriter writer);

/// <summary>Relay "sockets" with virtual addresses: ports handed out in order, released ones remembered.</summary>
internal sealed class FakeRelayBinder : ITurnRelayBinder
{
    private int _nextPort = 50000;

    public bool IPv4 { get; set; } = true;

    public bool IPv6 { get; set; }

    public bool Fail { get; set; }

    public List<TurnRelayBinding> Bound { get; } = [];

    public List<TurnRelayBinding> Released { get; } = [];

    public int Live => Bound.Count - Released.Count;

    public static StunAddress RelayIPv4 => StunAddress.FromIPEndPoint(IPEndPoint.Parse("203.0.113.1:0"));

    public static StunAddress RelayIPv6 => StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::1]:0"));

    public bool SupportsFamily(StunAddressFamily family) => family == StunAddressFamily.IPv4 ? IPv4 : family == StunAddressFamily.IPv6 && IPv6;

    public bool TryBind(StunAddressFamily family, TurnPortParity parity, out TurnRelayBinding relay, out TurnRelayBinding reserved)
    {
        relay = default;
        reserved = default;
        if (Fail || !SupportsFamily(family))
        {
            return false;
        }

        if (parity != TurnPortParity.Any && (_nextPort & 1) != 0)
        {
            _nextPort++;
        }

        var ip = family == StunAddressFamily.IPv4 ? RelayIPv4 : RelayIPv6;
        relay = new TurnRelayBinding(ip.WithPort((ushort)_nextPort++), new object());
        Bound.Add(relay);
        if (parity == TurnPortParity.EvenReserveNext)
        {
            reserved = new TurnRelayBinding(ip.WithPort((ushort)_nextPort++), new object());
            Bound.Add(reserved);
        }

        return true;
    }

    public void Release(in TurnRelayBinding binding) => Released.Add(binding);
}

/// <summary>A parsed copy of a message the server sent.</summary>
internal sealed class Reply
{
    public Reply(byte[] bytes, TurnOutput output)
    {
        Bytes = bytes;
        Output = output;
        Assert.True(StunMessageReader.TryParse(bytes, out _, out var error), $"the server sent an invalid message: {error}");
    }

    public byte[] Bytes { get; }

    public TurnOutput Output { get; }

    public StunMessageReader Reader
    {
        get
        {
            StunMessageReader.TryParse(Bytes, out var reader, out _);
            return reader;
        }
    }

    public StunClass Class => Reader.Class;

    public StunMethod Method => Reader.Method;

    public int ErrorCode => Reader.TryGetErrorCode(out var code, out _) ? code : 0;

    public bool Has(StunAttributeType type) => Reader.Contains(type);

    public byte[]? Attribute(StunAttributeType type) => Reader.TryGetAttribute(type, out var value) ? value.ToArray() : null;

    public string? Text(StunAttributeType type) => Attribute(type) is { } value ? Encoding.UTF8.GetString(value) : null;

    public StunAddress XorAddress(StunAttributeType type)
    {
        var reader = Reader;
        Assert.True(reader.TryGetAttribute(type, out var value), $"{type} missing");
        Assert.True(reader.TryDecodeXorAddress(value, out var address));
        return address;
    }

    public List<StunAddress> XorAddresses(StunAttributeType type)
    {
        var list = new List<StunAddress>();
        var reader = Reader;
        foreach (var attribute in reader)
        {
            if (attribute.Type == type && reader.TryDecodeXorAddress(attribute.Value, out var address))
            {
                list.Add(address);
            }
        }

        return list;
    }

    public uint Lifetime => Reader.TryGetLifetime(out var seconds) ? seconds : throw new InvalidOperationException("no LIFETIME");

    public override string ToString() => $"{Method} {Class} {ErrorCode}";
}

/// <summary>A <see cref="TurnServer"/> on a virtual clock with fake relays, and clients to talk to it.</summary>
internal sealed class TurnTestHarness
{
    public const string User = "alice";
    public const string Password = "wonderland";
    public const string Secret = "north-secret";

    private long _connection = 100;

    public TurnTestHarness(Action<TurnServerOptions>? configure = null, FakeRelayBinder? binder = null)
    {
        Options = new TurnServerOptions { Realm = "example.org" };
        Options.Users[User] = Password;
        Options.Users["bob"] = "builder";
        Options.AuthSecret = Secret;
        configure?.Invoke(Options);
        Binder = binder ?? new FakeRelayBinder();
        Server = new TurnServer(Options, Binder);
    }

    /// <summary>The virtual clock, Unix milliseconds (some day in 2023).</summary>
    public long Now { get; set; } = 1_700_000_000_000;

    public TurnServerOptions Options { get; }

    public FakeRelayBinder Binder { get; }

    public TurnServer Server { get; }

    public static StunAddress ServerAddress => StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.10:3478"));

    public static StunAddress Peer(string endPoint) => StunAddress.FromIPEndPoint(IPEndPoint.Parse(endPoint));

    public void Advance(TimeSpan time)
    {
        Now += (long)time.TotalMilliseconds;
        Server.Tick(Now);
    }

    public TurnClientEndpoint Endpoint(string remote = "198.51.100.7:40000", TurnTransport transport = TurnTransport.Udp, long? connection = null) =>
        new(transport, connection ?? (transport == TurnTransport.Udp ? 1 : ++_connection), ServerAddress, Peer(remote), "client-handle");

    public TestClient Client(string remote = "198.51.100.7:40000", TurnTransport transport = TurnTransport.Udp, string user = User, string password = Password) =>
        new(this, Endpoint(remote, transport), user, password);

    /// <summary>Sends bytes as a client; returns the response (or null when there is none).</summary>
    public Reply? Send(in TurnClientEndpoint client, ReadOnlySpan<byte> message) => Send(client, message, out _);

    public Reply? Send(in TurnClientEndpoint client, ReadOnlySpan<byte> message, out TurnOutput output)
    {
        var response = new byte[TurnServer.ResponseBufferLength];
        output = Server.HandleClientMessage(client, message, response, Now);
        return output.Kind == TurnOutputKind.ToClient ? new Reply(response.AsSpan(output.Offset, output.Length).ToArray(), output) : null;
    }

    /// <summary>A peer sends <paramref name="payload"/> to <paramref name="relay"/>; returns what the client gets.</summary>
    public byte[]? FromPeer(StunAddress relay, StunAddress peer, ReadOnlySpan<byte> payload, out TurnOutput output)
    {
        var buffer = new byte[TurnServer.PeerDataOffset + payload.Length + TurnServer.PeerDataTrailer];
        payload.CopyTo(buffer.AsSpan(TurnServer.PeerDataOffset));
        output = Server.HandlePeerData(relay, peer, buffer, TurnServer.PeerDataOffset, payload.Length, Now);
        return output.Kind == TurnOutputKind.ToClient ? buffer.AsSpan(output.Offset, output.Length).ToArray() : null;
    }

    public static byte[] Build(StunMethod method, StunClass messageClass, AttributeWriter? attributes = null, StunTransactionId? id = null)
    {
        var buffer = new byte[4096];
        var w = new StunMessageWriter(buffer, method, messageClass, id ?? StunTransactionId.NewRandom());
        attributes?.Invoke(ref w);
        Assert.True(w.TryGetMessage(out var message));
        return message.ToArray();
    }
}

/// <summary>A TURN client speaking through the harness: keeps the nonce and realm, signs requests.</summary>
internal sealed class TestClient
{
    private readonly TurnTestHarness _harness;

    public TestClient(TurnTestHarness harness, TurnClientEndpoint endpoint, string user, string password)
    {
        _harness = harness;
        Endpoint = endpoint;
        Username = user;
        Password = password;
    }

    public TurnClientEndpoint Endpoint { get; }

    public string Username { get; set; }

    public string Password { get; set; }

    public byte[]? Nonce { get; set; }

    public string Realm { get; set; } = "example.org";

    public StunPasswordAlgorithm Algorithm { get; set; } = StunPasswordAlgorithm.Md5;

    public bool UseSha256Integrity { get; set; }

    public byte[] Key => StunCredentials.ComputeLongTermKey(Username, Realm, Password, Algorithm);

    /// <summary>Sends a signed request, first fetching a nonce when it has none, and retrying once on 438.</summary>
    public Reply Request(StunMethod method, AttributeWriter? attributes = null, StunTransactionId? id = null)
    {
        if (Nonce is null)
        {
            var challenge = Unsigned(method, attributes);
            Assert.NotNull(challenge);
            Assert.Equal(401, challenge.ErrorCode);
            Nonce = challenge.Attribute(StunAttributeType.Nonce);
        }

        var reply = RequestOnce(method, attributes, id);
        if (reply?.ErrorCode == 438)
        {
            Nonce = reply.Attribute(StunAttributeType.Nonce);
            reply = RequestOnce(method, attributes, id);
        }

        Assert.NotNull(reply);
        return reply;
    }

    /// <summary>Sends a signed request once with the current nonce.</summary>
    public Reply? RequestOnce(StunMethod method, AttributeWriter? attributes = null, StunTransactionId? id = null, AttributeWriter? beforeIntegrity = null) =>
        _harness.Send(Endpoint, Signed(method, attributes, id, beforeIntegrity));

    public byte[] Signed(StunMethod method, AttributeWriter? attributes = null, StunTransactionId? id = null, AttributeWriter? beforeIntegrity = null)
    {
        var key = Key;
        var nonce = Nonce ?? "nonce"u8.ToArray();
        return TurnTestHarness.Build(method, StunClass.Request, (ref StunMessageWriter w) =>
        {
            attributes?.Invoke(ref w);
            w.AddUsername(Username);
            w.AddRealm(Realm);
            w.AddNonce(nonce);
            beforeIntegrity?.Invoke(ref w);
            if (UseSha256Integrity)
            {
                w.AddMessageIntegritySha256(key);
            }
            else
            {
                w.AddMessageIntegrity(key);
            }
        }, id);
    }

    public Reply? Unsigned(StunMethod method, AttributeWriter? attributes = null) =>
        _harness.Send(Endpoint, TurnTestHarness.Build(method, StunClass.Request, attributes));

    public Reply Allocate(AttributeWriter? extra = null, StunTransactionId? id = null) =>
        Request(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(StunTransportProtocol.Udp);
            extra?.Invoke(ref w);
        }, id);

    public StunAddress AllocateOk(AttributeWriter? extra = null)
    {
        var reply = Allocate(extra);
        Assert.Equal(StunClass.SuccessResponse, reply.Class);
        return reply.XorAddress(StunAttributeType.XorRelayedAddress);
    }

    public Reply CreatePermission(params StunAddress[] peers) =>
        Request(StunMethod.CreatePermission, (ref StunMessageWriter w) =>
        {
            foreach (var peer in peers)
            {
                w.AddXorPeerAddress(peer);
            }
        });

    public Reply ChannelBind(ushort number, StunAddress peer) =>
        Request(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
        {
            w.AddChannelNumber(number);
            w.AddXorPeerAddress(peer);
        });

    public Reply Refresh(uint? lifetime) =>
        Request(StunMethod.Refresh, (ref StunMessageWriter w) =>
        {
            if (lifetime is { } seconds)
            {
                w.AddLifetime(seconds);
            }
        });

    /// <summary>Sends a Send indication; returns what the server does.</summary>
    public TurnOutput Send(StunAddress peer, byte[] data)
    {
        var message = TurnTestHarness.Build(StunMethod.Send, StunClass.Indication, (ref StunMessageWriter w) =>
        {
            w.AddXorPeerAddress(peer);
            w.AddData(data);
        });
        Assert.Null(_harness.Send(Endpoint, message, out var output));
        if (output.Kind == TurnOutputKind.ToPeer)
        {
            Assert.Equal(data, message.AsSpan(output.Offset, output.Length).ToArray());
        }

        return output;
    }

    /// <summary>Sends ChannelData; returns what the server does.</summary>
    public TurnOutput SendChannel(ushort number, byte[] data)
    {
        var message = new byte[ChannelData.GetMessageLength(data.Length, Endpoint.IsStream)];
        ChannelData.TryWrite(message, number, data, Endpoint.IsStream, out _);
        Assert.Null(_harness.Send(Endpoint, message, out var output));
        if (output.Kind == TurnOutputKind.ToPeer)
        {
            Assert.Equal(data, message.AsSpan(output.Offset, output.Length).ToArray());
        }

        return output;
    }
}
