using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using PeerNet.Stun;

namespace PeerNet.Turn;

/// <summary>
/// One UDP socket bound to a relayed transport address, served by a <see cref="TurnUdpEventLoop"/>
/// on Linux, else by an asynchronous receive loop of its own.
/// </summary>
internal sealed class TurnRelaySocket : IDisposable
{
    private readonly TurnServerHost _host;
    private int _disposed;
    private TurnUdpRegistration? _registration;

    public TurnRelaySocket(TurnServerHost host, Socket socket, StunAddress address)
    {
        _host = host;
        Socket = socket;
        Handle = socket.SafeHandle;
        Address = address;
    }

    public Socket Socket { get; }

    /// <summary>The socket's handle, for the batched sends of <see cref="TurnDatagramBatch"/>.</summary>
    public SafeSocketHandle Handle { get; }

    /// <summary>The relayed transport address (what XOR-RELAYED-ADDRESS reports).</summary>
    public StunAddress Address { get; }

    public Task? Loop { get; private set; }

    /// <summary>Starts receiving: on <paramref name="loop"/> when given, else with an asynchronous loop of its own.</summary>
    public void Start(TurnUdpEventLoop? loop)
    {
        if (loop is null)
        {
            Loop = Task.Run(ReceiveLoopAsync);
            return;
        }

        // Room in front of the payload for the Data indication or ChannelData header, and one byte
        // more than the largest datagram accepted, so a larger one shows as such.
        _registration = loop.Add(Socket, this, TurnServer.PeerDataOffset, _host.Options.MaxRelayedDatagramSize + 1);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_registration is { } registration)
            {
                registration.Loop.Remove(registration);
            }

            Socket.Dispose();
        }
    }

    public override string ToString() => Address.ToString();

    // Peer datagrams are received straight behind the room the Data indication or ChannelData header
    // needs, so the server frames them in place and the same bytes go to the client.
    private async Task ReceiveLoopAsync()
    {
        var max = _host.Options.MaxRelayedDatagramSize;
        var buffer = GC.AllocateUninitializedArray<byte>(TurnServer.PeerDataOffset + max + 1 + TurnServer.PeerDataTrailer, pinned: true);
        var from = new SocketAddress(Socket.AddressFamily);
        var to = new TurnSocketAddresses();
        while (Volatile.Read(ref _disposed) == 0)
        {
            int received;
            try
            {
                received = await Socket.ReceiveFromAsync(buffer.AsMemory(TurnServer.PeerDataOffset, max + 1), SocketFlags.None, from).ConfigureAwait(false);
            }
            catch (SocketException e) when (TurnServerHost.IsTransient(e))
            {
                continue; // an ICMP error from an earlier send, or an oversized datagram
            }
            catch (Exception) when (Volatile.Read(ref _disposed) != 0 || _host.Stopping)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                _host.LogUnexpected(e, "relay receive");
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            if (received > max || !StunAddress.TryFromSocketAddress(from, out var peer))
            {
                continue;
            }

            try
            {
                TurnOutput output;
                lock (_host.Gate)
                {
                    output = _host.Server.HandlePeerData(Address, peer, buffer, TurnServer.PeerDataOffset, received, _host.Now);
                }

                if (output.Kind == TurnOutputKind.ToClient)
                {
                    await _host.SendToClientAsync(output.Client, buffer.AsMemory(output.Offset, output.Length), to).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                _host.LogUnexpected(e, "relay to client");
            }
        }
    }
}

/// <summary>Reusable destination addresses for sends from one loop (one per family), so sends do not allocate.</summary>
internal sealed class TurnSocketAddresses
{
    private readonly SocketAddress _v4 = new(AddressFamily.InterNetwork);
    private readonly SocketAddress _v6 = new(AddressFamily.InterNetworkV6);

    public SocketAddress? Get(in StunAddress address)
    {
        var target = address.Family == StunAddressFamily.IPv6 ? _v6 : _v4;
        return address.TryWriteTo(target) ? target : null;
    }
}

/// <summary>
/// Binds relay sockets on the configured relay addresses, from a port range (random start, bounded
/// attempts) or from the ephemeral range.
/// </summary>
internal sealed class TurnRelayBinder : ITurnRelayBinder
{
    private const int MaxAttempts = 64;

    private readonly TurnServerHost _host;
    private readonly IPAddress? _ipv4;
    private readonly IPAddress? _ipv6;
    private readonly int _min;
    private readonly int _max;
    private readonly ConcurrentDictionary<TurnRelaySocket, byte> _live = new();

    public TurnRelayBinder(TurnServerHost host, IEnumerable<IPAddress> addresses, int min, int max)
    {
        _host = host;
        foreach (var address in addresses)
        {
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                _ipv4 ??= address;
            }
            else if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _ipv6 ??= address;
            }
        }

        _min = min;
        _max = max;
    }

    public IReadOnlyList<IPAddress> Addresses => new[] { _ipv4, _ipv6 }.OfType<IPAddress>().ToArray();

    public int LiveCount => _live.Count;

    public bool SupportsFamily(StunAddressFamily family) => Address(family) is not null;

    public bool TryBind(StunAddressFamily family, TurnPortParity parity, out TurnRelayBinding relay, out TurnRelayBinding reserved)
    {
        relay = default;
        reserved = default;
        var ip = Address(family);
        if (ip is null)
        {
            return false;
        }

        // With a range: the candidate ports (all, or the even ones) from a random one on, a bounded
        // number of them. Without: ephemeral ports, retried while they come out odd.
        var step = parity == TurnPortParity.Any ? 1 : 2;
        var lowest = parity == TurnPortParity.Any ? _min : (_min + 1) & ~1;
        var candidates = _min == 0 ? MaxAttempts : lowest > _max ? 0 : ((_max - lowest) / step) + 1;
        var offset = _min == 0 ? 0 : Random.Shared.Next(Math.Max(1, candidates));
        for (var attempt = 0; attempt < Math.Min(candidates, MaxAttempts); attempt++)
        {
            var port = _min == 0 ? 0 : lowest + (((offset + attempt) % candidates) * step);
            var first = TryBindSocket(ip, port);
            if (first is null)
            {
                continue;
            }

            var bound = ((IPEndPoint)first.LocalEndPoint!).Port;
            if (parity != TurnPortParity.Any && (bound & 1) != 0)
            {
                first.Dispose(); // an ephemeral port that is odd: try again
                continue;
            }

            Socket? second = null;
            if (parity == TurnPortParity.EvenReserveNext)
            {
                second = bound + 1 <= (_min == 0 ? 65535 : _max) ? TryBindSocket(ip, bound + 1) : null;
                if (second is null)
                {
                    first.Dispose();
                    continue;
                }
            }

            try
            {
                relay = Start(first, ip, bound);
                if (second is not null)
                {
                    reserved = Start(second, ip, bound + 1);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // The UDP loop is closing (the server is stopping) or could not watch the socket.
                Release(relay);
                second?.Dispose();
                relay = default;
                return false;
            }

            return true;
        }

        return false;
    }

    public void Release(in TurnRelayBinding binding)
    {
        if (binding.Handle is TurnRelaySocket socket)
        {
            _live.TryRemove(socket, out _);
            socket.Dispose();
        }
    }

    /// <summary>Closes every relay socket and waits (bounded) for their loops.</summary>
    public async Task CloseAllAsync()
    {
        var sockets = _live.Keys.ToArray();
        foreach (var socket in sockets)
        {
            _live.TryRemove(socket, out _);
            socket.Dispose();
        }

        var loops = sockets.Select(s => s.Loop).OfType<Task>().ToArray();
        await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
    }

    private IPAddress? Address(StunAddressFamily family) => family switch
    {
        StunAddressFamily.IPv4 => _ipv4,
        StunAddressFamily.IPv6 => _ipv6,
        _ => null,
    };

    private TurnRelayBinding Start(Socket socket, IPAddress ip, int port)
    {
        var relay = new TurnRelaySocket(_host, socket, StunAddress.FromIPAddress(ip, (ushort)port));
        _live[relay] = 0;
        try
        {
            relay.Start(_host.NextUdpLoop());
        }
        catch
        {
            _live.TryRemove(relay, out _);
            relay.Dispose();
            throw;
        }

        return new TurnRelayBinding(relay.Address, relay);
    }

    private static Socket? TryBindSocket(IPAddress ip, int port)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(new IPEndPoint(ip, port));
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }
}
